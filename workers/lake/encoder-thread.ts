/**
 * The Parquet encoding thread: parquetjs-lite spends ~35-50 µs of pure
 * JavaScript per row (shredding), which on the main thread would stall the
 * consume loop. Jobs run one at a time, in arrival order.
 */
import { parentPort } from "node:worker_threads";
import { replyOf, runEncodeJob, type EncodeReply, type EncodeRequest } from "./encode-job.ts";

if (!parentPort) throw new Error("encoder-thread.ts runs as a worker thread (see ThreadEncoder)");
const port = parentPort;
let queue: Promise<void> = Promise.resolve();

port.on("message", (request: EncodeRequest) => {
  queue = queue.then(async () => {
    let reply: EncodeReply;
    try {
      reply = { id: request.id, ok: true, ...(await runEncodeJob(request.job)) };
    } catch (error) {
      reply = replyOf(request.id, error);
    }
    port.postMessage(reply);
  });
});

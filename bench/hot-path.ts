/**
 * `npm run bench`: the per-message cost of each pipeline stage, as a ratio to a
 * baseline measured in the same run on the same machine: `JSON.parse` of the
 * same bytes, the least any consumer of these events must do. Absolute rates
 * depend on the machine; the ratios are what to compare between commits.
 *
 * Stages: the event contract (`decodeOrder`), decode + `WindowEngine` (without
 * and with the simulator's dim_customer, i.e. the segment breakdown; ingest,
 * an emit every 1,000 messages, as the worker's emit cycle does) + line
 * protocol for what it releases, and the lake's Parquet encoding (one file of
 * the valid rows, written to a temporary directory).
 *
 * Options: `--messages N` (default 200,000), `--rounds N` (default 5; the
 * median counts). Writes `bench/results/hot-path-<time>.json` too.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { anomalyPoint, toLineProtocol, windowPoints } from "../lib/hot/influx-points.ts";
import { ORDERS_TABLE, toLakeOrderRow, type LakeOrderRow } from "../lib/lake/schema.ts";
import { OrderGenerator } from "../lib/sim/order-generator.ts";
import { decodeOrder } from "../lib/contract/order.ts";
import { WindowEngine } from "../lib/hot/window-engine.ts";
import { CustomerSegments } from "../lib/contract/dims.ts";
import { simCustomerRows } from "../lib/sim/dimensions.ts";
import { writeParquetFile } from "../workers/lake/parquet-file.ts";

const WINDOW = { windowSizeMs: 60_000, watermarkDelayMs: 120_000 };
const MAX_SKEW_MS = 600_000;
const EMIT_EVERY = 1_000;
const customers = new CustomerSegments("bench", simCustomerRows().map((r) => [r[0]!, r[1]!] as const));

interface Stage {
  name: string;
  /** Items one run handles: messages, or rows for the lake. */
  items: number;
  /** Runs the stage over every message; returns something derived from the work so it cannot be optimised away. */
  run: () => Promise<number> | number;
}

interface StageResult {
  name: string;
  medianMs: number;
  /** Items per second. */
  perSecond: number;
  /** Time per item relative to the baseline's time per message. */
  ratio: number;
}

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a positive integer");
  return n;
};

async function main(): Promise<void> {
  const opts = new Command("bench")
    .option("--messages <n>", "messages per round", positiveInt, 200_000)
    .option("--rounds <n>", "rounds per stage (median counts)", positiveInt, 5)
    .parse()
    .opts<{ messages: number; rounds: number }>();

  // One seeded stream with realistic chaos: the same bytes for every stage.
  const generator = new OrderGenerator({
    seed: 1,
    startMs: Date.parse("2026-11-20T12:00:00Z"),
    ratePerSecond: 200,
    chaos: { duplicates: 0.02, late: 0.01, outOfOrder: 0.05, malformed: 0.01, nulls: 0.02, skew: 0.005 },
    ...WINDOW,
    maxEventSkewMs: MAX_SKEW_MS,
  });
  const messages = Array.from({ length: opts.messages }, () => generator.next());
  const decodedRows: LakeOrderRow[] = [];
  messages.forEach((m, offset) => {
    const decoded = decodeOrder(m.value, m.timestamp, MAX_SKEW_MS);
    if (decoded.ok) decodedRows.push(toLakeOrderRow(decoded.order, { partition: 0, offset, ingestedAt: m.timestamp }, m.value));
  });
  const scratch = mkdtempSync(join(tmpdir(), "orderpulse-bench-"));

  const stages: Stage[] = [
    {
      name: "baseline: JSON.parse",
      items: messages.length,
      run: () => {
        let n = 0;
        for (const m of messages) {
          try {
            n += JSON.parse(m.value.toString("utf8")) ? 1 : 0;
          } catch {
            n--;
          }
        }
        return n;
      },
    },
    {
      name: "decodeOrder (event contract)",
      items: messages.length,
      run: () => {
        let n = 0;
        for (const m of messages) n += decodeOrder(m.value, m.timestamp, MAX_SKEW_MS).ok ? 1 : 0;
        return n;
      },
    },
    ...(["without", "with"] as const).map((dims) => ({
      // "with": the simulator's dim_customer loaded, so every window has a real segment breakdown (what a demo runs).
      name: `decode + WindowEngine + line protocol (${dims} dim_customer)`,
      items: messages.length,
      run: () => {
        const engine = new WindowEngine(0, dims === "with" ? { ...WINDOW, segmentsFor: () => customers } : WINDOW);
        let bytes = 0;
        const release = () => {
          const out = engine.emit();
          for (const w of out.windows) for (const p of windowPoints(w)) bytes += toLineProtocol(p).length;
          for (const a of out.anomalies) bytes += toLineProtocol(anomalyPoint(a, WINDOW.windowSizeMs)).length;
        };
        messages.forEach((m, offset) => {
          const decoded = decodeOrder(m.value, m.timestamp, MAX_SKEW_MS);
          if (decoded.ok) engine.ingest({ offset, order: decoded.order });
          if (offset % EMIT_EVERY === EMIT_EVERY - 1) release();
        });
        release();
        return bytes;
      },
    })),
    {
      name: "Parquet encoding (valid rows, one file)",
      items: decodedRows.length,
      run: async () => {
        const path = join(scratch, `part-${Date.now()}.parquet`);
        const { rows } = await writeParquetFile(path, ORDERS_TABLE, decodedRows);
        rmSync(path);
        return rows;
      },
    },
  ];

  const results: StageResult[] = [];
  let baselineMsPerItem = 0;
  try {
    for (const stage of stages) {
      const times: number[] = [];
      await stage.run(); // warm-up: JIT and lazy loading
      for (let round = 0; round < opts.rounds; round++) {
        const started = process.hrtime.bigint();
        await stage.run();
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        process.stderr.write(`bench: ${stage.name}: round ${round + 1}/${opts.rounds} ${times.at(-1)!.toFixed(0)} ms\n`);
      }
      const medianMs = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
      const msPerItem = medianMs / stage.items;
      if (results.length === 0) baselineMsPerItem = msPerItem;
      results.push({ name: stage.name, medianMs, perSecond: Math.round(1000 / msPerItem), ratio: msPerItem / baselineMsPerItem });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const width = Math.max(...results.map((r) => r.name.length));
  console.log(`${"stage".padEnd(width)}  ${"items/s".padStart(10)}  ${"× baseline".padStart(10)}`);
  for (const r of results) console.log(`${r.name.padEnd(width)}  ${String(r.perSecond).padStart(10)}  ${r.ratio.toFixed(2).padStart(10)}`);
  console.log(`${opts.messages} messages (${decodedRows.length} valid) per round, median of ${opts.rounds} rounds, node ${process.version}`);

  const dir = join(import.meta.dirname, "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `hot-path-${new Date().toISOString().replaceAll(":", "-")}.json`);
  writeFileSync(file, JSON.stringify({ messages: opts.messages, rounds: opts.rounds, node: process.version, results }, null, 2));
  console.log(`results: ${file}`);
}

main().catch((error: Error) => {
  console.error(`bench: ${error.message}`);
  process.exit(1);
});

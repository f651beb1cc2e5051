import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that nothing listens on now: `preferred` when it is
 * free, else one the kernel picks (0 always asks the kernel). The port is
 * released before this resolves, so another process may take it first; callers
 * that pick two ports for one service compare them (scripts/kafka/broker.ts).
 * Never rejects.
 */
export function freePort(preferred = 0): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((res) => {
      const server = createServer();
      server.once("error", () => res(undefined));
      server.listen(port, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => res(typeof address === "object" && address ? address.port : undefined));
      });
    });
  return tryPort(preferred).then(async (port) => port ?? (await tryPort(0))!);
}

import { io, type Socket } from "socket.io-client";
import type { WindowTotal } from "../../lib/hot/feed-state.ts";
import type { MinuteTotals } from "./workers.ts";

/** A browser's view of the feed: the snapshot, then the latest total per window as updates arrive. */
export class FeedClient {
  readonly socket: Socket;
  snapshot: WindowTotal[] | undefined;
  readonly latest = new Map<number, WindowTotal>();
  readonly updates: WindowTotal[] = [];

  constructor(port: number) {
    this.socket = io(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnectionDelay: 200 });
    this.socket.on("snapshot", ({ windows }: { windows: WindowTotal[] }) => {
      this.snapshot = windows;
      for (const w of windows) this.latest.set(w.windowStart, w);
    });
    this.socket.on("window", (w: WindowTotal) => {
      this.updates.push(w);
      this.latest.set(w.windowStart, w);
    });
  }

  /** Every window of `totals` is shown final, with exactly those orders and revenue (to the cent). */
  showsFinal(totals: ReadonlyMap<number, MinuteTotals>): boolean {
    for (const [start, t] of totals) {
      const shown = this.latest.get(start);
      if (!shown || !shown.final || Math.round(shown.revenue * 100) !== t.revenueCents || shown.orders !== t.orders) return false;
    }
    return true;
  }

  close(): void {
    this.socket.close();
  }
}

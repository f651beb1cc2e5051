"use client";
/**
 * The browser's one connection to the live feed (workers/feed.ts, socket.io): the latest total
 * per window, the connection status and when data last arrived. Every page shares it.
 */
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { io } from "socket.io-client";
import type { WindowTotal } from "../lib/hot/feed-state.ts";

export type FeedStatus = "connecting" | "live" | "reconnecting" | "offline";

export interface FeedSettings {
  port: number;
  publicUrl: string | null;
  windowSizeMs: number;
}

export interface FeedView {
  status: FeedStatus;
  /** Latest total per window start. A new Map whenever anything changed. */
  windows: ReadonlyMap<number, WindowTotal>;
  /** Window updates received since the page opened (snapshot windows included). */
  updates: number;
  lastUpdateAt: number | null;
  /** Increments on every successful (re)connection: pages refetch what they may have missed. */
  connections: number;
  settings: FeedSettings;
}

const FeedContext = createContext<FeedView | null>(null);

export function useFeed(): FeedView {
  const view = useContext(FeedContext);
  if (!view) throw new Error("useFeed outside <FeedProvider>");
  return view;
}

/** Failed reconnection attempts after which the pill says offline (socket.io keeps trying). */
const OFFLINE_AFTER_ATTEMPTS = 8;

export function FeedProvider({ settings, children }: { settings: FeedSettings; children: ReactNode }) {
  const [status, setStatus] = useState<FeedStatus>("connecting");
  const [windows, setWindows] = useState<ReadonlyMap<number, WindowTotal>>(new Map());
  const [updates, setUpdates] = useState(0);
  const [lastUpdateAt, setLastUpdateAt] = useState<number | null>(null);
  const [connections, setConnections] = useState(0);
  const pending = useRef<WindowTotal[]>([]);

  useEffect(() => {
    const url = settings.publicUrl ?? `${window.location.protocol}//${window.location.hostname}:${settings.port}`;
    const socket = io(url, { transports: ["websocket", "polling"], reconnectionDelay: 500, reconnectionDelayMax: 3_000 });
    const horizon = (newest: number) => newest - 60 * 60_000 - settings.windowSizeMs;
    // Updates arrive up to every EMIT_INTERVAL per partition: apply them at most 4 times a second.
    const flush = setInterval(() => {
      if (pending.current.length === 0) return;
      const batch = pending.current;
      pending.current = [];
      setWindows((before) => {
        const next = new Map(before);
        for (const w of batch) next.set(w.windowStart, w);
        const cutoff = horizon(Math.max(...next.keys()));
        for (const start of next.keys()) if (start < cutoff) next.delete(start);
        return next;
      });
      setUpdates((n) => n + batch.length);
      setLastUpdateAt(Date.now());
    }, 250);
    socket.on("connect", () => {
      setStatus("live");
      setConnections((n) => n + 1);
    });
    socket.on("disconnect", () => setStatus(socket.active ? "reconnecting" : "offline"));
    socket.io.on("reconnect_attempt", (attempt) => setStatus(attempt >= OFFLINE_AFTER_ATTEMPTS || !navigator.onLine ? "offline" : "reconnecting"));
    socket.on("connect_error", () => setStatus((s) => (s === "connecting" ? "reconnecting" : s)));
    socket.on("snapshot", ({ windows: snapshot }: { windows: WindowTotal[] }) => pending.current.push(...snapshot));
    socket.on("window", (w: WindowTotal) => pending.current.push(w));
    return () => {
      clearInterval(flush);
      socket.close();
    };
  }, [settings.port, settings.publicUrl, settings.windowSizeMs]);

  const view = useMemo(() => ({ status, windows, updates, lastUpdateAt, connections, settings }), [status, windows, updates, lastUpdateAt, connections, settings]);
  return <FeedContext.Provider value={view}>{children}</FeedContext.Provider>;
}

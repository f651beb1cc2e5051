"use client";
import { useCallback, useEffect, useRef, useState } from "react";

export interface JsonState<T> {
  /** The last good answer: kept through later errors, so the page shows it under a banner. */
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  refresh: () => void;
}

/**
 * GETs `url` now, every `everyMs` (never with null: while the user works on what the answer shows, say), on
 * `refresh()`, and when the tab becomes visible again.
 */
export function useJson<T>(url: string, everyMs: number | null): JsonState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const current = useRef(url);
  const load = useCallback(async () => {
    const asked = url;
    try {
      const response = await fetch(asked, { cache: "no-store" });
      const body = (await response.json().catch(() => ({}))) as T & { error?: { message?: string } };
      if (current.current !== asked) return;
      if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
      setData(body);
      setError(undefined);
    } catch (e) {
      if (current.current === asked) setError((e as Error).message);
    } finally {
      if (current.current === asked) setLoading(false);
    }
  }, [url]);
  useEffect(() => {
    current.current = url;
    setLoading(true);
    void load();
    const onVisible = () => {
      if (document.visibilityState === "visible") void load();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, [url, load]);
  // Apart from the load above: pausing or resuming the polling fetches nothing by itself.
  useEffect(() => {
    if (everyMs === null) return;
    const timer = setInterval(() => void load(), everyMs);
    return () => clearInterval(timer);
  }, [everyMs, load]);
  return { data, error, loading, refresh: () => void load() };
}

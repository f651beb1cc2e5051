"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useEffect, useState, type ReactNode } from "react";
import { freshness } from "../lib/web/live-series.ts";
import { FeedProvider, useFeed, type FeedSettings } from "./feed-context.tsx";

const PAGES = [
  { href: "/", label: "Live" },
  { href: "/pipeline", label: "Pipeline" },
  { href: "/lake", label: "Lake" },
  { href: "/batch", label: "Batch" },
];

function useNow(everyMs = 1_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

function ConnectionPill() {
  const feed = useFeed();
  const now = useNow();
  // Stale: nothing for three windows (partials arrive every EMIT_INTERVAL while orders flow).
  const { text, stale } = freshness(feed.lastUpdateAt, now, Math.max(3 * feed.settings.windowSizeMs, 30_000));
  return (
    <span className="pill" data-testid="connection" data-status={feed.status} data-stale={String(stale)} title={stale ? "no new data for a while" : undefined}>
      <span className="dot" />
      <span data-testid="connection-status">{feed.status}</span>
      <span className="muted">·</span>
      <span suppressHydrationWarning>{text}</span>
    </span>
  );
}

function ThemeToggle() {
  const [theme, setTheme] = useState<"dark" | "light">("dark");
  useEffect(() => setTheme(document.documentElement.dataset.theme === "light" ? "light" : "dark"), []);
  const toggle = () => {
    const next = theme === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem("orderpulse-theme", next);
    } catch {
      // private mode: the choice lasts for this page only
    }
    setTheme(next);
  };
  return (
    <button type="button" onClick={toggle} aria-label={`switch to ${theme === "dark" ? "light" : "dark"} theme`} data-testid="theme-toggle">
      {theme === "dark" ? "Light" : "Dark"} theme
    </button>
  );
}

/** `accessControl`: a token or password is set (README: Access control), so every page past /login has a session to end. */
export function Shell({ feed, accessControl, children }: { feed: FeedSettings; accessControl: boolean; children: ReactNode }) {
  const path = usePathname();
  if (path === "/login") return <>{children}</>;
  return (
    <FeedProvider settings={feed}>
      <header className="topbar">
        <div className="brand">
          order<span>pulse</span>
        </div>
        <nav className="main" aria-label="main">
          {PAGES.map((p) => (
            <Link key={p.href} href={p.href} aria-current={p.href === path ? "page" : undefined}>
              {p.label}
            </Link>
          ))}
        </nav>
        <div className="spacer" />
        <ConnectionPill />
        <ThemeToggle />
        {accessControl && (
          <form method="post" action="/api/logout" className="sign-out">
            <button type="submit" data-testid="sign-out">
              Sign out
            </button>
          </form>
        )}
      </header>
      {children}
    </FeedProvider>
  );
}

export { useNow };

/** The banner a polling page shows when its last refresh failed; `stale`: older data is still on screen. */
export function RefreshError({ error, source, stale }: { error: string | undefined; source?: string; stale: boolean }) {
  if (!error) return null;
  return (
    <div className="banner" role="alert" data-testid="error-banner">
      Could not refresh{source ? ` from ${source}` : ""}: {error}.{stale ? " Showing the last data received." : ""}
    </div>
  );
}

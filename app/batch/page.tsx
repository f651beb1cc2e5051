import { BatchView } from "./batch-view.tsx";
import { ReconcileView } from "./reconcile-view.tsx";
import { AuditCard } from "./audit-card.tsx";
import { runNowDefault } from "../../workers/shared/batch-service.ts";

export const metadata = { title: "Batch · orderpulse" };
// Run now's first day is read from the lake at each request, never at build time.
export const dynamic = "force-dynamic";

/** Daily KPIs and reconcile runs (history, run now, backfill), the gold table of a day, the hot/cold reconciliation, and the audit log. */
export default async function BatchPage() {
  const firstRunDay = await runNowDefault(Date.now());
  return (
    <main className="page">
      <BatchView firstRunDay={firstRunDay} />
      <ReconcileView />
      <AuditCard />
    </main>
  );
}

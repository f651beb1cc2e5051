import { BatchView } from "./batch-view.tsx";
import { ReconcileView } from "./reconcile-view.tsx";
import { AuditCard } from "./audit-card.tsx";

export const metadata = { title: "Batch · orderpulse" };

/** Daily KPIs and reconcile runs (history, run now, backfill), the gold table of a day, the hot/cold reconciliation, and the audit log. */
export default function BatchPage() {
  return (
    <main className="page">
      <BatchView />
      <ReconcileView />
      <AuditCard />
    </main>
  );
}

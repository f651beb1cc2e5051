export default function BatchPage() {
  return (
    <main className="page">
      <div className="page-head">
        <h1>Batch</h1>
      </div>
      <div className="card">Daily KPIs, reconcile runs and their history arrive with their own issue. Until then: <code>npm run batch:daily</code> and <code>npm run reconcile</code>.</div>
    </main>
  );
}

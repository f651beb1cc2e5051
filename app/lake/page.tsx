export default function LakePage() {
  return (
    <main className="page">
      <div className="page-head">
        <h1>Lake</h1>
      </div>
      <div className="card">The SQL explorer over the Parquet lake arrives with its own issue. Until then: <code>npm run query -- &quot;SELECT …&quot;</code>.</div>
    </main>
  );
}

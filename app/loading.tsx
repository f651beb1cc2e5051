export default function Loading() {
  return (
    <main className="page">
      <div className="muted">loading…</div>
    </main>
  );
}

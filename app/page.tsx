export default function Home() {
  return (
    <main style={{ padding: "2rem" }}>
      <h1>orderpulse</h1>
      <p>Live revenue, pipeline health and the lake SQL explorer arrive with the hot- and cold-path work.</p>
    </main>
  );
}

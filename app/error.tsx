"use client";

export default function PageError({ error, reset }: { error: Error; reset: () => void }) {
  return (
    <main className="page">
      <div className="banner" role="alert">
        This page failed: {error.message}
      </div>
      <button type="button" onClick={reset}>
        Try again
      </button>
    </main>
  );
}

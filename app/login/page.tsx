import { safeReturnPath } from "../../lib/web/access.ts";

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = safeReturnPath(typeof params.next === "string" ? params.next : undefined);
  return (
    <main className="page">
      <div className="card login">
        <h2>Sign in to orderpulse</h2>
        {params.error && (
          <div className="banner" role="alert">
            That token or password is not right.
          </div>
        )}
        <form method="post" action="/api/login">
          <label htmlFor="secret">Dashboard token or password</label>
          <input id="secret" name="secret" type="password" autoComplete="current-password" required autoFocus />
          <input type="hidden" name="next" value={next} />
          <button type="submit">Sign in</button>
        </form>
      </div>
    </main>
  );
}

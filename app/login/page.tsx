import Link from "next/link";
import { safeReturnPath } from "../../lib/web/access.ts";
import { accessSecrets } from "../../workers/shared/session.ts";

export const dynamic = "force-dynamic";

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = safeReturnPath(typeof params.next === "string" ? params.next : undefined);
  if ((await accessSecrets()).secrets.length === 0)
    // Nothing to sign in to: a form here would refuse every secret.
    return (
      <main className="page">
        <div className="card login" data-testid="open-dashboard">
          <h2>orderpulse is open</h2>
          <p className="muted">
            No <code>DASHBOARD_TOKEN</code> or <code>DASHBOARD_PASSWORD</code> is set, so every page opens without signing in (the SQL API, actions and audit log answer loopback only). Set
            one and restart the web app to require it.
          </p>
          <Link href={next}>Continue to the dashboard</Link>
        </div>
      </main>
    );
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

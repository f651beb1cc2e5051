/**
 * Session cookie values and the access secrets as the proxy and the login route need them.
 * A cookie value is SHA-256(SESSION_LABEL + secret) in hex: it opens the dashboard like the
 * secret does, but never reveals it.
 */
import { SESSION_LABEL, type AccessSecrets } from "../../lib/web/access.ts";
import { dashboardEnvSchema, readConfig } from "../../lib/contract/config.ts";
import { loadEnv } from "./env.ts";

export async function sessionValue(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(SESSION_LABEL + secret));
  return Buffer.from(digest).toString("hex");
}

let cached: Promise<AccessSecrets> | undefined;

/** DASHBOARD_TOKEN / DASHBOARD_PASSWORD and their session values, read once per process. */
export function accessSecrets(): Promise<AccessSecrets> {
  cached ??= (async () => {
    const { secrets } = readConfig(dashboardEnvSchema, loadEnv());
    return { secrets, sessionValues: await Promise.all(secrets.map(sessionValue)) };
  })();
  return cached;
}

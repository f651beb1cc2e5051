import { SESSION_COOKIE } from "../../../lib/web/access.ts";
import { seeOther } from "../login/route.ts";

export const dynamic = "force-dynamic";

/** POST /api/logout → 303 to /login, the session cookie cleared. */
export function POST() {
  const response = seeOther("/login");
  response.cookies.delete(SESSION_COOKIE);
  return response;
}

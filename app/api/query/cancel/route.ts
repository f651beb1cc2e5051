/** POST /api/query/cancel `{ id }`: kills the process of the query started with that id → `{ cancelled: boolean }`. */
import { z } from "zod";
import { cancelQuery, errorResponse } from "../../../../workers/shared/query-service.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function POST(request: Request): Promise<Response> {
  try {
    const { id } = z.object({ id: z.string().min(1).max(64) }).parse(await request.json().catch(() => ({})));
    return Response.json({ cancelled: cancelQuery(id) });
  } catch (error) {
    const { status, body } = errorResponse(error);
    return Response.json(body, { status });
  }
}

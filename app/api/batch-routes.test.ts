/**
 * The Batch page's route handlers over a real run history (SQLite in a temporary LAKE_DIR) and a
 * real audit log: parsing, what they queue, what they answer, and what they audit. The scheduler
 * is not running here: the handlers only queue, which is the contract (workers/shared/batch-service.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "orderpulse-batch-routes-"));
const lakeDir = join(dir, "lake");
process.env.ORDERPULSE_STATE_DIR = join(dir, "state");
process.env.LAKE_DIR = lakeDir;
process.env.WINDOW_SIZE = "1m";
process.env.BUSINESS_TZ = "UTC";

// Imported after the environment is set: the audit log's path and the run history's come from it.
const { POST: runNow } = await import("./actions/batch/run/route.ts");
const { POST: backfill } = await import("./actions/batch/backfill/route.ts");
const { POST: cancel } = await import("./actions/batch/cancel/route.ts");
const { POST: repair } = await import("./actions/reconcile/repair/route.ts");
const { GET: overview } = await import("./batch/route.ts");
const { GET: preview } = await import("./batch/backfill/route.ts");
const { GET: runDetails } = await import("./batch/runs/[id]/route.ts");
const { GET: kpis } = await import("./batch/kpis/route.ts");
const { GET: reconcile } = await import("./reconcile/route.ts");
const { GET: audit } = await import("./audit/route.ts");
const { runStore } = await import("../../workers/shared/batch-service.ts");
const { appendAudit, readAudit } = await import("../../workers/shared/audit-log.ts");
const { WHO_HEADER } = await import("../../lib/web/access.ts");
const { goldDayFiles } = await import("../../lib/batch/daily-kpis.ts");

const post = (body: unknown) => new Request("http://x/api/actions", { method: "POST", headers: { "content-type": "application/json", [WHO_HEADER]: "127.0.0.1" }, body: JSON.stringify(body) });
const get = (path: string) => new Request(`http://x${path}`);
const json = async (response: Response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: { code: string; message: string } } });

beforeAll(() => mkdirSync(lakeDir, { recursive: true }));
afterAll(() => {
  runStore().close();
  rmSync(dir, { recursive: true, force: true });
});

describe("run now", () => {
  it("refuses a date that is not a calendar day (400), and audits the refusal", async () => {
    for (const date of ["2026-02-30", "yesterday", ""]) {
      const answer = await json(await runNow(post({ date })));
      expect(answer.status, date).toBe(400);
      expect(answer.body.error!.message).toMatch(/^date: /);
    }
    expect(await json(await runNow(post({ date: "2026-11-20", job: "export" })))).toMatchObject({ status: 400 });
    const [latest] = await readAudit(1);
    expect(latest).toMatchObject({ who: "127.0.0.1", what: "batch run-now", outcome: "failed" });
  });

  it("queues both jobs of the day, KPIs first, and audits who queued what", async () => {
    const answer = await json(await runNow(post({ date: "2026-11-20" })));
    expect(answer.status).toBe(200);
    const queued = answer.body.queued as { id: number; job: string; date: string; status: string; trigger: string }[];
    expect(queued.map((r) => [r.job, r.date, r.status, r.trigger])).toEqual([
      ["batch_daily", "2026-11-20", "queued", "manual"],
      ["reconcile", "2026-11-20", "queued", "manual"],
    ]);
    expect(runStore().all().map((r) => r.id)).toEqual(queued.map((r) => r.id));
    const [latest] = await readAudit(1);
    expect(latest).toMatchObject({ who: "127.0.0.1", what: "batch run-now", outcome: "ok" });
    expect(latest!.detail).toBe(`queued batch_daily 2026-11-20 (run ${queued[0]!.id}), reconcile 2026-11-20 (run ${queued[1]!.id})`);
  });
});

describe("overview and run details", () => {
  it("has a grid row per day back from today plus the days with runs, each cell the day's newest run; no scheduler holds the lease", async () => {
    const { status, body } = await json(await overview(get("/api/batch?days=3")));
    expect(status).toBe(200);
    const grid = body.grid as { date: string; jobs: Record<string, { status: string } | null> }[];
    expect(grid).toHaveLength(4);
    expect(grid.at(-1)).toMatchObject({ date: "2026-11-20", jobs: { batch_daily: { status: "queued" }, reconcile: { status: "queued" } } });
    expect(grid[0]!.date).toBe(new Date().toISOString().slice(0, 10));
    expect(body).toMatchObject({ businessTz: "UTC", queued: 2, current: null, scheduler: { running: false, owner: null } });
    expect(JSON.stringify(body)).not.toContain('"log"');
    expect((await overview(get("/api/batch?days=400"))).status).toBe(400);
  });

  it("answers one run with its log, 400 for a bad id and 404 for an unknown one", async () => {
    const [first] = runStore().all();
    const ok = await json(await runDetails(get(`/api/batch/runs/${first!.id}`), { params: Promise.resolve({ id: String(first!.id) }) }));
    expect(ok).toMatchObject({ status: 200, body: { run: { id: first!.id, job: "batch_daily", log: "" } } });
    expect((await runDetails(get("/api/batch/runs/x"), { params: Promise.resolve({ id: "x" }) })).status).toBe(400);
    expect(await json(await runDetails(get("/api/batch/runs/999"), { params: Promise.resolve({ id: "999" }) }))).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
  });

  it("shows the lake's server path in a run's log and error as $LAKE_DIR", async () => {
    const store = runStore();
    const run = store.enqueue("batch_daily", "2026-10-01", "manual", 0);
    store.start(run.id, 1);
    store.finish(run.id, 2, { status: "failed", exitCode: 1, rows: null, quality: null, error: `exit 1: cannot read ${lakeDir}/orders`, log: `wrote ${lakeDir}/gold/daily_kpis/date=2026-10-01/daily_kpis.csv` });
    const { body } = await json(await runDetails(get(`/api/batch/runs/${run.id}`), { params: Promise.resolve({ id: String(run.id) }) }));
    expect(body.run).toMatchObject({ log: "wrote $LAKE_DIR/gold/daily_kpis/date=2026-10-01/daily_kpis.csv", error: "exit 1: cannot read $LAKE_DIR/orders" });
    const overviewText = JSON.stringify((await json(await overview(get("/api/batch")))).body);
    expect(overviewText).toContain("cannot read $LAKE_DIR/orders");
    expect(overviewText).not.toContain(lakeDir);
    // Not queued: the backfill below does not count it.
    expect(store.get(run.id)!.status).toBe("failed");
  });
});

describe("backfill", () => {
  it("previews which days are missing or failed and will run, skipping days done or queued", async () => {
    const store = runStore();
    const done = store.enqueue("batch_daily", "2026-11-18", "schedule", 0);
    store.start(done.id, 1);
    store.finish(done.id, 2, { status: "success", exitCode: 0, rows: 10, quality: "passed", error: null, log: "" });
    const failed = store.enqueue("reconcile", "2026-11-18", "schedule", 0);
    store.start(failed.id, 3);
    store.finish(failed.id, 4, { status: "failed", exitCode: 1, rows: 10, quality: "mismatched", error: "exit 1", log: "" });
    const { status, body } = await json(await preview(get("/api/batch/backfill?from=2026-11-17&to=2026-11-20")));
    expect(status).toBe(200);
    expect((body.plan as { date: string; action: string; jobs: string[] }[]).map((d) => [d.date, d.action, d.jobs.join(",")])).toEqual([
      ["2026-11-17", "run", "batch_daily,reconcile"],
      ["2026-11-18", "run", "reconcile"],
      ["2026-11-19", "run", "batch_daily,reconcile"],
      ["2026-11-20", "skip", ""],
    ]);
    // Queuing nothing: a preview changes nothing.
    expect(store.all().filter((r) => r.status === "queued")).toHaveLength(2);
  });

  it("refuses a reversed range and a bad date with 400", async () => {
    expect(await json(await preview(get("/api/batch/backfill?from=2026-11-20&to=2026-11-01")))).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/before it starts/) } } });
    expect((await preview(get("/api/batch/backfill?from=2026-11-20"))).status).toBe(400);
    expect((await backfill(post({ from: "2026-13-01", to: "2026-11-20" }))).status).toBe(400);
  });

  it("queues the plan, oldest day first, and audits the range and counts", async () => {
    const { status, body } = await json(await backfill(post({ from: "2026-11-17", to: "2026-11-20" })));
    expect(status).toBe(200);
    expect((body.queued as { job: string; date: string; trigger: string }[]).map((r) => `${r.date} ${r.job} ${r.trigger}`)).toEqual([
      "2026-11-17 batch_daily backfill",
      "2026-11-17 reconcile backfill",
      "2026-11-18 reconcile backfill",
      "2026-11-19 batch_daily backfill",
      "2026-11-19 reconcile backfill",
    ]);
    const [latest] = await readAudit(1);
    expect(latest).toMatchObject({ what: "batch backfill", outcome: "ok", detail: "2026-11-17..2026-11-20: queued 5 run(s) over 3 day(s), skipped 1 day(s) done" });
  });
});

describe("cancel after the current day", () => {
  it("skips every queued run but the rest of the day running now, and audits it", async () => {
    const store = runStore();
    const running = store.all().find((r) => r.status === "queued" && r.date === "2026-11-20" && r.job === "batch_daily")!;
    expect(store.start(running.id, 10)).toBe(true);
    const { status, body } = await json(await cancel(post({})));
    expect(status).toBe(200);
    expect(body).toEqual({ skipped: 5, finishing: "2026-11-20" });
    expect(store.all().filter((r) => r.status === "queued").map((r) => `${r.date} ${r.job}`)).toEqual(["2026-11-20 reconcile"]);
    expect((await readAudit(1))[0]).toMatchObject({ what: "batch cancel", outcome: "ok", detail: "skipped 5 queued run(s); 2026-11-20 finishes" });
  });
});

describe("repair", () => {
  it("queues reconcile --repair over the range widened to whole windows, and audits it", async () => {
    const { status, body } = await json(await repair(post({ from: "2026-11-20T10:00:30Z", to: "2026-11-20T10:59:10Z" })));
    expect(status).toBe(200);
    const run = body.run as { job: string; date: string; status: string; range: { fromMs: number; toMs: number } };
    expect(run).toMatchObject({ job: "reconcile_repair", date: "2026-11-20", status: "queued", range: { fromMs: Date.parse("2026-11-20T10:00:00Z"), toMs: Date.parse("2026-11-20T11:00:00Z") } });
    expect((await readAudit(1))[0]).toMatchObject({ what: "reconcile repair", outcome: "ok", detail: expect.stringContaining("[2026-11-20T10:00:00.000Z, 2026-11-20T11:00:00.000Z)") });
  });

  it("refuses a reversed, over-long or unparsable range (400) and queues nothing", async () => {
    const before = runStore().all().length;
    for (const body of [{ from: "2026-11-20T11:00:00Z", to: "2026-11-20T10:00:00Z" }, { from: "2026-11-01T00:00:00Z", to: "2026-11-20T00:00:00Z" }, { from: "10:00", to: "11:00" }]) {
      expect((await repair(post(body))).status, JSON.stringify(body)).toBe(400);
    }
    expect((await reconcile(get("/api/reconcile?from=2026-11-20T11:00:00Z&to=2026-11-20T10:00:00Z"))).status).toBe(400);
    expect(runStore().all().length).toBe(before);
    const audited = await readAudit(3);
    expect(audited.map((e) => [e.what, e.outcome])).toEqual([["reconcile repair", "failed"], ["reconcile repair", "failed"], ["reconcile repair", "failed"]]);
  });
});

describe("gold daily_kpis of a day", () => {
  it("says a day not computed yet, and reads a computed day's row with when its file was written", async () => {
    expect((await kpis(get("/api/batch/kpis?date=2026-02-30"))).status).toBe(400);
    expect(await json(await kpis(get("/api/batch/kpis?date=2026-11-21")))).toMatchObject({ status: 200, body: { table: "daily_kpis", date: "2026-11-21", computedAt: null, rows: [] } });

    // A gold file as batch:daily writes it (DuckDB COPY of the table's columns).
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const file = join(lakeDir, goldDayFiles("daily_kpis", "2026-11-20").parquet);
    mkdirSync(join(file, ".."), { recursive: true });
    const db = await DuckDBInstance.create(":memory:");
    const connection = await db.connect();
    await connection.run(
      `COPY (SELECT DATE '2026-11-20' AS date, 'UTC' AS business_tz, CAST(400 AS BIGINT) AS orders, CAST(1234.5 AS DECIMAL(18,2)) AS revenue, CAST(3.09 AS DECIMAL(18,2)) AS aov,
        CAST(90 AS BIGINT) AS customers, CAST(800 AS BIGINT) AS items, CAST(3 AS BIGINT) AS late, CAST(2 AS BIGINT) AS duplicates, CAST(1 AS BIGINT) AS invalid) TO '${file}' (FORMAT parquet)`,
    );
    connection.closeSync();
    db.closeSync();
    const { status, body } = await json(await kpis(get("/api/batch/kpis?date=2026-11-20")));
    expect(status).toBe(200);
    expect(body.rows).toEqual([["2026-11-20", "UTC", 400, "1234.50", "3.09", 90, 800, 3, 2, 1]]);
    expect((body.columns as { name: string }[]).map((c) => c.name)).toEqual(["date", "business_tz", "orders", "revenue", "aov", "customers", "items", "late", "duplicates", "invalid"]);
    expect(Math.abs((body.computedAt as number) - Date.now())).toBeLessThan(60_000);
    expect(readFileSync(file).length).toBeGreaterThan(0);
  });
});

describe("audit log on the Batch page", () => {
  it("leaves out reads of the audit log itself with reads=false, keeping the limit for the rest", async () => {
    await appendAudit({ who: "127.0.0.1", what: "GET /api/audit", outcome: "allowed" });
    const all = await json(await audit(get("/api/audit?limit=1")));
    expect((all.body.entries as { what: string }[]).map((e) => e.what)).toEqual(["GET /api/audit"]);
    const actions = await json(await audit(get("/api/audit?limit=2&reads=false")));
    expect((actions.body.entries as { what: string }[]).map((e) => e.what)).toEqual(["reconcile repair", "reconcile repair"]);
    expect((await audit(get("/api/audit?reads=maybe"))).status).toBe(400);
  });
});

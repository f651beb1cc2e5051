"use client";
/**
 * A chart of the result, chosen by its shape: one value → a big number; a
 * time (DATE/TIMESTAMP) first column with numeric columns → lines (time, text,
 * number → one line per text value, e.g. revenue by country and hour); a text
 * first column with numeric columns → bars; anything else → no chart.
 * Columns of very different magnitude (orders and revenue) get two Y axes: a
 * column more than 10× larger or smaller than the first one goes on the right
 * (lib/web/chart-axes.ts), named so in the legend. One line per text value
 * keeps one axis: those are the same quantity.
 * Animation is off: results change as a whole.
 */
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { compactTick, yAxisSides, type YAxisSide } from "../../lib/web/chart-axes.ts";
import { isNumericType, type ResultColumn } from "./result-table.tsx";

const COLORS = ["#38bdf8", "#f472b6", "#a3e635", "#fbbf24", "#c084fc", "#fb7185"];
const MAX_POINTS = 2_000;

export type ChartKind = "number" | "line" | "bar" | "none";

/** Which chart fits a result with these columns and this many rows. */
export function chartKind(columns: ResultColumn[], rowCount: number): ChartKind {
  if (rowCount === 1 && columns.length === 1 && isNumericType(columns[0]!.type)) return "number";
  if (columns.length < 2 || rowCount === 0 || !columns.slice(1).some((c) => isNumericType(c.type))) return "none";
  if (/^(DATE|TIMESTAMP|TIME)/.test(columns[0]!.type)) return "line";
  if (/^VARCHAR|^ENUM|^BOOLEAN/.test(columns[0]!.type) || isNumericType(columns[0]!.type)) return "bar";
  return "none";
}

export function ResultChart({ columns, rows }: { columns: ResultColumn[]; rows: unknown[][] }) {
  const kind = chartKind(columns, rows.length);
  if (kind === "none") return <p className="muted">No chart for this shape (a time or text column first, then numbers).</p>;
  if (kind === "number") {
    const value = Number(rows[0]![0]);
    return (
      <div data-testid="big-number" className="big-number">
        {Number.isFinite(value) ? value.toLocaleString("en-US") : String(rows[0]![0])}
        <div className="muted">{columns[0]!.name}</div>
      </div>
    );
  }
  const perCategory = kind === "line" && columns.length === 3 && !isNumericType(columns[1]!.type) && isNumericType(columns[2]!.type);
  const { series, data } = perCategory ? byCategory(rows) : byColumn(columns, rows);
  const sides: YAxisSide[] = perCategory ? series.map(() => "left") : yAxisSides(data, series.map((s) => s.name));
  const twoAxes = sides.includes("right");
  const Chart = kind === "line" ? LineChart : BarChart;
  const axis = { stroke: "var(--muted)", fontSize: "0.75rem" };
  return (
    <div data-testid={`chart-${kind}`} className="result-chart" data-axes={twoAxes ? "two" : "one"}>
      <ResponsiveContainer>
        <Chart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid stroke="var(--grid)" />
          {/* recharts caches each label's measured width by text and style: after the window crosses the 2000 px breakpoint
              (root font 15 → 20 px) the cached widths are a quarter short and long timestamps overlapped. The gap covers that. */}
          <XAxis dataKey="x" minTickGap={48} {...axis} />
          <YAxis yAxisId="left" tickFormatter={compactTick} {...axis} />
          {twoAxes && <YAxis yAxisId="right" orientation="right" tickFormatter={compactTick} {...axis} />}
          <Tooltip contentStyle={{ background: "var(--panel)", border: "1px solid var(--border)", color: "var(--text)" }} />
          <Legend />
          {series.map((s, i) => {
            const side = sides[i] ?? "left";
            const name = twoAxes ? `${s.name} (${side} axis)` : s.name;
            return kind === "line" ? (
              <Line key={s.name} yAxisId={side} dataKey={s.name} name={name} stroke={COLORS[i]} dot={false} isAnimationActive={false} />
            ) : (
              <Bar key={s.name} yAxisId={side} dataKey={s.name} name={name} fill={COLORS[i]} isAnimationActive={false} />
            );
          })}
        </Chart>
      </ResponsiveContainer>
      {rows.length > MAX_POINTS && <p className="muted">Chart shows the first {MAX_POINTS.toLocaleString("en-US")} rows.</p>}
    </div>
  );
}

interface ChartData {
  series: { name: string }[];
  data: Record<string, string | number | null>[];
}

/** One series per numeric column after the first. */
function byColumn(columns: ResultColumn[], rows: unknown[][]): ChartData {
  const series = columns.map((c, i) => ({ ...c, index: i })).slice(1).filter((c) => isNumericType(c.type)).slice(0, COLORS.length);
  const data = rows.slice(0, MAX_POINTS).map((row) => Object.fromEntries([["x", String(row[0])], ...series.map((s) => [s.name, row[s.index] === null ? null : Number(row[s.index])])]));
  return { series, data };
}

/** Rows of (x, category, value): one series per category (the largest ones), one point per x. */
function byCategory(rows: unknown[][]): ChartData {
  const totals = new Map<string, number>();
  for (const [, category, value] of rows) totals.set(String(category), (totals.get(String(category)) ?? 0) + Number(value ?? 0));
  const series = [...totals].sort((a, b) => b[1] - a[1]).slice(0, COLORS.length).map(([name]) => ({ name }));
  const points = new Map<string, Record<string, string | number | null>>();
  for (const [x, category, value] of rows) {
    const key = String(x);
    if (!points.has(key) && points.size >= MAX_POINTS) continue;
    const point = points.get(key) ?? { x: key };
    point[String(category)] = value === null ? null : Number(value);
    points.set(key, point);
  }
  return { series, data: [...points.values()] };
}

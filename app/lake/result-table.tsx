"use client";
/**
 * The result as a virtualised table (TanStack Table for sorting, TanStack
 * Virtual for rows): only the rows on screen are in the DOM, so 100 000 rows
 * scroll smoothly. Click a header to sort; numbers sort as numbers (BIGINT and
 * DECIMAL arrive as text to stay exact). "Copy" puts the rows, as sorted, on the
 * clipboard as tab-separated text.
 */
import { flexRender, getCoreRowModel, getSortedRowModel, useReactTable, type ColumnDef, type SortingState } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState } from "react";

export interface ResultColumn {
  name: string;
  type: string;
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)/;
export const isNumericType = (type: string) => NUMERIC.test(type);

export const cellText = (value: unknown): string =>
  value === null || value === undefined ? "NULL" : typeof value === "object" ? JSON.stringify(value) : String(value);

/** Row height in rem: the virtualiser needs pixels, so it follows the root font size (larger on a wall screen). */
const ROW_HEIGHT_REM = 1.9;

function useRemPixels(): number {
  const [rem, setRem] = useState(15);
  useEffect(() => {
    const read = () => setRem(parseFloat(getComputedStyle(document.documentElement).fontSize) || 15);
    read();
    window.addEventListener("resize", read);
    return () => window.removeEventListener("resize", read);
  }, []);
  return rem;
}

export function ResultTable({ columns, rows }: { columns: ResultColumn[]; rows: unknown[][] }) {
  const [sorting, setSorting] = useState<SortingState>([]);
  const [copied, setCopied] = useState(false);
  const definitions = useMemo<ColumnDef<unknown[]>[]>(
    () =>
      columns.map((column, index) => ({
        id: String(index),
        header: column.name,
        accessorFn: (row) => row[index],
        cell: (info) => cellText(info.getValue()),
        sortingFn: (a, b) => {
          const x = a.original[index];
          const y = b.original[index];
          if (x === null || x === undefined) return y === null || y === undefined ? 0 : -1;
          if (y === null || y === undefined) return 1;
          if (isNumericType(column.type)) return Number(x) - Number(y);
          return cellText(x) < cellText(y) ? -1 : cellText(x) > cellText(y) ? 1 : 0;
        },
      })),
    [columns],
  );
  const table = useReactTable({
    data: rows,
    columns: definitions,
    state: { sorting },
    onSortingChange: setSorting,
    sortDescFirst: false, // first click ascending, whatever the column holds
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });
  const sorted = table.getRowModel().rows;
  const scroller = useRef<HTMLDivElement>(null);
  const rowHeight = Math.round(ROW_HEIGHT_REM * useRemPixels());
  const virtualizer = useVirtualizer({ count: sorted.length, getScrollElement: () => scroller.current, estimateSize: () => rowHeight, overscan: 12 });
  useEffect(() => virtualizer.measure(), [rowHeight, virtualizer]);
  // One template for every row (each row is its own grid): widths from the header and the first rows' text.
  const template = useMemo(
    () =>
      columns
        .map((c, i) => {
          const longest = Math.max(c.name.length + 2, ...rows.slice(0, 200).map((row) => cellText(row[i]).length));
          return `${Math.min(30, Math.max(4.5, Math.round(longest * 0.6 * 10) / 10 + 1.8))}em`;
        })
        .join(" "),
    [columns, rows],
  );

  const copy = async () => {
    const lines = [columns.map((c) => c.name), ...sorted.map((row) => row.original.map(cellText))].map((cells) => cells.join("\t"));
    await navigator.clipboard.writeText(lines.join("\n"));
    setCopied(true);
    setTimeout(() => setCopied(false), 1_500);
  };

  return (
    <div>
      <div className="result-actions">
        <button type="button" onClick={copy}>
          {copied ? "Copied" : "Copy rows"}
        </button>
      </div>
      <div ref={scroller} data-testid="result-table" role="table" className="result-table">
        <div role="row" className="result-row result-head" style={{ gridTemplateColumns: template }}>
          {table.getHeaderGroups()[0]!.headers.map((header) => {
            const direction = header.column.getIsSorted();
            const numeric = isNumericType(columns[Number(header.id)]!.type);
            return (
              <div
                key={header.id}
                role="columnheader"
                aria-sort={direction === "asc" ? "ascending" : direction === "desc" ? "descending" : "none"}
                onClick={header.column.getToggleSortingHandler()}
                title={columns[Number(header.id)]!.type}
                className={numeric ? "numeric" : undefined}
              >
                {flexRender(header.column.columnDef.header, header.getContext())}
                {direction === "asc" ? " ▲" : direction === "desc" ? " ▼" : ""}
              </div>
            );
          })}
        </div>
        <div className="result-body" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = sorted[item.index]!;
            return (
              <div
                key={row.id}
                role="row"
                className={item.index % 2 ? "result-row odd" : "result-row"}
                style={{ gridTemplateColumns: template, transform: `translateY(${item.start}px)`, height: rowHeight }}
              >
                {row.getVisibleCells().map((cell) => {
                  const value = cell.getValue();
                  const numeric = isNumericType(columns[Number(cell.column.id)]!.type);
                  return (
                    <div key={cell.id} role="cell" className={[numeric ? "numeric" : "", value === null ? "null" : ""].join(" ").trim() || undefined}>
                      {cellText(value)}
                    </div>
                  );
                })}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

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
import { useMemo, useRef, useState } from "react";

export interface ResultColumn {
  name: string;
  type: string;
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)/;
export const isNumericType = (type: string) => NUMERIC.test(type);

export const cellText = (value: unknown): string =>
  value === null || value === undefined ? "NULL" : typeof value === "object" ? JSON.stringify(value) : String(value);

const ROW_HEIGHT = 28;

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
  const virtualizer = useVirtualizer({ count: sorted.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  // One template for every row (each row is its own grid): widths from the header and the first rows' text.
  const template = useMemo(
    () =>
      columns
        .map((c, i) => {
          const longest = Math.max(c.name.length + 2, ...rows.slice(0, 200).map((row) => cellText(row[i]).length));
          return `${Math.min(420, Math.max(64, Math.round(longest * 7.6) + 24))}px`;
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
      <div style={{ display: "flex", justifyContent: "flex-end", marginBottom: 4 }}>
        <button type="button" onClick={copy} style={smallButton}>
          {copied ? "Copied" : "Copy rows"}
        </button>
      </div>
      <div ref={scroller} data-testid="result-table" role="table" style={{ height: 360, overflow: "auto", border: "1px solid #334155", borderRadius: 6, fontSize: 13 }}>
        <div role="row" style={{ display: "grid", gridTemplateColumns: template, position: "sticky", top: 0, background: "#1e293b", zIndex: 1, minWidth: "100%", width: "max-content" }}>
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
                style={{ padding: "6px 10px", fontWeight: 600, cursor: "pointer", userSelect: "none", textAlign: numeric ? "right" : "left", whiteSpace: "nowrap" }}
              >
                {flexRender(header.column.columnDef.header, header.getContext())}
                {direction === "asc" ? " ▲" : direction === "desc" ? " ▼" : ""}
              </div>
            );
          })}
        </div>
        <div style={{ height: virtualizer.getTotalSize(), position: "relative", minWidth: "100%", width: "max-content" }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = sorted[item.index]!;
            return (
              <div
                key={row.id}
                role="row"
                style={{ display: "grid", gridTemplateColumns: template, position: "absolute", top: 0, transform: `translateY(${item.start}px)`, height: ROW_HEIGHT, width: "100%", background: item.index % 2 ? "#111c33" : "transparent" }}
              >
                {row.getVisibleCells().map((cell) => {
                  const value = cell.getValue();
                  const numeric = isNumericType(columns[Number(cell.column.id)]!.type);
                  return (
                    <div
                      key={cell.id}
                      role="cell"
                      style={{ padding: "5px 10px", whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis", textAlign: numeric ? "right" : "left", color: value === null ? "#64748b" : undefined, fontVariantNumeric: "tabular-nums" }}
                    >
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

export const smallButton = { background: "#1e293b", color: "#e2e8f0", border: "1px solid #334155", borderRadius: 4, padding: "3px 10px", cursor: "pointer", fontSize: 12 } as const;

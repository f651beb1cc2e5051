/** Prints artifacts/faults/summary.json as README's fault table: `tsx tests/faults/support/table.ts`. */
import { readFileSync } from "node:fs";
import { SUMMARY_FILE, type ScenarioFigures } from "./figures.ts";

const summary = JSON.parse(readFileSync(SUMMARY_FILE, "utf8")) as Record<string, ScenarioFigures>;
console.log("| scenario | seed | time | runs | faults injected | rows checked | lost | duplicated |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const [name, f] of Object.entries(summary).sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`| ${name} | ${f.seed} | ${Math.round(f.durationMs / 1000)} s | ${f.runs} | ${f.faultsInjected.toLocaleString("en")} | ${f.rowsChecked.toLocaleString("en")} | ${f.lost} | ${f.duplicated} |`);
}

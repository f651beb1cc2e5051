/**
 * `tsx bench/profile-summary.ts <file.cpuprofile> [top]`: self time by
 * function (and by script), from a `node --cpu-prof` profile, for the
 * bench's "profile the worst ratio" step (README, Benchmarks).
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]");
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
const byScript = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id)!;
  const us = profile.timeDeltas[i] ?? 0;
  total += us;
  const url = node.callFrame.url.replace(/^file:\/\//, "").replace(/.*node_modules\//, "");
  const key = `${node.callFrame.functionName || "(anonymous)"} ${url}:${node.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + us);
  const script = url.split("/").slice(0, url.startsWith("/") ? 4 : 2).join("/") || node.callFrame.functionName;
  byScript.set(script, (byScript.get(script) ?? 0) + us);
});
const top = Number(topArg ?? 25);
const show = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`).join("\n");
console.log(`total ${(total / 1000).toFixed(0)} ms sampled\n\nself time by function:\n${show(self)}\n\nby package / script:\n${show(byScript)}`);

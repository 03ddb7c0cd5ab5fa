/**
 * `npm run bench`: stepwise beside the hand-written loop and the peers a user would pick instead, on
 * the same workload and database, each figure a whole process; then the edge entries' sizes. Markdown
 * to stdout, progress to stderr, every sample to bench/results/ (git-ignored).
 *
 *   npm run bench -- [--only sqlite|pg|fleet|sizes] [--sizes 100,1000] [--rounds 5] [--fleet 10000]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { benchFleet, renderFleet, type FleetMeasured } from "./fleet.js";
import { benchDialect, type Measured } from "./measure.js";
import { renderMeasured, renderSizes } from "./report.js";
import { measureEntrySizes, type EntrySize } from "./sizes.js";
import { repoRoot } from "./workload.js";

const args = process.argv.slice(2);
const valueOf = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const only = valueOf("--only");
const sizes = (valueOf("--sizes") ?? "100,1000").split(",").map(Number);
const rounds = Number(valueOf("--rounds") ?? 5);
// The fleet figure: that many SQLite files and a tenth as many PostgreSQL schemas; its runs are long, so one round unless --rounds is given.
const fleetFiles = Number(valueOf("--fleet") ?? 10_000);
const fleetRounds = args.includes("--rounds") ? rounds : 1;
if ((only !== undefined && !["sqlite", "pg", "sizes", "fleet"].includes(only)) || ![...sizes, rounds, fleetFiles].every((value) => Number.isSafeInteger(value) && value > 0)) {
  console.error("usage: npm run bench -- [--only sqlite|pg|fleet|sizes] [--sizes 100,1000] [--rounds 5] [--fleet 10000]");
  process.exit(2);
}
const started = performance.now();
const progress = (message: string) => console.error(`${((performance.now() - started) / 1000).toFixed(0).padStart(5)} s  ${message}`);
const machine = `Node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)} at the start`;
const results: { machine: string; measured: Measured[]; fleet: FleetMeasured[]; sizes?: EntrySize[] } = { machine, measured: [], fleet: [] };
console.log(`## npm run bench (${machine})\n`);
for (const dialect of ["sqlite", "pg"] as const) {
  if (only !== undefined && only !== dialect) continue;
  for (const size of sizes) {
    const measured = await benchDialect(dialect, size, rounds, progress);
    results.measured.push(measured);
    console.log(`${renderMeasured(measured)}\n`);
  }
}
if (only === undefined || only === "fleet") {
  for (const [dialect, databases] of [
    ["sqlite", fleetFiles],
    ["pg", Math.max(1, Math.round(fleetFiles / 10))],
  ] as const) {
    const measured = await benchFleet(dialect, databases, fleetRounds, progress);
    results.fleet.push(measured);
    console.log(`${renderFleet(measured)}\n`);
  }
}
if (only === undefined || only === "sizes") {
  results.sizes = await measureEntrySizes();
  console.log(renderSizes(results.sizes));
}
const dir = path.join(repoRoot, "bench", "results");
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`), `${JSON.stringify(results, null, 2)}\n`);
progress(`done; samples in ${path.relative(repoRoot, dir)}/`);

/**
 * `npm run bench -- --only registry-load`: what the bin's import-free registry path saves. A project
 * of SQL migrations only (its registry imports nothing at run time), applied; then `stepwise status
 * --json` as a child process, rounds alternating between the import-free path and tsx's loader
 * (`STEPWISE_REGISTRY_LOADER=tsx`, the baseline), so both see the same machine. The figure is the
 * median wall time of the import-free side over the tsx side's, both measured in this run.
 *
 * The bin is the one the tests start (test/support/compiled-bin.ts: `codegen/` and `src/` compiled
 * with esbuild, run with plain node), so its own start-up is what an installed package's is.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { compiledBinPath } from "../test/support/compiled-bin.js";
import { summarize } from "./stats.js";

const median = (samples: readonly number[]): number => summarize(samples).median;

/** The import-free path meets its aim when `status` takes at most this share of the tsx path's wall time. */
export const REGISTRY_LOAD_TARGET = 0.75;

/** What {@link measureRegistryLoad} found. */
export interface RegistryLoadResult {
  readonly migrations: number;
  readonly rounds: number;
  /** Wall time of each `status`, in milliseconds, per side. */
  readonly importFreeMs: readonly number[];
  readonly tsxMs: readonly number[];
  /** median(importFreeMs) / median(tsxMs). */
  readonly ratio: number;
  /** The 1, 5 and 15 minute load averages at the end, as context for the wall times. */
  readonly loadAverage: readonly number[];
}

function runStatus(bin: string, cwd: string, env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, [bin, "status", "--json"], { cwd, env, encoding: "utf8" });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`stepwise status failed (${result.status}): ${result.stderr}`);
  return ms;
}

/** Measures `status` on an applied project of `migrations` SQL migrations, `rounds` times a side. */
export function measureRegistryLoad(options: { migrations?: number; rounds?: number; keep?: boolean } = {}): RegistryLoadResult {
  const migrations = options.migrations ?? 20;
  const rounds = options.rounds ?? 30;
  const bin = compiledBinPath();
  const root = mkdtempSync(path.join(tmpdir(), "stepwise-bench-registry-load-"));
  try {
    writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "bench-app", private: true, type: "module", stepwise: { database: "app.db" } }));
    // The gen cache (and with it the transpiled registry) lives in the project's node_modules.
    mkdirSync(path.join(root, "node_modules"));
    mkdirSync(path.join(root, "migrations"));
    for (let version = 1; version <= migrations; version++) {
      const table = `t${version}`;
      writeFileSync(
        path.join(root, "migrations", `${String(version).padStart(3, "0")}_${table}.sql`),
        `-- migrate:up\nCREATE TABLE ${table} (id INTEGER PRIMARY KEY, label TEXT);\n-- migrate:down\nDROP TABLE ${table};\n`,
      );
    }
    const env = { ...process.env, NO_COLOR: "1" };
    for (const args of [["gen"], ["up"]]) {
      const result = spawnSync(process.execPath, [bin, ...args], { cwd: root, env, encoding: "utf8" });
      if (result.status !== 0) throw new Error(`stepwise ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
    }
    const tsxEnv = { ...env, STEPWISE_REGISTRY_LOADER: "tsx" };
    // One unmeasured run a side: the transpile, tsx's transform cache.
    runStatus(bin, root, env);
    runStatus(bin, root, tsxEnv);
    const importFreeMs: number[] = [];
    const tsxMs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // Alternate which side goes first, so neither always follows the other.
      if (round % 2 === 0) {
        importFreeMs.push(runStatus(bin, root, env));
        tsxMs.push(runStatus(bin, root, tsxEnv));
      } else {
        tsxMs.push(runStatus(bin, root, tsxEnv));
        importFreeMs.push(runStatus(bin, root, env));
      }
    }
    return { migrations, rounds, importFreeMs, tsxMs, ratio: median(importFreeMs) / median(tsxMs), loadAverage: loadavg() };
  } finally {
    if (!options.keep) rmSync(root, { recursive: true, force: true });
  }
}

/** The result as markdown, with the verdict against {@link REGISTRY_LOAD_TARGET}. */
export function renderRegistryLoadMarkdown(result: RegistryLoadResult): string {
  const met = result.ratio <= REGISTRY_LOAD_TARGET;
  return [
    `## Registry load: \`stepwise status\` on ${result.migrations} SQL migrations (${result.rounds} rounds a side, interleaved)`,
    "",
    "| side | median wall (ms) |",
    "|---|---|",
    `| import-free registry (plain JavaScript) | ${median(result.importFreeMs).toFixed(1)} |`,
    `| through tsx (\`STEPWISE_REGISTRY_LOADER=tsx\`, baseline) | ${median(result.tsxMs).toFixed(1)} |`,
    "",
    `Ratio ${result.ratio.toFixed(2)}x of the tsx path (target at most ${REGISTRY_LOAD_TARGET}x): **${met ? "met" : "not met"}**. Load average ${result.loadAverage.map((value) => value.toFixed(2)).join(", ")}.`,
  ].join("\n");
}

/**
 * The benchmark itself, as a function: builds each workload, measures every figure against its
 * baseline in the same run, and returns plain data. `bench/main.ts` prints it; the smoke test runs it
 * on a tiny N.
 */
import { build } from "esbuild";
import { cpSync, existsSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { tsImport } from "tsx/esm/api";
import { MigrationManager, migrate } from "../src/entries/better-sqlite3.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { runChildOrThrow, tsxLoader } from "./child.js";
import { measureDrivers, type PreparedWorkload, type SkippedDriver } from "./measure-drivers.js";
import { measureRuntimeBundleBytes } from "./runtime-bundle-size.js";
import { applyRawInOneTransaction, applyRawPerMigration, readRawHistory, rollbackRawPerMigration, type RawMigration } from "./raw-baseline.js";
import { summarize, timeMs, type Summary } from "./stats.js";
import { CONNECTION_PRAGMAS, createWorkload, repoRoot, type Workload } from "./workload.js";

/** How many times each figure is measured at one N. */
export interface RunCounts {
  readonly gen: number;
  readonly apply: number;
  /** Runs of the `transaction: "all"` pair; 0 skips it (its target is at N = 1,000). */
  readonly applyAll: number;
  readonly noopInProcess: number;
  readonly startProcess: number;
  /** Apply runs per driver (`bench/measure-drivers.ts`); 0 skips them. */
  readonly driverApply: number;
  /** No-op start runs per driver and registry; 0 skips them, and the TypeScript-only workload. */
  readonly driverStart: number;
}

/** What to run. */
export interface BenchOptions {
  readonly sizes: readonly number[];
  readonly runs: (size: number) => RunCounts;
  /** Parent folder for the workloads; they are deleted afterwards unless `keep`. */
  readonly workDir?: string;
  readonly keep?: boolean;
  readonly onProgress?: (message: string) => void;
}

/** One figure at one N: stepwise and its baseline, in milliseconds, and peak memory where measured. */
export interface Figure {
  readonly id: string;
  readonly label: string;
  readonly size: number;
  readonly stepwise: Summary;
  readonly baseline: Summary;
  readonly baselineLabel: string;
  /** stepwise median / baseline median. */
  readonly ratio: number;
  readonly stepwiseRssMiB?: Summary;
  readonly baselineRssMiB?: Summary;
  /** CPU time (user + system) of each process, where the programs report it: the cost without the wait for a core. */
  readonly stepwiseCpuMs?: Summary;
  readonly baselineCpuMs?: Summary;
  /** For per-driver figures: the driver, and the runtime it ran under. */
  readonly driver?: string;
  readonly runtime?: string;
}

/** Everything one run measured. */
export interface BenchResult {
  readonly startedAt: string;
  readonly node: string;
  readonly platform: string;
  readonly cpus: number;
  readonly pragmas: readonly string[];
  readonly figures: readonly Figure[];
  /** Minified bytes of a bundle importing only `MigrationManager` and `migrate`; see `runtime-bundle-size.ts`. */
  readonly runtimeBundleBytes: number;
  /** Drivers whose runtime is not installed here, with the reason. */
  readonly skippedDrivers: readonly SkippedDriver[];
  /**
   * Whether NODE_EXTRA_CA_CERTS was set for the run: Node 20 reads those certificates at every start,
   * which lengthens every Node 20 figure, floors included (absent in results from before session 11).
   */
  readonly extraCaCerts?: boolean;
}

const binPath = path.join(repoRoot, "codegen", "bin.ts");
const readMigrationsScript = path.join(repoRoot, "bench", "read-migrations.ts");

/**
 * Default run counts: fewer repetitions where one run is long, so the whole bench stays under 10
 * minutes on 2 busy cores. At N = 10,000 SQLite itself is quadratic in DDL (each CREATE or DROP
 * rescans sqlite_master), so one apply or rollback takes seconds on either side.
 */
export function defaultRunCounts(size: number): RunCounts {
  // The per-driver targets are set at N = 1,000; at 10,000 they would add minutes for no target.
  if (size >= 10_000) return { gen: 3, apply: 2, applyAll: 0, noopInProcess: 30, startProcess: 5, driverApply: 0, driverStart: 0 };
  if (size >= 1_000) return { gen: 5, apply: 5, applyAll: 5, noopInProcess: 200, startProcess: 15, driverApply: 5, driverStart: 15 };
  return { gen: 5, apply: 7, applyAll: 7, noopInProcess: 500, startProcess: 15, driverApply: 7, driverStart: 15 };
}

/** Runs the benchmark. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const { cpus } = await import("node:os");
  const figures: Figure[] = [];
  const skippedDrivers = new Map<string, SkippedDriver>();
  for (const size of options.sizes) {
    const progress = (message: string) => options.onProgress?.(`[N=${size}] ${message}`);
    const runs = options.runs(size);
    const workload = createWorkload(size, options.workDir);
    const created = [workload];
    try {
      const measured = await measureWorkload(workload, runs, progress);
      figures.push(...measured.figures);
      if (runs.driverApply > 0 || runs.driverStart > 0) {
        const prepared: PreparedWorkload[] = [{ workload, registryKind: "sql", appliedDb: path.join(workload.root, "applied.db"), checksums: measured.registry.map((entry) => entry.checksum) }];
        if (runs.driverStart > 0) {
          progress("TypeScript-only workload: gen and apply");
          const tsWorkload = createWorkload(size, options.workDir, 1);
          created.push(tsWorkload);
          prepared.push(await prepareTsOnlyWorkload(tsWorkload));
        }
        const drivers = await measureDrivers(prepared, runs, progress);
        figures.push(...drivers.figures);
        for (const skip of drivers.skipped) skippedDrivers.set(skip.driver, skip);
      }
    } finally {
      if (!options.keep) for (const folder of created) rmSync(folder.root, { recursive: true, force: true });
    }
  }
  return {
    startedAt: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    pragmas: CONNECTION_PRAGMAS,
    figures,
    runtimeBundleBytes: await measureRuntimeBundleBytes(),
    skippedDrivers: [...skippedDrivers.values()],
    extraCaCerts: Boolean(process.env.NODE_EXTRA_CA_CERTS),
  };
}

/** Generates the TypeScript-only workload's registry and migrates its `applied.db` with it. */
async function prepareTsOnlyWorkload(workload: Workload): Promise<PreparedWorkload> {
  runChildOrThrow(["--import", tsxLoader], binPath, ["gen"], { cwd: workload.root });
  const registry = await loadRegistry(workload);
  withDatabase(workload.root, "applied.db", (db) => void migrate(db, registry));
  return { workload, registryKind: "ts", appliedDb: path.join(workload.root, "applied.db"), checksums: registry.map((entry) => entry.checksum) };
}

async function measureWorkload(workload: Workload, runs: RunCounts, progress: (message: string) => void): Promise<{ figures: Figure[]; registry: MigrationRegistry }> {
  const figures: Figure[] = [];
  const { size, root } = workload;
  const tsx = ["--import", tsxLoader];

  progress("gen");
  figures.push(...measureGen(workload, runs.gen));

  const registry = await loadRegistry(workload);
  const raw: RawMigration[] = workload.migrations.map((migration, index) => ({ ...migration, checksum: registry[index]!.checksum }));

  progress("apply and rollback");
  const apply: number[] = [];
  const applyRaw: number[] = [];
  const applyAll: number[] = [];
  const applyAllRaw: number[] = [];
  const rollback: number[] = [];
  const rollbackRaw: number[] = [];
  for (let run = 0; run < runs.apply; run++) {
    withDatabase(
      root,
      `raw-${run}.db`,
      (db) => {
        applyRaw.push(timeMs(() => applyRawPerMigration(db, raw)));
        rollbackRaw.push(timeMs(() => rollbackRawPerMigration(db, raw)));
      },
      true,
    );
    withDatabase(
      root,
      `stepwise-${run}.db`,
      (db) => {
        apply.push(timeMs(() => new MigrationManager(db, registry).up()));
        rollback.push(timeMs(() => new MigrationManager(db, registry).down({ to: 0 })));
      },
      true,
    );
  }
  for (let run = 0; run < runs.applyAll; run++) {
    withDatabase(
      root,
      `raw-all-${run}.db`,
      (db) => {
        applyAllRaw.push(timeMs(() => applyRawInOneTransaction(db, raw)));
      },
      true,
    );
    withDatabase(
      root,
      `stepwise-all-${run}.db`,
      (db) => {
        applyAll.push(timeMs(() => new MigrationManager(db, registry).up({ transaction: "all" })));
      },
      true,
    );
  }
  figures.push(figure("apply", "fresh apply", size, apply, applyRaw, "raw: a transaction per migration"));
  if (runs.applyAll > 0) figures.push(figure("apply-all", 'fresh apply, transaction: "all"', size, applyAll, applyAllRaw, "raw: one transaction"));
  figures.push(figure("rollback", "full rollback", size, rollback, rollbackRaw, "raw: a transaction per migration"));

  progress("no-op up in-process");
  const appliedDb = path.join(root, "applied.db");
  withDatabase(root, "applied.db", (db) => {
    migrate(db, registry);
    const noop: number[] = [];
    const select: number[] = [];
    const warmUp = Math.min(50, runs.noopInProcess);
    for (let run = 0; run < runs.noopInProcess + warmUp; run++) {
      const ours = timeMs(() => migrate(db, registry));
      const theirs = timeMs(() => readRawHistory(db));
      if (run >= warmUp) {
        noop.push(ours);
        select.push(theirs);
      }
    }
    figures.push(figure("noop-in-process", "no-op migrate(), in-process", size, noop, select, "raw: SELECT version, checksum"));
  });

  progress("whole-process start");
  const bundleDir = path.join(root, "dist");
  await build({
    entryPoints: { app: workload.appEntry, floor: workload.floorEntry, "registry-only": workload.registryOnlyEntry },
    outdir: bundleDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["better-sqlite3"],
    logLevel: "silent",
  });
  const startDb = path.join(root, "start.db");
  cpSync(appliedDb, startDb);
  const modes = [
    {
      id: "bundled",
      label: "esbuild bundle",
      args: [] as string[],
      app: path.join(bundleDir, "app.mjs"),
      floor: path.join(bundleDir, "floor.mjs"),
      registryOnly: path.join(bundleDir, "registry-only.mjs"),
    },
    { id: "tsx", label: "unbundled, tsx", args: tsx, app: workload.appEntry, floor: workload.floorEntry, registryOnly: workload.registryOnlyEntry },
  ];
  for (const mode of modes) {
    // One unmeasured run each fills tsx's transform cache and the OS file cache.
    runChildOrThrow(mode.args, mode.app, [startDb], { cwd: root });
    runChildOrThrow(mode.args, mode.floor, [startDb], { cwd: root });
    runChildOrThrow(mode.args, mode.registryOnly, [startDb], { cwd: root });
    const app: number[] = [];
    const floor: number[] = [];
    const registryOnly: number[] = [];
    for (let run = 0; run < runs.startProcess; run++) {
      // Alternating keeps slow phases of a shared machine from landing on one side only.
      app.push(runChildOrThrow(mode.args, mode.app, [startDb], { cwd: root }).ms);
      floor.push(runChildOrThrow(mode.args, mode.floor, [startDb], { cwd: root }).ms);
      registryOnly.push(runChildOrThrow(mode.args, mode.registryOnly, [startDb], { cwd: root }).ms);
    }
    figures.push(figure(`start-${mode.id}`, `whole-process no-op start, ${mode.label}`, size, app, floor, "process: open + one SELECT"));
    figures.push(figure(`start-registry-${mode.id}`, `process importing only the registry, ${mode.label}`, size, registryOnly, floor, "process: open + one SELECT"));
  }
  return { figures, registry };

  function measureGen(target: Workload, count: number): Figure[] {
    const cacheDir = path.join(target.root, "node_modules", ".cache");
    const gen = (check: boolean) => runChildOrThrow(tsx, binPath, check ? ["gen", "--check"] : ["gen"], { cwd: target.root, measureRss: true });
    const read = () => runChildOrThrow(tsx, readMigrationsScript, [target.migrationsDir], { cwd: target.root, measureRss: true });
    const samples = {
      cold: [] as { ms: number; rss: number }[],
      checkMiss: [] as { ms: number; rss: number }[],
      checkHit: [] as { ms: number; rss: number }[],
      floor: [] as { ms: number; rss: number }[],
    };
    const keep = (list: { ms: number; rss: number }[], run: ReturnType<typeof gen>) => list.push({ ms: run.ms, rss: run.rssMiB ?? Number.NaN });
    read();
    for (let run = 0; run < count; run++) {
      rmSync(target.registryFile, { force: true });
      rmSync(cacheDir, { recursive: true, force: true });
      keep(samples.cold, gen(false));
      rmSync(cacheDir, { recursive: true, force: true });
      keep(samples.checkMiss, gen(true));
      keep(samples.checkHit, gen(true));
      keep(samples.floor, read());
    }
    if (!existsSync(target.registryFile)) throw new Error("gen wrote no registry");
    const floorMs = samples.floor.map((sample) => sample.ms);
    const floorRss = summarize(samples.floor.map((sample) => sample.rss));
    const floorLabel = "process: read + hash every file";
    const make = (id: string, label: string, list: { ms: number; rss: number }[]): Figure => ({
      ...figure(
        id,
        label,
        target.size,
        list.map((sample) => sample.ms),
        floorMs,
        floorLabel,
      ),
      stepwiseRssMiB: summarize(list.map((sample) => sample.rss)),
      baselineRssMiB: floorRss,
    });
    return [
      make("gen-cold", "gen, cold", samples.cold),
      make("gen-check-miss", "gen --check, unchanged, no cache (clean clone)", samples.checkMiss),
      make("gen-check-hit", "gen --check, unchanged, cache warm", samples.checkHit),
    ];
  }
}

function figure(id: string, label: string, size: number, stepwise: number[], baseline: number[], baselineLabel: string): Figure {
  const ours = summarize(stepwise);
  const theirs = summarize(baseline);
  return { id, label, size, stepwise: ours, baseline: theirs, baselineLabel, ratio: ours.median / theirs.median };
}

/** Opens `name` in `root` with the shared pragmas; with `remove`, deletes the file afterwards. */
function withDatabase(root: string, name: string, action: (db: Database.Database) => void, remove = false): void {
  const file = path.join(root, name);
  const db = new Database(file);
  try {
    for (const pragma of CONNECTION_PRAGMAS) db.pragma(pragma);
    action(db);
  } finally {
    db.close();
    if (remove) for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
  }
}

async function loadRegistry(workload: Workload): Promise<MigrationRegistry> {
  const loaded = (await tsImport(pathToFileURL(workload.registryFile).href, import.meta.url)) as { migrations: MigrationRegistry };
  return loaded.migrations;
}

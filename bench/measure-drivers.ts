/**
 * The per-driver figures: for each driver, under its own runtime and in the same run, stepwise's
 * fresh apply against the same workload hand-written on that driver, and the whole-process no-op
 * start of a bundled app against that driver's floor, for a mostly-SQL registry and a TypeScript-only
 * one. A driver whose runtime is not installed is skipped with the reason, never silently.
 */
import { build } from "esbuild";
import { cpSync, writeFileSync } from "node:fs";
import path from "node:path";
import { runChildOrThrow } from "./child.js";
import { BENCH_DRIVERS, DRIVER_EXTERNALS, runtimeExecutable, writeDriverPrograms, type BenchDriver, type DriverProgramFiles } from "./driver-programs.js";
import { CREATE_HISTORY } from "./raw-baseline.js";
import { writeDesignMinimum } from "./design-minimum.js";
import { measureStartVariants } from "./start-variants.js";
import { summarize } from "./stats.js";
import { driverFigure } from "./driver-figure.js";
import type { Workload } from "./workload.js";
import type { Figure } from "./run-bench.js";

/** A driver the run could not measure, and why. */
export interface SkippedDriver {
  readonly driver: string;
  readonly reason: string;
}

/** A workload ready for the per-driver figures: its registry generated, `appliedDb` fully migrated. */
export interface PreparedWorkload {
  readonly workload: Workload;
  /** `"sql"` for the mostly-SQL registry, `"ts"` for the TypeScript-only one. */
  readonly registryKind: "sql" | "ts";
  readonly appliedDb: string;
  /** Checksums by version, as the registry records them, so both sides store identical rows. */
  readonly checksums: readonly string[];
}

/** Run counts of the per-driver figures; 0 skips one. */
export interface DriverRunCounts {
  readonly driverApply: number;
  readonly driverStart: number;
}

/** The figure ids this module adds, each once per driver. */
export const DRIVER_FIGURE_IDS = {
  apply: "driver-apply",
  startSql: "driver-start-sql",
  startTs: "driver-start-ts",
  registrySql: "driver-registry-sql",
  registryTs: "driver-registry-ts",
  modulesTs: "driver-modules-ts",
  minimumSql: "driver-minimum-sql",
} as const;

/** Measures every driver on the prepared workloads. */
export async function measureDrivers(
  workloads: readonly PreparedWorkload[],
  runs: DriverRunCounts,
  progress: (message: string) => void,
  drivers: readonly BenchDriver[] = BENCH_DRIVERS,
): Promise<{ figures: Figure[]; skipped: SkippedDriver[] }> {
  const figures: Figure[] = [];
  const skipped: SkippedDriver[] = [];
  const programs = new Map<PreparedWorkload, Map<string, DriverProgramFiles>>();
  for (const prepared of workloads) {
    const { root, migrations } = prepared.workload;
    writeFileSync(
      path.join(root, "raw.json"),
      JSON.stringify({ createHistory: CREATE_HISTORY, migrations: migrations.map((m, i) => ({ version: m.version, name: m.name, checksum: prepared.checksums[i], upSql: m.upSql })) }),
    );
    writeDesignMinimum(root, migrations, prepared.checksums);
    const sources = new Map(drivers.map((driver) => [driver.name, writeDriverPrograms(root, driver)]));
    const bundled = new Map<string, DriverProgramFiles>();
    const entryPoints: Record<string, string> = {};
    for (const [name, files] of sources) {
      const out = (kind: keyof DriverProgramFiles) => `drivers/${path.basename(files[kind], ".ts")}`;
      for (const kind of ["apply", "app", "floor", "registry", "modules", "minimum"] as const) entryPoints[out(kind)] = files[kind];
      const dist = (kind: keyof DriverProgramFiles) => path.join(root, "dist", `${out(kind)}.mjs`);
      bundled.set(name, { apply: dist("apply"), app: dist("app"), floor: dist("floor"), registry: dist("registry"), modules: dist("modules"), minimum: dist("minimum") });
    }
    await build({
      entryPoints,
      outdir: path.join(root, "dist"),
      outExtension: { ".js": ".mjs" },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      external: DRIVER_EXTERNALS,
      logLevel: "silent",
    });
    programs.set(prepared, bundled);
  }

  for (const driver of drivers) {
    const runtime = runtimeExecutable(driver.runtime);
    if ("skip" in runtime) {
      skipped.push({ driver: driver.name, reason: runtime.skip });
      progress(`${driver.name}: skipped, ${runtime.skip}`);
      continue;
    }
    const run = (script: string, args: string[], captureStdout = false) => runChildOrThrow([], script, args, { cwd: path.dirname(script), executable: runtime.path, captureStdout });

    const sqlWorkload = workloads.find((prepared) => prepared.registryKind === "sql");
    if (sqlWorkload && runs.driverApply > 0) {
      progress(`${driver.name}: fresh apply`);
      const files = programs.get(sqlWorkload)!.get(driver.name)!;
      const output = run(files.apply, [sqlWorkload.workload.root, String(runs.driverApply)], true).stdout;
      const times = JSON.parse(output) as { stepwise: number[]; raw: number[] };
      figures.push(driverFigure(DRIVER_FIGURE_IDS.apply, driver, "fresh apply", sqlWorkload.workload.size, times.stepwise, times.raw, "hand-written: a transaction per migration"));
    }
    if (runs.driverStart === 0) continue;
    for (const prepared of workloads) {
      progress(`${driver.name}: no-op start, ${prepared.registryKind} registry`);
      const files = programs.get(prepared)!.get(driver.name)!;
      const startDb = path.join(prepared.workload.root, `start-${driver.entry}.db`);
      cpSync(prepared.appliedDb, startDb);
      // One unmeasured run each fills the OS file cache; then the three alternate, so a slow phase of
      // a shared machine lands on all of them.
      run(files.app, [startDb]);
      run(files.floor, [startDb]);
      run(files.registry, [startDb]);
      // The modules alone only where they are the whole app: the TypeScript-only registry.
      const withModules = prepared.registryKind === "ts";
      if (withModules) run(files.modules, [startDb]);
      // The design's minimum registry only where it bounds the target: the mostly-SQL registry.
      const withMinimum = prepared.registryKind === "sql";
      if (withMinimum) run(files.minimum, [startDb]);
      const modules: number[] = [];
      const modulesCpu: number[] = [];
      const minimum: number[] = [];
      const minimumCpu: number[] = [];
      const app: number[] = [];
      const floor: number[] = [];
      const registry: number[] = [];
      const appCpu: number[] = [];
      const floorCpu: number[] = [];
      const registryCpu: number[] = [];
      for (let i = 0; i < runs.driverStart; i++) {
        const ours = run(files.app, [startDb], true);
        const theirs = run(files.floor, [startDb], true);
        const loaded = run(files.registry, [startDb], true);
        app.push(ours.ms);
        floor.push(theirs.ms);
        registry.push(loaded.ms);
        appCpu.push(Number(ours.stdout));
        floorCpu.push(Number(theirs.stdout));
        registryCpu.push(Number(loaded.stdout));
        if (withModules) {
          const imported = run(files.modules, [startDb], true);
          modules.push(imported.ms);
          modulesCpu.push(Number(imported.stdout));
        }
        if (withMinimum) {
          const imported = run(files.minimum, [startDb], true);
          minimum.push(imported.ms);
          minimumCpu.push(Number(imported.stdout));
        }
      }
      const sql = prepared.registryKind === "sql";
      const what = sql ? "mostly-SQL registry" : "TypeScript-only registry";
      const floorLabel = "process: open + read the history rows";
      figures.push({
        ...driverFigure(sql ? DRIVER_FIGURE_IDS.startSql : DRIVER_FIGURE_IDS.startTs, driver, `whole-process no-op start, esbuild bundle, ${what}`, prepared.workload.size, app, floor, floorLabel),
        stepwiseCpuMs: summarize(appCpu),
        baselineCpuMs: summarize(floorCpu),
      });
      figures.push({
        ...driverFigure(
          sql ? DRIVER_FIGURE_IDS.registrySql : DRIVER_FIGURE_IDS.registryTs,
          driver,
          `process importing only the registry, esbuild bundle, ${what}`,
          prepared.workload.size,
          registry,
          floor,
          floorLabel,
        ),
        stepwiseCpuMs: summarize(registryCpu),
        baselineCpuMs: summarize(floorCpu),
      });
      if (withModules) {
        figures.push({
          ...driverFigure(
            DRIVER_FIGURE_IDS.modulesTs,
            driver,
            "process importing only the app's TypeScript migration modules (no registry, no stepwise runtime), esbuild bundle",
            prepared.workload.size,
            modules,
            floor,
            floorLabel,
          ),
          stepwiseCpuMs: summarize(modulesCpu),
          baselineCpuMs: summarize(floorCpu),
        });
      }
      if (withMinimum) {
        figures.push({
          ...driverFigure(
            DRIVER_FIGURE_IDS.minimumSql,
            driver,
            "process importing only the design's minimum registry (a version and checksum per migration, the SQL inlined, the TypeScript migrations imported; no entries, no stepwise runtime), esbuild bundle",
            prepared.workload.size,
            minimum,
            floor,
            floorLabel,
          ),
          stepwiseCpuMs: summarize(minimumCpu),
          baselineCpuMs: summarize(floorCpu),
        });
      }
      // Supplementary only, never a verdict: the same start under the runtime's compile cache, and
      // on Node 20 without the certificates NODE_EXTRA_CA_CERTS loads (start-variants.ts).
      figures.push(...measureStartVariants({ driver, runtime: runtime.path, files, startDb, registryKind: prepared.registryKind, size: prepared.workload.size, runs: runs.driverStart, progress }));
    }
  }
  return { figures, skipped };
}

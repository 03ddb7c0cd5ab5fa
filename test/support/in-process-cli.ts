/**
 * The runtime CLI in this process: `createCli` with the bin's drivers (each loaded when chosen), its
 * output collected, for tests of what the command line prints and returns without starting the bin.
 */
import assert from "node:assert/strict";
import { createCli, type CreateCliProps } from "../../src/cli/create-cli.js";
import { ALL_DRIVER_LOADERS } from "../../src/cli/driver-loaders.js";
import type { MigrationRegistry } from "../../src/core/types.js";

/** What one run printed and returned. */
export interface InProcessRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `args` through a fresh CLI built from `props` (drivers: every driver the bin offers), with
 * `env` as its whole environment: nothing of this process's leaks in.
 */
export async function runInProcess<R extends MigrationRegistry>(props: CreateCliProps<R>, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<InProcessRun> {
  let stdout = "";
  let stderr = "";
  const cli = createCli({
    drivers: ALL_DRIVER_LOADERS,
    ...props,
    io: { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env, isTTY: false },
  });
  const code = await cli.run(args);
  return { code, stdout, stderr };
}

/** The `--json` output of a run that exited with `code`. */
export function jsonOutput<T>(run: InProcessRun, code = 0): T {
  assert.equal(run.code, code, `expected exit ${code}, got ${run.code}:\n${run.stdout}\n${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** The `error` object of a `--json` run that failed with `code`, after checking stderr names the same code. */
export function jsonError(run: InProcessRun, code = 1): { readonly code: string; readonly message: string; readonly [field: string]: unknown } {
  const { error } = jsonOutput<{ error: { code: string; message: string; [field: string]: unknown } }>(run, code);
  assert.ok(run.stderr.includes(`[${error.code}]`), run.stderr);
  return error;
}

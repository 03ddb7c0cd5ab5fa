/**
 * The runtime CLI in this process: `createCli` with the bin's drivers (each loaded when chosen), its
 * output collected, for tests of what the command line prints and returns without starting the bin.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createCli, type CreateCliProps } from "../../src/cli/create-cli.js";
import { ALL_DRIVER_LOADERS } from "../../src/cli/driver-loaders.js";
import type { MigrationRegistry } from "../../src/core/types.js";
import { cliNode, makeTempDir, repoRoot, runNode, type RunResult } from "./project.js";

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

/**
 * Runs `body` as the main module of a child process, an app that embeds the CLI, for what only a process shows (its exit code, its signals). In scope: `createCli` of
 * `stepwise-migrate/cli`, `tsEntry` and `asyncTsEntry`, and `dir`, a fresh folder that is the working folder.
 */
export function runEmbeddingApp(t: { after(fn: () => void): void }, body: string): Promise<RunResult> {
  const dir = makeTempDir(t);
  const source = (file: string) => JSON.stringify(pathToFileURL(path.join(repoRoot, file)).href);
  const imports = `import { createCli } from ${source("src/cli/index.ts")};\nimport { asyncTsEntry, tsEntry } from ${source("test/support/registry-builders.ts")};\n`;
  writeFileSync(path.join(dir, "app.mts"), `${imports}const dir = ${JSON.stringify(dir)};\n${body}\n`);
  return runNode(path.join(dir, "app.mts"), [], { cwd: dir, node: cliNode(), timeoutMs: 30_000 });
}

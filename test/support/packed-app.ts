/**
 * Test support for the packaging tests: pack this repo as npm would publish it, install the tarball
 * into temp apps, and run npm, the app's bins and plain node there as child processes.
 *
 * Installs never compile better-sqlite3: {@link copyInstalledPackage} copies the already-built module
 * (and what it depends on) from this repo's node_modules, npm keeps a package that is already present
 * and satisfies the range, and `--ignore-scripts` stops any rebuild. Everything else comes from the
 * npm cache that `npm ci` filled (`--prefer-offline`), falling back to the registry.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import path from "node:path";
import { repoRoot, type RunResult } from "./project.js";

/** Top-level entries of the repo that never go into a staged copy. */
const UNSTAGED = new Set(["node_modules", "dist", "data", ".git", ".stepwise-cache"]);

/**
 * npm passes its own settings and the running package's facts to scripts through the environment;
 * a nested npm must not inherit them, or it could act on this repo instead of the temp app.
 */
function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_/i.test(key) || /^(npm_command|npm_config_local_prefix|INIT_CWD)$/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: "1", FORCE_COLOR: undefined, npm_config_loglevel: "error", npm_config_fund: "false", npm_config_audit: "false", npm_config_update_notifier: "false", ...extra };
}

/** Runs a program and collects its output; never rejects for a non-zero exit. */
export function run(command: string, args: readonly string[], options: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** How long `npm pack` may take: its prepack compiles the package with tsc, which beside the rest of the full run on two cores has taken over two minutes. */
export const PACK_TIMEOUT_MS = 300_000;

/**
 * Runs npm: the same npm that runs the tests when there is one (`npm test` sets npm_execpath), else
 * the npm on PATH.
 */
export function runNpm(args: readonly string[], options: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number }): Promise<RunResult> {
  const npmCli = process.env.npm_execpath;
  if (npmCli && /\.[cm]?js$/.test(npmCli)) return run(process.execPath, [npmCli, ...args], options);
  return run(process.platform === "win32" ? "npm.cmd" : "npm", args, options);
}

/** Runs a file or `-e` script with plain node (no tsx), as a user's production process runs. */
export function runPlainNode(args: readonly string[], options: { cwd: string; env?: Record<string, string | undefined> }): Promise<RunResult> {
  return run(process.execPath, args, options);
}

/** Renders a child's output for an assertion message. */
export function describeRun(result: RunResult): string {
  return `exit ${result.code}${result.signal ? ` (${result.signal})` : ""}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/**
 * Copies the repo into `stageDir` (without node_modules, dist and local data) and links the repo's
 * node_modules into it, so `npm pack` there runs the real `prepack` without touching the checkout.
 */
export function stageRepo(stageDir: string): void {
  for (const entry of readdirSync(repoRoot)) {
    if (UNSTAGED.has(entry) || entry.endsWith(".tgz")) continue;
    cpSync(path.join(repoRoot, entry), path.join(stageDir, entry), { recursive: true });
  }
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(stageDir, "node_modules"), process.platform === "win32" ? "junction" : "dir");
}

/** What better-sqlite3 needs at run time; the rest of its folder is C++ sources and build leftovers. */
function keepBetterSqliteRuntime(relative: string): boolean {
  if (relative === "") return true;
  const parts = relative.split(path.sep);
  if (parts[0] === "lib" || parts[0] === "package.json" || parts[0] === "LICENSE") return true;
  if (parts[0] !== "build") return false;
  if (parts.length === 1) return true;
  if (parts[1] !== "Release") return false;
  return parts.length === 2 || parts[2] === "better_sqlite3.node";
}

/**
 * Copies an installed package from `fromNodeModules` to `toNodeModules`, and with `dependencies`
 * every package it depends on, transitively (npm's flat layout; nested node_modules travel with their
 * parent). With `optionalDependencies` too, the optional ones that are installed also travel: that is
 * how esbuild (under tsx) finds its platform binary. better-sqlite3 is copied without its sources, as
 * its built module is all that runs.
 *
 * @returns the names copied.
 */
export function copyInstalledPackage(name: string, fromNodeModules: string, toNodeModules: string, options: { dependencies: boolean; optionalDependencies?: boolean }): string[] {
  const copied: string[] = [];
  const pending = [name];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (copied.includes(next)) continue;
    const source = path.join(fromNodeModules, next);
    if (!existsSync(path.join(source, "package.json"))) throw new Error(`${next} is not installed in ${fromNodeModules}; run npm ci`);
    cpSync(source, path.join(toNodeModules, next), {
      recursive: true,
      filter: next === "better-sqlite3" ? (file) => keepBetterSqliteRuntime(path.relative(source, file)) : undefined,
    });
    copied.push(next);
    if (!options.dependencies) continue;
    const manifest = JSON.parse(readFileSync(path.join(source, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dependency of Object.keys(manifest.dependencies ?? {})) {
      if (!existsSync(path.join(source, "node_modules", dependency))) pending.push(dependency);
    }
    if (!options.optionalDependencies) continue;
    // Only the optional packages npm installed here (such as this platform's esbuild binary).
    for (const dependency of Object.keys(manifest.optionalDependencies ?? {})) {
      const nested = existsSync(path.join(source, "node_modules", dependency));
      if (!nested && existsSync(path.join(fromNodeModules, dependency, "package.json"))) pending.push(dependency);
    }
  }
  return copied;
}

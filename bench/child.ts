/** Child processes timed from spawn to exit, with their peak memory. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** How one child run went. */
export interface ChildRun {
  readonly ms: number;
  /** Peak resident set size in MiB, or null when not recorded. */
  readonly rssMiB: number | null;
  readonly status: number | null;
  /** Empty unless `captureStdout`. */
  readonly stdout: string;
  readonly stderr: string;
}

/** Where and how a child runs. */
export interface ChildOptions {
  readonly cwd: string;
  readonly measureRss?: boolean;
  /** The runtime to start; default this process's Node. */
  readonly executable?: string;
  readonly captureStdout?: boolean;
  /** Variables set for the child (an `undefined` one is removed), on top of this process's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const rssReporter = new URL("report-rss.mjs", import.meta.url).href;

/** The loader that runs TypeScript the way development does. */
export const tsxLoader = import.meta.resolve("tsx");

/**
 * Runs `node [nodeArgs] script args` in `cwd`, timing spawn to exit. With `measureRss`, a preload
 * records the peak RSS; it is off for start-up figures, since the preload would itself cost time.
 * `executable` replaces this process's Node (another Node, or Bun).
 */
export function runChild(nodeArgs: readonly string[], script: string, args: readonly string[], options: ChildOptions): ChildRun {
  const rssDir = options.measureRss ? mkdtempSync(path.join(tmpdir(), "stepwise-bench-rss-")) : null;
  const rssFile = rssDir ? path.join(rssDir, "rss") : null;
  const preload = rssFile ? ["--import", rssReporter] : [];
  try {
    const started = performance.now();
    const result = spawnSync(options.executable ?? process.execPath, [...preload, ...nodeArgs, script, ...args], {
      cwd: options.cwd,
      // Node's spawn leaves out a variable whose value is undefined.
      env: { ...process.env, NO_COLOR: "1", ...(rssFile ? { STEPWISE_BENCH_RSS_FILE: rssFile } : {}), ...options.env },
      stdio: ["ignore", options.captureStdout ? "pipe" : "ignore", "pipe"],
      encoding: "utf8",
    });
    const ms = performance.now() - started;
    let rssMiB: number | null = null;
    if (rssFile) {
      try {
        rssMiB = Number(readFileSync(rssFile, "utf8")) / 1024;
      } catch {
        rssMiB = null;
      }
    }
    return { ms, rssMiB, status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
  } finally {
    if (rssDir) rmSync(rssDir, { recursive: true, force: true });
  }
}

/** Like {@link runChild}, but throws when the child failed, so a broken figure is never reported. */
export function runChildOrThrow(nodeArgs: readonly string[], script: string, args: readonly string[], options: ChildOptions & { expectStatus?: number }): ChildRun {
  const run = runChild(nodeArgs, script, args, options);
  if (run.status !== (options.expectStatus ?? 0)) {
    throw new Error(`${path.basename(script)} ${args.join(" ")} exited with ${run.status}:\n${run.stderr}`);
  }
  return run;
}

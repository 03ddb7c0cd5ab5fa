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
  readonly stderr: string;
}

const rssReporter = new URL("report-rss.mjs", import.meta.url).href;

/** The loader that runs TypeScript the way development does. */
export const tsxLoader = import.meta.resolve("tsx");

/**
 * Runs `node [nodeArgs] script args` in `cwd`, timing spawn to exit. With `measureRss`, a preload
 * records the peak RSS; it is off for start-up figures, since the preload would itself cost time.
 */
export function runChild(nodeArgs: readonly string[], script: string, args: readonly string[], options: { cwd: string; measureRss?: boolean }): ChildRun {
  const rssDir = options.measureRss ? mkdtempSync(path.join(tmpdir(), "stepwise-bench-rss-")) : null;
  const rssFile = rssDir ? path.join(rssDir, "rss") : null;
  const preload = rssFile ? ["--import", rssReporter] : [];
  try {
    const started = performance.now();
    const result = spawnSync(process.execPath, [...preload, ...nodeArgs, script, ...args], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: "1", ...(rssFile ? { STEPWISE_BENCH_RSS_FILE: rssFile } : {}) },
      stdio: ["ignore", "ignore", "pipe"],
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
    return { ms, rssMiB, status: result.status, stderr: result.stderr ?? "" };
  } finally {
    if (rssDir) rmSync(rssDir, { recursive: true, force: true });
  }
}

/** Like {@link runChild}, but throws when the child failed, so a broken figure is never reported. */
export function runChildOrThrow(nodeArgs: readonly string[], script: string, args: readonly string[], options: { cwd: string; measureRss?: boolean; expectStatus?: number }): ChildRun {
  const run = runChild(nodeArgs, script, args, options);
  if (run.status !== (options.expectStatus ?? 0)) {
    throw new Error(`${path.basename(script)} ${args.join(" ")} exited with ${run.status}:\n${run.stderr}`);
  }
  return run;
}

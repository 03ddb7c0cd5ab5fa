/**
 * `stepwise gen --watch`: an ordinary `gen` on every change of the migrations folder (subfolders
 * included), so the runtime commands' stale-registry refusal never stands in the way while editing.
 * A failed run keeps the old registry and the watch goes on; runs never overlap.
 */
import { watch } from "node:fs";
import path from "node:path";
import type { CliContext } from "../src/cli/cli-props.js";
import { generateRegistry, type GenerateOptions } from "./generate.js";
import { printProblems } from "./problems.js";

/** How long the folder must stay quiet before a run starts (an editor's save is several events). */
export const DEFAULT_WATCH_DEBOUNCE_MS = 150;

/** Runs `gen` until SIGINT or SIGTERM (exit 0); a folder that cannot be watched (missing, removed) ends it with exit code 1. */
export async function watchAndGenerate(options: Omit<GenerateOptions, "check">, context: CliContext, debounceMs = DEFAULT_WATCH_DEBOUNCE_MS): Promise<void> {
  const folder = path.relative(options.projectRoot, options.migrationsDir) || ".";
  const label = path.relative(options.projectRoot, options.registryFile);
  const report = (error: unknown) => context.io.stderr(`${context.palette.red(`error [${(error as NodeJS.ErrnoException).code ?? "WATCH_FAILED"}]`)}: ${(error as Error).message}\n`);
  const stop = new AbortController();
  let running = false;
  let pending = false;
  const run = async (): Promise<void> => {
    if (running) {
      pending = true;
      return;
    }
    running = true;
    do {
      pending = false;
      try {
        const result = await generateRegistry({ ...options, check: false });
        if (!result.ok) {
          printProblems(result.problems, context);
          context.io.stderr(`Kept the old registry; watching ${folder} for changes.\n`);
        } else {
          const what = result.status === "unchanged" ? `${label} is up to date` : `Wrote ${label}`;
          context.io.stdout(`${context.palette.green(`${what} (${result.migrationCount} migration${result.migrationCount === 1 ? "" : "s"}, latest version ${result.latestVersion}).`)}\n`);
        }
      } catch (error) {
        report(error);
      }
    } while (pending && !stop.signal.aborted);
    running = false;
  };
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    // Watching starts before the first run, so a change made while it runs is never missed.
    let watcher;
    try {
      watcher = watch(options.migrationsDir, { recursive: true });
    } catch (error) {
      await run();
      report(error);
      context.setExitCode(1);
      return;
    }
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (failed: boolean) => {
        clearTimeout(timer);
        watcher.close();
        if (failed) context.setExitCode(1);
        resolve();
      };
      watcher.on("change", () => {
        clearTimeout(timer);
        timer = setTimeout(() => void run(), debounceMs);
      });
      // The folder itself went away (deleted, unmounted): report it and stop rather than hang.
      watcher.on("error", (error) => {
        report(error);
        finish(true);
      });
      void run().then(() => {
        context.io.stderr(`Watching ${folder} for changes; Ctrl-C stops.\n`);
        if (stop.signal.aborted) finish(false);
        else stop.signal.addEventListener("abort", () => finish(false), { once: true });
      });
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

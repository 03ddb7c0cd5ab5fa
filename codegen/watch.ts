/**
 * `stepwise gen --watch`: an ordinary `gen` on every change of the migrations folder (subfolders included), so the runtime commands' stale-registry refusal never stands in the way while editing. A
 * failed run keeps the old registry and the watch goes on; runs never overlap.
 */
import { watch, type FSWatcher } from "node:fs";
import path from "node:path";
import type { CliContext } from "../src/cli/cli-props.js";
import { generateRegistry, type GenerateOptions } from "./generate.js";
import { describeGenerated, printProblems } from "./problems.js";

/** How long the folder must stay quiet before a run starts (an editor's save is several events). */
export const DEFAULT_WATCH_DEBOUNCE_MS = 150;

/** Runs `gen` until SIGINT or SIGTERM (exit 0); a folder that cannot be watched (missing, removed) ends it with exit code 1. */
export async function watchAndGenerate(options: Omit<GenerateOptions, "check">, context: CliContext, debounceMs = DEFAULT_WATCH_DEBOUNCE_MS): Promise<void> {
  const folder = path.relative(options.projectRoot, options.migrationsDir) || ".";
  const report = (error: unknown) => context.io.stderr(`${context.palette.red(`error [${(error as NodeJS.ErrnoException).code ?? "WATCH_FAILED"}]`)}: ${(error as Error).message}\n`);
  const stop = new AbortController();
  // Each run waits for the one before; a change while one is queued adds nothing.
  let current = Promise.resolve();
  let queued = false;
  const run = () => {
    if (queued) return current;
    queued = true;
    current = current.then(async () => {
      queued = false;
      if (stop.signal.aborted) return;
      try {
        const result = await generateRegistry({ ...options, check: false });
        if (result.ok) context.io.stdout(`${context.palette.green(describeGenerated(result, options.projectRoot))}\n`);
        else {
          printProblems(result.problems, context);
          context.io.stderr(`Kept the old registry; watching ${folder} for changes.\n`);
        }
      } catch (error) {
        report(error);
      }
    });
    return current;
  };
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    // Watching starts before the first run, so a change made while it runs is never missed.
    let watcher: FSWatcher;
    try {
      // Closed on the signal rather than given it: Bun's watcher reports an abort as an error, which would end the watch with exit 1.
      watcher = watch(options.migrationsDir, { recursive: true });
    } catch (error) {
      await run();
      report(error);
      return context.setExitCode(1);
    }
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      watcher.on("change", () => {
        clearTimeout(timer);
        timer = setTimeout(() => void run(), debounceMs);
      });
      // The folder itself went away (deleted, unmounted): report it and stop rather than hang.
      watcher.on("error", (error) => {
        report(error);
        context.setExitCode(1);
        watcher.close();
      });
      watcher.on("close", () => {
        clearTimeout(timer);
        void current.then(resolve);
      });
      stop.signal.addEventListener("abort", () => watcher.close(), { once: true });
      void run().then(() => context.io.stderr(`Watching ${folder} for changes; Ctrl-C stops.\n`));
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

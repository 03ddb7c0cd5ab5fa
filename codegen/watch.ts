/**
 * `stepwise gen --watch`: an ordinary `gen` on every change of the migrations folder (subfolders included), so the runtime commands' stale-registry refusal never stands in the way while editing. A
 * failed run keeps the old registry and the watch goes on; runs never overlap.
 */
import { statSync, watch, type FSWatcher } from "node:fs";
import path from "node:path";
import type { CliContext } from "../src/cli/cli-props.js";
import { generateRegistry, type GenerateOptions } from "./generate.js";
import { describeGenerated, printProblems, tryOr } from "./problems.js";
import { describeThrownValue } from "../src/core/error-factories.js";

/** How long the folder must stay quiet before a run starts (an editor's save is several events). */
export const DEFAULT_WATCH_DEBOUNCE_MS = 150;

/** Runs `gen` until SIGINT or SIGTERM (exit 0); a folder that cannot be watched (missing, removed) ends it with exit code 1. */
export async function watchAndGenerate(options: Omit<GenerateOptions, "check">, context: CliContext, debounceMs = DEFAULT_WATCH_DEBOUNCE_MS): Promise<void> {
  const folder = path.relative(options.projectRoot, options.migrationsDir) || ".";
  // A stepwise error keeps its code; the folder gone is gen's MIGRATIONS_DIR_MISSING; another system error (the watch limit) keeps the system's code.
  const report = (error: unknown) => {
    const code = tryOr(() => String((error as NodeJS.ErrnoException).code ?? "WATCH_FAILED"), "WATCH_FAILED");
    context.io.stderr(`${context.palette.red(`error [${code === "ENOENT" ? "MIGRATIONS_DIR_MISSING" : code}]`)}: ${describeThrownValue(error)}\n`);
  };
  const stop = new AbortController();
  const { run, settled } = genQueue(options, context, folder, report, stop.signal);
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
      // A watcher follows the folder it opened: once that is removed or replaced (a branch switch, a restore), it sees nothing more, and the process would end with nothing said.
      let watched = folderIdentity(options.migrationsDir);
      let retired: FSWatcher | null = null; // closed to be replaced: its close does not end the watch
      const follow = (active: FSWatcher): void => {
        watcher = active;
        active.on("change", () => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            reopen();
            void run().then(watchAgain);
          }, debounceMs);
        });
        // The folder itself went away (deleted, unmounted): report it and stop rather than hang.
        active.on("error", (error) => {
          report(error);
          context.setExitCode(1);
          active.close();
        });
        active.on("close", () => {
          if (watcher !== active || active === retired) return;
          clearTimeout(timer);
          void settled().then(resolve);
        });
      };
      /** Closes the watcher and opens a new one on the folder; `false` when it cannot be opened, which ends the watch. */
      const replaceWatcher = (): boolean => {
        // Closed before the new one opens: Bun shares one watch per path, which closing the old watcher after would end.
        retired = watcher;
        watcher.close();
        try {
          follow(watch(options.migrationsDir, { recursive: true }));
          return true;
        } catch (error) {
          report(error);
          context.setExitCode(1);
          void settled().then(resolve);
          return false;
        }
      };
      /**
       * Before each run, a new watcher on the folder if it is still the one watched: Node's recursive watch on Linux watches each file it found when it opened, so a file replaced since (an
       * editor's atomic save, a checkout) was no longer seen. Opened before the run, so a change while it runs is seen.
       */
      const reopen = (): void => {
        if (folderIdentity(options.migrationsDir) === watched && !stop.signal.aborted) replaceWatcher();
      };
      /** After a run that found another folder than the one watched: a new watcher on it, and a run for what changed in between; no folder at all ends the watch. */
      const watchAgain = (): void => {
        const now = folderIdentity(options.migrationsDir);
        if (now === watched || stop.signal.aborted) return;
        watched = now;
        if (now === null) {
          // Not every runtime's watch() throws for a missing folder (Node 24 opens one that never reports), so it is not asked.
          report(Object.assign(new Error(`${folder} was removed, so the watch stops; run "stepwise gen --watch" again once it is back`), { code: "ENOENT" }));
          context.setExitCode(1);
          watcher.close();
          return;
        }
        if (replaceWatcher()) void run();
      };
      follow(watcher);
      stop.signal.addEventListener("abort", () => watcher.close(), { once: true });
      void run().then(() => context.io.stderr(`Watching ${folder} for changes; Ctrl-C stops.\n`));
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** `gen` runs one after another, never two at once: each waits for the one before, and a change while one is queued adds nothing. */
function genQueue(options: Omit<GenerateOptions, "check">, context: CliContext, folder: string, report: (error: unknown) => void, stop: AbortSignal) {
  let current = Promise.resolve();
  let queued = false;
  return {
    run: (): Promise<void> => {
      if (queued) return current;
      queued = true;
      current = current.then(async () => {
        queued = false;
        if (stop.aborted) return;
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
    },
    /** Settles once the run under way, and any queued, has ended. */
    settled: (): Promise<void> => current,
  };
}

/** Which folder is at `dir` now (`null`: none). The birth time tells a new folder from the old one where the file system hands out the same inode again. */
function folderIdentity(dir: string): string | null {
  return tryOr(() => {
    const stats = statSync(dir);
    return `${stats.dev}:${stats.ino}:${stats.birthtimeMs}`;
  }, null);
}

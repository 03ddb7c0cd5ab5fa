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

/** How long a removed migrations folder may stay away before the watch ends: a branch switch or a restore that takes a few seconds puts it back well within it. */
export const FOLDER_RETURN_MS = 10_000;
/** How often the watch looks for a removed folder to be back. */
const FOLDER_POLL_MS = 100;

/** Runs `gen` until SIGINT or SIGTERM (exit 0); a folder that cannot be watched (missing at the start, or removed for longer than {@link FOLDER_RETURN_MS}) ends it with exit code 1. */
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
    await followFolder(watcher, { options, context, folder, run, settled, report, stop: stop.signal, debounceMs });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** What following the folder needs from {@link watchAndGenerate}. */
interface WatchRun {
  readonly options: Omit<GenerateOptions, "check">;
  readonly context: CliContext;
  readonly folder: string;
  readonly run: () => Promise<void>;
  readonly settled: () => Promise<void>;
  readonly report: (error: unknown) => void;
  readonly stop: AbortSignal;
  readonly debounceMs: number;
}

/** Runs `gen` on every change seen by `first` and the watchers that replace it, until a signal or a folder that cannot be watched ends the watch. */
function followFolder(first: FSWatcher, { options, context, folder, run, settled, report, stop, debounceMs }: WatchRun): Promise<void> {
  let watcher = first;
  return new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    // A watcher follows the folder it opened: once that is removed or replaced (a branch switch, a restore), it sees nothing more, and the process would end with nothing said.
    let watched = folderIdentity(options.migrationsDir);
    let retired: FSWatcher | null = null; // closed to be replaced: its close does not end the watch
    let cancelWait: (() => void) | null = null; // set while looking for a removed folder, when no watcher is open
    const fail = (error: unknown): void => {
      report(error);
      context.setExitCode(1);
      void settled().then(resolve);
    };
    const follow = (active: FSWatcher): void => {
      watcher = active;
      active.on("change", () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          reopen();
          void run().then(watchAgain);
        }, debounceMs);
      });
      // The folder itself went away (deleted, unmounted): wait for it as below if its path is empty, else report it and stop rather than hang.
      active.on("error", (error) => {
        if (active !== watcher || active === retired) return;
        if (folderIdentity(options.migrationsDir) === null && !stop.aborted) {
          watched = null;
          return waitForFolder();
        }
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
        fail(error);
        return false;
      }
    };
    /**
     * Before each run, a new watcher on the folder if it is still the one watched: Node's recursive watch on Linux watches each file it found when it opened, so a file replaced since (an
     * editor's atomic save, a checkout) was no longer seen. Opened before the run, so a change while it runs is seen.
     */
    const reopen = (): void => {
      if (watched !== null && folderIdentity(options.migrationsDir) === watched && !stop.aborted) replaceWatcher();
    };
    /** After a run that found another folder than the one watched: a new watcher on it, and a run for what changed in between; no folder at all ends the watch. */
    const watchAgain = (): void => {
      const now = folderIdentity(options.migrationsDir);
      if (now === watched || stop.aborted) return;
      watched = now;
      if (now === null) return waitForFolder();
      if (replaceWatcher()) void run();
    };
    /** The folder gone (a branch switch, a restore): watches and runs again once it is back, or ends the watch. */
    const waitForFolder = (): void => {
      const seconds = FOLDER_RETURN_MS / 1000;
      context.io.stderr(`${folder} was removed; waiting up to ${seconds} s for it to come back (a branch switch, a restore).\n`);
      clearTimeout(timer);
      retired = watcher;
      watcher.close();
      cancelWait = awaitFolder(options.migrationsDir, (back) => {
        cancelWait = null;
        if (back === null)
          return fail(Object.assign(new Error(`${folder} was removed and not back within ${seconds} s, so the watch stops; run "stepwise gen --watch" again once it is back`), { code: "ENOENT" }));
        watched = back;
        context.io.stderr(`${folder} is back; watching it again.\n`);
        if (replaceWatcher()) void run().then(watchAgain);
      });
    };
    follow(watcher);
    const onStop = () => {
      // While looking for the folder no watcher is open, whose close would end the watch.
      if (cancelWait !== null) {
        cancelWait();
        void settled().then(resolve);
      }
      watcher.close();
    };
    stop.addEventListener("abort", onStop, { once: true });
    void run().then(() => context.io.stderr(`Watching ${folder} for changes; Ctrl-C stops.\n`));
  });
}

/**
 * Calls `done` with the identity of the folder at `dir` once one is there, or with `null` once {@link FOLDER_RETURN_MS} has passed; the function returned stops looking. Polled: not every runtime's
 * watch() throws for a missing folder (Node 24 opens one that never reports).
 */
function awaitFolder(dir: string, done: (identity: string | null) => void): () => void {
  const deadline = Date.now() + FOLDER_RETURN_MS;
  const poll = setInterval(() => {
    const back = folderIdentity(dir);
    if (back === null && Date.now() < deadline) return;
    clearInterval(poll);
    done(back);
  }, FOLDER_POLL_MS);
  return () => clearInterval(poll);
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

/**
 * `stepwise gen --watch`: regenerates the registry whenever the migrations folder changes, so the
 * runtime commands' stale-registry refusal never stands in the way while editing.
 *
 * Each run is an ordinary `gen` (the same atomic write, the same cache), so a run that fails leaves
 * the old registry exactly as it was and the watch goes on. Changes are debounced (an editor's save
 * is several events), and runs never overlap: a change during a run schedules one more run after it.
 */
import { watch, type FSWatcher } from "node:fs";
import { generateRegistry, type GenerateOptions, type GenerateResult } from "./generate.js";

/** How long the folder must stay quiet before a run starts. */
export const DEFAULT_WATCH_DEBOUNCE_MS = 150;

/** Options for {@link watchMigrations}: those of `gen`, plus how to report and when to stop. */
export interface WatchMigrationsOptions extends Omit<GenerateOptions, "check"> {
  /** Called after every run, the first included; a thrown I/O failure (a full disk) comes as `error`. */
  readonly onRun: (outcome: { readonly result: GenerateResult } | { readonly error: unknown }) => void;
  /** Called once the first run is done and changes are being watched. */
  readonly onReady?: () => void;
  /** Stops the watch; the returned promise then resolves. */
  readonly signal: AbortSignal;
  /** Default {@link DEFAULT_WATCH_DEBOUNCE_MS}. */
  readonly debounceMs?: number;
}

/**
 * Runs `gen` once, then again after each change under `migrationsDir` (subfolders included, so a
 * local helper in `migrations/lib/` counts), until `signal` aborts. Files a migration imports from
 * outside the folder are not watched; the runtime commands' check still catches an edit to one.
 * Resolves `stopped` when `signal` aborts, `failed` when the folder cannot be watched.
 */
export async function watchMigrations(options: WatchMigrationsOptions): Promise<"stopped" | "failed"> {
  const { onRun, onReady, signal, debounceMs = DEFAULT_WATCH_DEBOUNCE_MS, ...genOptions } = options;
  let running = false;
  let pending = false;
  let timer: NodeJS.Timeout | undefined;

  const run = async (): Promise<void> => {
    if (running) {
      pending = true;
      return;
    }
    running = true;
    try {
      do {
        pending = false;
        try {
          onRun({ result: await generateRegistry({ ...genOptions, check: false }) });
        } catch (error) {
          onRun({ error });
        }
      } while (pending && !signal.aborted);
    } finally {
      running = false;
    }
  };

  // Watching starts before the first run, so a change made while it runs is never missed.
  let watcher: FSWatcher;
  try {
    watcher = watch(genOptions.migrationsDir, { recursive: true });
  } catch (error) {
    await run();
    onRun({ error });
    return "failed";
  }
  return new Promise((resolve) => {
    const stop = (how: "stopped" | "failed") => {
      clearTimeout(timer);
      watcher.close();
      resolve(how);
    };
    watcher.on("change", () => {
      clearTimeout(timer);
      timer = setTimeout(() => void run(), debounceMs);
    });
    // The folder itself went away (deleted, unmounted): report it and stop rather than hang.
    watcher.on("error", (error) => {
      onRun({ error });
      stop("failed");
    });
    void run().then(() => {
      onReady?.();
      if (signal.aborted) stop("stopped");
      else signal.addEventListener("abort", () => stop("stopped"), { once: true });
    });
  });
}

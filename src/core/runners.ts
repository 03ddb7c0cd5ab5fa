/** The two runners of the executor's steps: the sync one never awaits; the async one awaits each operation, bodies included. */
import { StepwiseError } from "./errors.js";
import { classifySafely, nativeCauseOf, recordElapsed, recordNativeError } from "./error-factories.js";
import { quietly } from "./define-driver.js";
import { driverEntry, type Driver } from "./driver.js";
import { isThenable, type Operation, type Step } from "./step.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";
import { NUL_IN_SQL } from "./sql-location.js";

/** A sync runner met a promise: an async driver primitive, or an async migration body. */
export function asyncInSyncRunnerError(source: string, message: string, fix: string | null = null): StepwiseError<"ASYNC_IN_SYNC_RUNNER"> {
  return new StepwiseError("ASYNC_IN_SYNC_RUNNER", fix === null ? message : `${message} ${fix}`, { source, fix });
}

/** Drives `step` on a sync driver; a body refused for returning a promise gets the connection fenced until it settles. `ASYNC_IN_SYNC_RUNNER` for any promise. */
export function runSync<T>(step: Step<T>, driver: Driver): T {
  const refused: PromiseLike<unknown>[] = [];
  try {
    return driveSync(step, driver, refused).value as T;
  } finally {
    for (const settled of refused) driver.fenceWritesUntil?.(settled);
  }
}

/** What the step is fed next: a value, or the error to throw into it. */
type Next = { readonly failed: boolean; readonly value: unknown };

const NOTHING: Next = { failed: false, value: undefined };

/** Thrown through a driver's write section when the step asked for a rollback. */
const ROLLBACK = Symbol("rollback");

/** Drives `step` from `next`: to its end, or inside a write section (`section`) until it commits or rolls back. */
function driveSync<T>(step: Step<T>, driver: Driver, refused: PromiseLike<unknown>[], next: Next = NOTHING, section = false): IteratorResult<Operation, T> {
  for (;;) {
    const result = resume(step, next.failed, next.value, driver);
    if (result.done || (section && (result.value.op === "commit" || result.value.op === "rollback"))) return result;
    const fed = result.value.op === "begin" && driver.writeSection && !section ? runWriteSection(step, driver, driver.writeSection.bind(driver), refused) : performNow(driver, result.value, refused);
    if ("done" in fed) return fed;
    next = fed;
  }
}

function performNow(driver: Driver, operation: Operation, refused: PromiseLike<unknown>[]): Next {
  const started = performance.now();
  try {
    return { failed: false, value: waitingOutBusy(driver, operation, started, () => performSync(driver, operation, refused)) };
  } catch (error) {
    recordElapsed(error, performance.now() - started);
    return { failed: true, value: error };
  }
}

function performSync(driver: Driver, operation: Operation, refused: PromiseLike<unknown>[]): unknown {
  const value = perform(driver, operation, false, refused);
  if (isThenable(value)) {
    // Nobody will await it, and an unhandled rejection would crash the app later.
    value.then(undefined, () => undefined);
    throw asyncInSyncRunnerError(operation.op, `The driver's "${operation.op}" returned a promise; an async driver needs the async entry.`);
  }
  return value;
}

/** The operations SQLite refuses whole when another connection holds the lock, so that running them again is safe: BEGIN, COMMIT (the transaction stays open), a statement outside a transaction. */
const REFUSED_WHOLE_ON_BUSY: ReadonlySet<string> = new Set(["begin", "commit", "query", "run"]);

/** Pause between attempts; each attempt also waits in SQLite's own busy handler. */
const BUSY_RETRY_PAUSE_MS = 10;

/** `perform`s `operation` on a sync driver, running it again while SQLITE_BUSY refuses it whole ({@link retryWhileBusy}). */
function waitingOutBusy(driver: Driver, operation: Operation, started: number, perform: () => unknown): unknown {
  const { op } = operation;
  if (!REFUSED_WHOLE_ON_BUSY.has(op)) return perform();
  // Read before the attempt: SQLite may roll back the whole transaction on SQLITE_BUSY, and a statement of that transaction run again would then commit alone.
  const outsideTransaction = (op !== "query" && op !== "run") || !driver.inTransaction();
  return retryWhileBusy(driver, perform, started, outsideTransaction);
}

/**
 * `attempt` on a sync SQLite driver, run again while SQLITE_BUSY refuses it, until the clock reaches the connection's busy timeout (counted from `started`). SQLite's busy handler
 * counts its sleeps, not the time: a signal sent to the thread (a sampling profiler's, every 1 to 10 ms, as production profilers run) cuts each sleep short, and a 5-second wait ends
 * in well under a second. Each attempt gives SQLite what is left of the timeout. `refusedWhole`: whether SQLite refuses the attempt whole, so running it again is safe,
 * judged before the attempt. Only SQLITE_BUSY is waited out: SQLITE_LOCKED is a conflict within the connection, which waiting cannot end.
 */
export function retryWhileBusy<T>(driver: Driver, attempt: () => T, started = performance.now(), refusedWhole = true): T {
  try {
    return attempt();
  } catch (error) {
    if (!isBusy(driver, error) || !refusedWhole) throw error;
    const busyTimeoutMs = quietly(() => driver.getBusyTimeout());
    if (typeof busyTimeoutMs !== "number") throw error;
    let last = error;
    try {
      for (;;) {
        const left = busyTimeoutMs - (performance.now() - started);
        if (left <= 0 || !sleepSync(Math.min(left, BUSY_RETRY_PAUSE_MS))) throw last;
        try {
          void driver.setBusyTimeout(Math.max(1, Math.ceil(busyTimeoutMs - (performance.now() - started))));
        } catch {
          // Without what is left of the timeout, an attempt could wait the whole of it again: the wait ends with SQLITE_BUSY, not with the setting's own error.
          throw last;
        }
        try {
          return attempt();
        } catch (again) {
          if (!isBusy(driver, again)) throw again;
          last = again;
        }
      }
    } finally {
      quietly(() => driver.setBusyTimeout(busyTimeoutMs));
    }
  }
}

function isBusy(driver: Driver, error: unknown): boolean {
  return classifyOn(driver, error).nativeCode?.startsWith("SQLITE_BUSY") ?? false;
}

/** The driver's reading of `error`; never throws. */
const classifyOn = (driver: Driver, error: unknown) => classifySafely((value) => driver.classifyError(value), error);

/** Blocks the thread for `ms`; false where it may not block (workerd, a browser's main thread). */
function sleepSync(ms: number): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ms));
    return true;
  } catch {
    return false;
  }
}

/** Drives `step`, which just yielded `begin`, inside the driver's callback write section until it commits or rolls back; a step that ends inside it is rolled back. */
function runWriteSection<T>(step: Step<T>, driver: Driver, writeSection: (body: () => void) => void, refused: PromiseLike<unknown>[]): Next | IteratorReturnResult<T> {
  let ended: IteratorResult<Operation, T> | undefined;
  let thrown: { error: unknown } | undefined;
  try {
    writeSection(() => {
      try {
        ended = driveSync(step, driver, refused, NOTHING, true);
      } catch (error) {
        thrown = { error };
        throw error;
      }
      if (ended.done || ended.value.op === "rollback") throw ROLLBACK;
    });
  } catch (error) {
    if (thrown) throw thrown.error;
    if (ended?.done) return ended as IteratorReturnResult<T>;
    // Anything but the step's own rollback is the section failing (its commit), which the step is told about.
    if (error !== ROLLBACK) return { failed: true, value: error };
  }
  return NOTHING;
}

/** Drives `step` to completion against a driver whose primitives may return promises. */
export async function runAsync<T>(step: Step<T>, driver: Driver): Promise<T> {
  let failed = false;
  let value: unknown;
  for (;;) {
    const result: IteratorResult<Operation, T> = resume(step, failed, value, driver);
    if (result.done) return result.value;
    const started = performance.now();
    try {
      const operation = result.value;
      value = await (driver.async ? perform(driver, operation, true, null) : waitingOutBusy(driver, operation, started, () => perform(driver, operation, true, null)));
      failed = false;
    } catch (error) {
      recordElapsed(error, performance.now() - started);
      failed = true;
      value = error;
    }
  }
}

/** Feeds `value` into the step, or throws it there; the error it ends with gets the driver's reading of the library error it wraps. */
function resume<T>(step: Step<T>, failed: boolean, value: unknown, driver: Driver): IteratorResult<Operation, T> {
  try {
    return failed ? step.throw(value) : step.next(value);
  } catch (error) {
    const cause = error instanceof StepwiseError && error.nativeCode === null ? nativeCauseOf(error) : undefined;
    if (cause !== undefined) recordNativeError(error as StepwiseError, classifyOn(driver, cause));
    throw error;
  }
}

/** Performs one operation; `refused` collects the sync runner's refused bodies (`null`: the async runner). */
function perform(driver: Driver, operation: Operation, async: boolean, refused: PromiseLike<unknown>[] | null): unknown {
  switch (operation.op) {
    case "runBody":
      return runBody(driver, operation, refused);
    case "checkBody":
      if (operation.entry.kind === "ts") checkBody(driver, operation.entry, operation.direction, refused !== null);
      return undefined;
    case "sleep":
      // The sync runner blocks the thread: it must not yield to the event loop. False where it may not block (workerd, a browser's main thread).
      if (async) return new Promise<void>((resolve) => setTimeout(resolve, operation.ms));
      return sleepSync(operation.ms);
    case "call":
      return operation.action(driver);
    default: {
      const method = driver[operation.op] as ((...args: unknown[]) => unknown) | undefined;
      // A copy the driver opened (a rehearsal's) may lack the lock sidecar.
      return method ? method.apply(driver, operation.args) : { holdOwnerLock: null, probeOwnerLock: "unknown", lockHolders: [] }[operation.op as string];
    }
  }
}

function runBody(driver: Driver, operation: Extract<Operation, { op: "runBody" }>, refused: PromiseLike<unknown>[] | null): unknown {
  const { entry, direction, progress } = operation;
  if (entry.kind === "sql") {
    const sql = direction === "up" ? entry.upSql : entry.downSql;
    if (sql === null) throw new Error("it has no down section");
    // The registry check reads no SQL behind a getter (an older gen's registry builds it when read): SQLite would stop at a NUL and the rest be recorded as applied unrun.
    if (sql.includes("\0")) throw new Error(NUL_IN_SQL);
    return driver.exec(sql);
  }
  if (typeof (direction === "up" ? entry.module.up : entry.module.down) !== "function") throw new Error(`it has no ${direction} function`);
  checkBody(driver, entry, direction, refused !== null);
  const result = driver.runBody(entry, direction, driver.createContext(entry, direction, progress));
  if (refused !== null && isThenable(result)) {
    // Kept for the fence; settled quietly, since nobody will await it.
    result.then(undefined, () => undefined);
    refused.push(result);
    throw asyncBodyRefusal(driver, direction, `returned a promise (rolled back${driver.fenceWritesUntil ? "; the connection refuses writes until it settles" : ""})`);
  }
  return result;
}

/** Refuses before the call a body this runner cannot run: a generator function, and on the sync runner an `async` one (by its tag; a transpiled one is caught at its promise). */
function checkBody(driver: Driver, entry: MigrationEntry & { kind: "ts" }, direction: MigrationDirection, sync: boolean): void {
  let tag = "";
  try {
    tag = Object.prototype.toString.call(direction === "up" ? entry.module.up : entry.module.down);
  } catch {
    // A revoked Proxy: its call reports the failure.
  }
  if (tag === "[object GeneratorFunction]" || (!sync && tag === "[object AsyncGeneratorFunction]"))
    throw new Error(`its ${direction} is a generator function, so calling it would run none of its code; make it a plain function`);
  if (sync && /^\[object Async(Generator)?Function\]$/.test(tag)) throw asyncBodyRefusal(driver, direction, "is async (not called)");
}

function asyncBodyRefusal(driver: Driver, direction: MigrationDirection, what: string): StepwiseError<"ASYNC_IN_SYNC_RUNNER"> {
  const fix = driver.asyncBodyFix ?? `Declare ${direction} async, run "stepwise gen", and apply it with migrateAsync from "${driverEntry(driver.name)}".`;
  return asyncInSyncRunnerError(direction, `${direction} ${what}: the sync API of ${driver.name} cannot await it inside its transaction.`, fix);
}

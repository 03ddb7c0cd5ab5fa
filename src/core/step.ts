/** The executor's vocabulary: its generators yield {@link Operation}s that a runner performs on a driver, and receive their results. */
import type { MigrationDirection, MigrationEntry } from "./types.js";
import type { BatchStatement, Driver, Row } from "./driver.js";
import { transactionOpenError } from "./error-factories.js";

type DriverCall =
  "query" | "run" | "exec" | "begin" | "commit" | "rollback" | "inTransaction" | "changeCounter" | "getBusyTimeout" | "setBusyTimeout" | "batch" | "holdOwnerLock" | "probeOwnerLock" | "lockHolders";

/** A request from the executor to its runner. */
export type Operation =
  | { [K in DriverCall]: { readonly op: K; readonly args: Parameters<NonNullable<Driver[K]>> } }[DriverCall]
  /** Runs a migration's body on the native connection. */
  | { readonly op: "runBody"; readonly entry: MigrationEntry; readonly direction: MigrationDirection; readonly progress: (done: number, total: number | null) => void }
  /** Refuses a TypeScript body this runner cannot run (an `async` one, on the sync runner). */
  | { readonly op: "checkBody"; readonly entry: MigrationEntry; readonly direction: MigrationDirection }
  /** Waits (blocking in the sync runner). */
  | { readonly op: "sleep"; readonly ms: number }
  /** Runs `action` on the runner's driver; result: what it returns. */
  | { readonly op: "call"; readonly action: (driver: Driver) => unknown };

/** A step of the algorithm: a generator of operations that finally returns `T`. */
export type Step<T> = Generator<Operation, T, unknown>;

/** Calls the driver's primitive `op` with `args`. */
export function* callDriver<K extends DriverCall>(op: K, ...args: Parameters<NonNullable<Driver[K]>>): Step<Awaited<ReturnType<NonNullable<Driver[K]>>>> {
  return (yield { op, args } as Operation) as Awaited<ReturnType<NonNullable<Driver[K]>>>;
}

/** Reads rows. */
export function* query<T = Row>(sql: string, params: readonly unknown[] = []): Step<T[]> {
  return (yield* callDriver("query", sql, params)) as T[];
}

/** Reads the first column of the first row (a PRAGMA's value, a count). */
export function* queryValue<T = unknown>(sql: string, params: readonly unknown[] = []): Step<T | undefined> {
  const row = (yield* query(sql, params))[0];
  return row === undefined ? undefined : (Object.values(row)[0] as T);
}

/** Runs one write statement. */
export const run = (sql: string, params: readonly unknown[] = []): Step<{ changes: number }> => callDriver("run", sql, params);
/** Runs statements without bound values. */
export const exec = (sql: string): Step<void> => callDriver("exec", sql);
/** Opens the write section (`BEGIN IMMEDIATE` on SQLite); `head`: the `SET TRANSACTION` statements it must start with (PostgreSQL). */
export const begin = (mode: "immediate" | "deferred" = "immediate", head = ""): Step<void> => callDriver("begin", mode, head);
/** Commits the write section. */
export const commit = (): Step<void> => callDriver("commit");
/** Whether a transaction is open on the connection. */
export const inTransaction = (): Step<boolean> => callDriver("inTransaction");
/** The driver's change counter, or `null` when it has none. */
export const changeCounter = (): Step<number | null> => callDriver("changeCounter");

/** Whether `value` is a promise or another thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function";
}

/**
 * Lets a listener's result go: an event is a notification, so a promise a listener returns is not awaited, and its rejection, left unhandled, would end the process (on the async
 * runner, mid-run).
 */
export function ignoreRejection(result: unknown): void {
  if (isThenable(result)) Promise.resolve(result).catch(() => undefined);
}

/** Rolls back when a transaction is open; never throws. */
export function* rollbackQuietly(): Step<void> {
  if (yield* inTransaction()) yield* callDriver("rollback");
}

/** The writes `step` would make, collected as batch statements instead of run (each `run` reported as one changed row); a read is refused. */
export function collectWrites(step: Step<unknown>): BatchStatement[] {
  const statements: BatchStatement[] = [];
  let result = step.next();
  while (!result.done) {
    const operation = result.value;
    if (operation.op === "run" || operation.op === "exec") statements.push({ sql: operation.args[0], params: operation.args[1] ?? [] });
    else throw new Error(`a batched write cannot perform "${operation.op}"`);
    result = step.next(operation.op === "run" ? { changes: 1 } : undefined);
  }
  return statements;
}

/** Throws `TRANSACTION_OPEN` when the connection is inside a transaction: an operation that starts its own would, cleaning up after a failed `BEGIN`, throw away the app's writes. */
export function* refuseOpenTransaction(driver: string, operation: string): Step<void> {
  if (yield* inTransaction()) throw transactionOpenError({ driver, operation });
}

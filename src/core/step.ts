/**
 * The vocabulary of the sans-I/O executor: its generators yield {@link Operation}s and receive their
 * results; a runner (`runners.ts`) performs each on a driver, synchronously or by awaiting it.
 */
import type { MigrationDirection, MigrationEntry } from "./types.js";
import type { BatchStatement, Driver, Row } from "./driver.js";

/** A request from the executor to its runner. Each result type is noted beside the operation. */
export type Operation =
  /** Rows of a read. Result: `Row[]`. */
  | { readonly op: "query"; readonly sql: string; readonly params: readonly unknown[] }
  /** One write statement with bound values. Result: `{ changes: number }`. */
  | { readonly op: "run"; readonly sql: string; readonly params: readonly unknown[] }
  /** Statements without bound values, possibly several. Result: none. */
  | { readonly op: "exec"; readonly sql: string }
  /** Opens the write section. Result: none. */
  | { readonly op: "begin"; readonly mode: "immediate" | "deferred" }
  /** Result: none. */
  | { readonly op: "commit" }
  /** Result: none; never throws. */
  | { readonly op: "rollback" }
  /** Result: `boolean`. */
  | { readonly op: "inTransaction" }
  /** Result: `number | null` (null: the driver has no counter). */
  | { readonly op: "changeCounter" }
  /** Result: `number`. */
  | { readonly op: "getBusyTimeout" }
  /** Result: none. */
  | { readonly op: "setBusyTimeout"; readonly ms: number }
  /** Runs a migration's body on the native connection. Result: none. */
  | { readonly op: "runBody"; readonly entry: MigrationEntry; readonly direction: MigrationDirection; readonly progress: (done: number, total: number | null) => void }
  /** Refuses a TypeScript body this runner cannot run to its end (an `async` one, on the sync runner). Result: none. */
  | { readonly op: "checkBody"; readonly entry: MigrationEntry; readonly direction: MigrationDirection }
  /** Waits (blocking in the sync runner, a timer in the async one). Result: none. */
  | { readonly op: "sleep"; readonly ms: number }
  /** `statements`, then `script`'s, as one atomic batch (capability `atomicBatch`). Result: none. */
  | { readonly op: "batch"; readonly statements: readonly BatchStatement[]; readonly script: string }
  /** Takes the owner lock sidecar; result: an `OwnerLockHandle` (`driver.ts`) or `null` when the driver has none. */
  | { readonly op: "holdOwnerLock"; readonly tableName: string; readonly busyTimeoutMs: number }
  /** Result: `"held" | "free" | "unknown"`. */
  | { readonly op: "probeOwnerLock"; readonly fileName: string }
  /** Result: `LockHolder[]` (empty when the driver cannot tell). */
  | { readonly op: "lockHolders" }
  /** Runs `action` on the runner's driver (a safety net's replay on a scratch database). Result: what it returns. */
  | { readonly op: "call"; readonly action: (driver: Driver) => unknown };

/** A step of the algorithm: a generator of operations that finally returns `T`. */
export type Step<T> = Generator<Operation, T, unknown>;

/** Reads rows. */
export function* query<T = Row>(sql: string, params: readonly unknown[] = []): Step<T[]> {
  return (yield { op: "query", sql, params }) as T[];
}

/** Reads the first row, or `undefined`. */
export function* queryOne<T = Row>(sql: string, params: readonly unknown[] = []): Step<T | undefined> {
  return ((yield { op: "query", sql, params }) as T[])[0];
}

/** Reads the first column of the first row (a PRAGMA's value, a count). */
export function* queryValue<T = unknown>(sql: string, params: readonly unknown[] = []): Step<T | undefined> {
  const row = ((yield { op: "query", sql, params }) as Row[])[0];
  return row === undefined ? undefined : (Object.values(row)[0] as T);
}

/** Runs one write statement. */
export function* run(sql: string, params: readonly unknown[] = []): Step<{ changes: number }> {
  return (yield { op: "run", sql, params }) as { changes: number };
}

/** Runs statements without bound values. */
export function* exec(sql: string): Step<void> {
  yield { op: "exec", sql };
}

/** Opens the write section (`BEGIN IMMEDIATE` on SQLite). */
export function* begin(mode: "immediate" | "deferred" = "immediate"): Step<void> {
  yield { op: "begin", mode };
}

/** Commits the write section. */
export function* commit(): Step<void> {
  yield { op: "commit" };
}

/** Rolls back when a transaction is open; never throws. */
export function* rollbackQuietly(): Step<void> {
  if (yield* inTransaction()) yield { op: "rollback" };
}

/** Whether a transaction is open on the connection. */
export function* inTransaction(): Step<boolean> {
  return (yield { op: "inTransaction" }) as boolean;
}

/** The driver's change counter, or `null` when it has none. */
export function* changeCounter(): Step<number | null> {
  return (yield { op: "changeCounter" }) as number | null;
}

/** Runs `action` on the driver the step runs on and returns its result; the sync runner refuses a promise. */
export function* callWithDriver<T>(action: (driver: Driver) => T | PromiseLike<T>): Step<T> {
  return (yield { op: "call", action }) as T;
}

/**
 * The writes `step` would make, collected as batch statements instead of run (each `run` reported as
 * one changed row): the history writes of a migration applied as one batch. A read is refused.
 */
export function collectWrites(step: Step<unknown>): BatchStatement[] {
  const statements: BatchStatement[] = [];
  let result = step.next();
  while (!result.done) {
    const operation = result.value;
    if (operation.op === "run") statements.push({ sql: operation.sql, params: operation.params });
    else if (operation.op === "exec") statements.push({ sql: operation.sql, params: [] });
    else throw new Error(`a batched write cannot perform "${operation.op}"`);
    result = step.next(operation.op === "run" ? { changes: 1 } : undefined);
  }
  return statements;
}

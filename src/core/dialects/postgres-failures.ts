/**
 * What PostgreSQL can say of a migration's failure beyond the library's error (the dialect's
 * `describeMigrationFailure`): the session ended under it (`CONNECTION_LOST`, with whether the
 * migration can have been kept), a lock wait that ran past `lock_timeout` (`LOCK_TIMEOUT`, with the
 * relation and the sessions holding it), the server's DETAIL and HINT, and the invalid indexes a
 * `transaction: false` migration left (`pg_index.indisvalid`), each with the statement that drops it.
 */
import type { FailureOrigin, MigrationExecutor } from "../executor-types.js";
import type { ErrorClassification } from "../driver.js";
import type { HistoryStore } from "../history.js";
import type { MigrationDirection, MigrationEntry } from "../types.js";
import { classifySafely } from "../native-error.js";
import type { InvalidIndex, StepwiseError } from "../errors.js";
import { type LockWait, lockTimeoutError } from "../lock-timeout-error.js";
import { recordNativeError } from "../native-error.js";
import { describeInvalidIndexes } from "../invalid-indexes.js";
import { query, type Step } from "../step.js";
import { COLLATE_C, EQ, TEXT } from "./postgres-operators.js";
import { firstLineOf, lostConnectionIn } from "./postgres-connection-errors.js";
import { migrationFailedError } from "../error-factories.js";
import { connectionLostError } from "../connection-errors.js";

/**
 * Every invalid index of the database, in every schema, by schema and name; with `since`, only those
 * whose catalog rows were written after the history row `since` selects (its `xmin`, by age: a smaller
 * age is a later transaction), which was committed just before the migration ran.
 */
function invalidIndexesSql(since = ""): string {
  const newer = since === "" ? "" : `AND (SELECT pg_catalog.age(h.xmin) FROM ${since}) OPERATOR(pg_catalog.>) LEAST(pg_catalog.age(ic.xmin), pg_catalog.age(i.xmin))`;
  return `SELECT n.nspname::${TEXT} AS schema, ic.relname::${TEXT} AS name, tc.relname::${TEXT} AS "table"
  FROM pg_catalog.pg_index AS i
  JOIN pg_catalog.pg_class AS ic ON ic.oid ${EQ} i.indexrelid
  JOIN pg_catalog.pg_class AS tc ON tc.oid ${EQ} i.indrelid
  JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} ic.relnamespace
  WHERE NOT i.indisvalid ${newer}
  ORDER BY n.nspname::${TEXT} ${COLLATE_C}, ic.relname::${TEXT} ${COLLATE_C}`;
}

/** `name` as a quoted identifier, any `"` doubled. */
function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Every invalid index of the database, each with the statement that removes it. */
export function* readInvalidIndexes(): Step<InvalidIndex[]> {
  return yield* readInvalidIndexesSince("", []);
}

/** The invalid indexes of {@link invalidIndexesSql}`(since)`, each with the statement that removes it. */
function* readInvalidIndexesSince(since: string, params: readonly unknown[]): Step<InvalidIndex[]> {
  const rows = yield* query<{ schema: string; name: string; table: string }>(invalidIndexesSql(since), params);
  return rows.map((row) => ({ ...row, drop: `DROP INDEX CONCURRENTLY IF EXISTS ${quote(row.schema)}.${quote(row.name)};` }));
}

/**
 * The invalid indexes a `transaction: false` migration left: made after its history row was written,
 * just before it ran. None when they cannot be read (the session gone).
 */
function* readLeftInvalidIndexes(facts: MigrationFailureFacts): Step<InvalidIndex[]> {
  try {
    return yield* readInvalidIndexesSince(`${facts.store.quoted} AS h WHERE h.version ${EQ} ?`, [facts.entry.version]);
  } catch {
    return [];
  }
}

/** {@link readInvalidIndexes}, or none when they cannot be read (the transaction aborted, the session gone). */
function* readInvalidIndexesQuietly(): Step<InvalidIndex[]> {
  try {
    return yield* readInvalidIndexes();
  } catch {
    return [];
  }
}

/** Where the pg driver records what a statement that ran past `lock_timeout` was waiting for. */
const lockWaits = new WeakMap<object, LockWait>();

/** Records what the statement that failed with `error` was waiting for, as the driver saw it. */
export function recordLockWait(error: unknown, wait: LockWait): void {
  if (typeof error === "object" && error !== null) lockWaits.set(error, wait);
}

/** Whether `error` is PostgreSQL cancelling a statement whose `lock_timeout` ran out (not `NOWAIT`'s refusal, the same SQLSTATE). */
export function isLockTimeout(error: unknown): boolean {
  const fields = error as { code?: unknown; message?: unknown } | null;
  return fields?.code === "55P03" && typeof fields.message === "string" && /lock timeout/.test(fields.message);
}

/** `error` as `LOCK_TIMEOUT`, with the wait the driver saw, for `migration` or for none. */
export function lockTimedOut(
  error: unknown,
  lockTimeoutMs: number,
  migration: Pick<MigrationFailureFacts, "entry" | "direction" | "rolledBack"> | null,
  invalidIndexes: readonly InvalidIndex[] = [],
): StepwiseError<"LOCK_TIMEOUT"> {
  const wait = (typeof error === "object" && error !== null ? lockWaits.get(error) : undefined) ?? null;
  const where = migration === null ? {} : { version: migration.entry.version, file: migration.entry.file, direction: migration.direction };
  return lockTimeoutError({ ...where, lockTimeoutMs, wait, rolledBack: migration?.rolledBack ?? true, invalidIndexes, cause: error });
}

/** PostgreSQL's DETAIL and HINT of `error`, or of the first error down its `cause` chain that has them. */
function serverNotes(error: unknown): { detail: string | null; hint: string | null } {
  let current: unknown = error;
  // Bounded: a cause chain is data, and a cyclic one must not hang error handling.
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    try {
      const { detail, hint, cause } = current as { detail?: unknown; hint?: unknown; cause?: unknown };
      if (typeof detail === "string" || typeof hint === "string") return { detail: typeof detail === "string" ? detail : null, hint: typeof hint === "string" ? hint : null };
      current = cause;
    } catch {
      break;
    }
  }
  return { detail: null, hint: null };
}

/** The error of a statement sent now when the session has ended (it says so), else `undefined`. */
function* sessionEndedError(): Step<unknown> {
  try {
    yield* query("SELECT 1");
  } catch (error) {
    return lostConnectionIn(error);
  }
  return undefined;
}

/** What the reading of a migration's failure works from. */
interface MigrationFailureFacts {
  readonly entry: MigrationEntry;
  readonly direction: MigrationDirection;
  readonly cause: unknown;
  /** False for a `transaction: false` migration's body, whose statements committed one by one. */
  readonly rolledBack: boolean;
  readonly origin: FailureOrigin;
  /** The driver's reading of `cause`. */
  readonly classification: ErrorClassification;
  /** The history table, whose row for the migration was written just before it ran. */
  readonly store: HistoryStore;
}

/**
 * The PostgreSQL dialect's reading of a migration's failure (see the module note), or `null` where the
 * executor's usual reading holds (a full disk, a read-only server: the environment's failures).
 */
export function describePostgresMigrationFailure(lockTimeoutMs: number) {
  return function* (executor: MigrationExecutor, entry: MigrationEntry, direction: MigrationDirection, cause: unknown, rolledBack: boolean, origin: FailureOrigin): Step<StepwiseError | null> {
    let classification = classifySafely(executor.settings.classifyError, cause);
    // A migration may have replaced the client's error with its own: whether the session lives, one
    // statement tells (in an aborted transaction, the server's refusal says it does).
    const lost = classification.kind === "lost" ? lostConnectionIn(cause) : yield* sessionEndedError();
    if (lost !== undefined) classification = { kind: "lost", nativeCode: classification.nativeCode };
    const facts: MigrationFailureFacts = { entry, direction, cause, rolledBack, origin, classification, store: executor.store };
    const where = { version: entry.version, file: entry.file, direction };
    if (lost !== undefined) {
      const outcome = origin === "commit" ? "commit-unknown" : rolledBack ? "rolled-back" : "partly-applied";
      return recordNativeError(connectionLostError({ ...where, outcome, reason: firstLineOf(lost), cause }), classification);
    }
    const invalidIndexes = rolledBack ? [] : yield* readLeftInvalidIndexes(facts);
    // "already exists" for the name of an invalid index: the leftover of an earlier attempt is in the way.
    const taken = classification.nativeCode === "42P07" ? /relation "(.+)" already exists/.exec(firstLineOf(cause))?.[1] : undefined;
    if (taken !== undefined && invalidIndexes.length === 0) invalidIndexes.push(...(yield* readInvalidIndexesQuietly()).filter((index) => index.name === taken));
    if (isLockTimeout(cause)) return recordNativeError(lockTimedOut(cause, lockTimeoutMs, facts, invalidIndexes), classification);
    if (rolledBack && classification.kind !== "other") return null;
    const { detail, hint } = serverNotes(cause);
    const notes = [detail && `DETAIL: ${detail}`, hint && `HINT: ${hint}`, describeInvalidIndexes(invalidIndexes, "The database holds").trimEnd()].filter(Boolean).join("\n");
    return migrationFailedError({ ...where, cause, rolledBack, detail, hint, invalidIndexes, notes });
  };
}

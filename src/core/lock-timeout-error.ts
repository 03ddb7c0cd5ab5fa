/**
 * A statement waited for another session's lock longer than PostgreSQL's `lock_timeout`, which stepwise
 * sets for its runs (`lockTimeoutMs`): the error names the relation and the sessions holding it, as a
 * second session saw them while the statement waited.
 */
import { StepwiseError, type InvalidIndex } from "./errors.js";
import { describeInvalidIndexes } from "./invalid-indexes.js";
import type { MigrationDirection } from "./types.js";
import type { LockHolderSession } from "./errors.js";

/** What a statement was waiting for, as a second session saw it in `pg_locks`. */
export interface LockWait {
  /** The relation (`schema.name`) whose lock it waited for, or `null` for another kind of lock. */
  readonly relation: string | null;
  /**
   * `pg_locks.locktype`: `relation`, `tuple` or `transactionid` (a row another transaction changed),
   * `virtualxid` (`CREATE INDEX CONCURRENTLY` waiting for older transactions to end)...
   */
  readonly lockType: string;
  /** The mode asked for, such as `AccessExclusiveLock`. */
  readonly mode: string;
  /** The sessions it waited for (`pg_blocking_pids`). */
  readonly holders: readonly LockHolderSession[];
}

/**
 * A statement waited for another session's lock past `lock_timeout`, and PostgreSQL cancelled it. A
 * migration's transaction was rolled back (nothing of it was kept); a `transaction: false` one may
 * have applied part of itself, and a `CREATE INDEX CONCURRENTLY` there leaves an invalid index.
 */
export function lockTimeoutError(fields: {
  version?: number;
  file?: string;
  direction?: MigrationDirection;
  lockTimeoutMs: number;
  wait: LockWait | null;
  rolledBack: boolean;
  invalidIndexes?: readonly InvalidIndex[];
  cause: unknown;
}): StepwiseError<"LOCK_TIMEOUT"> {
  const { wait, lockTimeoutMs } = fields;
  const invalidIndexes = fields.invalidIndexes ?? [];
  const who = fields.version === undefined ? "A statement of stepwise's" : `Migration ${fields.version} (${fields.file}), running ${fields.direction},`;
  const limit = lockTimeoutMs > 0 ? `more than ${lockTimeoutMs} ms (lock_timeout)` : "past the session's lock_timeout";
  const what = wait === null ? "a lock" : `${wait.relation === null ? `a ${wait.lockType} lock` : `a lock on ${wait.relation}`} (${wait.mode})`;
  const holders = wait === null || wait.holders.length === 0 ? null : wait.holders;
  const held = holders === null ? "held by another session (which one was not seen: the wait began and ran out between two looks at pg_locks)" : `held by ${holders.map(describeHolder).join(", ")}`;
  const ending = holders === null ? "" : ` (or end it: ${holders.map((holder) => `SELECT pg_terminate_backend(${holder.pid});`).join(" ")})`;
  const retry = fields.version === undefined ? "run the command again" : fields.rolledBack ? `run "stepwise ${fields.direction}" again` : "";
  const fix = fields.rolledBack
    ? `wait for ${holders === null ? "that session" : holders.length === 1 ? "that session" : "those sessions"} to finish${ending}, then ${retry}; or let it wait longer with --lock-timeout <ms> (lockTimeoutMs)`
    : `remove what it left (${invalidIndexes.length > 0 ? "the invalid indexes above, and " : ""}anything else it applied), run "stepwise repair --forget ${fields.version}", then "stepwise ${fields.direction}" once ${holders === null ? "the other session" : "that session"} has finished${ending}; or let it wait longer with --lock-timeout <ms>`;
  return new StepwiseError(
    "LOCK_TIMEOUT",
    `${who} waited ${limit} for ${what}, ${held}. ` +
      (fields.rolledBack
        ? fields.version === undefined
          ? "Nothing was changed. "
          : "Its transaction was rolled back; nothing of it was kept. "
        : `It runs outside a transaction, so its statements before this one stay; it stays recorded as started.` +
          (invalidIndexes.length > 0 ? `\n${describeInvalidIndexes(invalidIndexes, "It left")}` : " ")) +
      `Fix: ${fix}.`,
    {
      version: fields.version ?? null,
      file: fields.file ?? null,
      direction: fields.direction ?? null,
      lockTimeoutMs,
      relation: wait?.relation ?? null,
      lockType: wait?.lockType ?? null,
      mode: wait?.mode ?? null,
      holders: wait?.holders ?? [],
      rolledBack: fields.rolledBack,
      invalidIndexes,
      fix,
    },
    { cause: fields.cause },
  );
}

/** `session 4242 (application "reporting", in a transaction since ..., its last query started ...)`. */
function describeHolder(holder: LockHolderSession): string {
  const facts = [
    holder.applicationName === null ? null : `application "${holder.applicationName}"`,
    holder.state === null ? null : holder.state,
    holder.transactionStart === null ? null : `in a transaction since ${holder.transactionStart}`,
    holder.queryStart === null ? null : `its query started ${holder.queryStart}`,
  ].filter((fact) => fact !== null);
  return `session ${holder.pid}${facts.length > 0 ? ` (${facts.join(", ")})` : ""}`;
}

export type { LockHolderSession } from "./errors.js";

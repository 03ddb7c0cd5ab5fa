/**
 * A statement waited for another session's lock longer than PostgreSQL's `lock_timeout`, which stepwise
 * sets for its runs (`lockTimeoutMs`): the error names the relation and the sessions holding it, as a
 * second session saw them while the statement waited.
 */
import { StepwiseError, type InvalidIndex } from "./errors.js";
import { describeInvalidIndexes } from "./invalid-indexes.js";
import type { MigrationDirection } from "./types.js";

/**
 * A session that held a lock another waited for, as `pg_stat_activity` shows it. Never its query
 * text, which may hold secrets; `null` where the server hides a field (another role's session, to a
 * role without `pg_read_all_stats`).
 */
export interface LockHolderSession {
  /** Its server process (`pg_terminate_backend(pid)` ends it). */
  readonly pid: number;
  /** Its `application_name`, or `null` when empty. */
  readonly applicationName: string | null;
  /** `active`, `idle in transaction`... */
  readonly state: string | null;
  /** When its transaction began (ISO 8601). */
  readonly transactionStart: string | null;
  /** When its current or last query began (ISO 8601). */
  readonly queryStart: string | null;
}

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
export class LockTimeoutError extends StepwiseError {
  override readonly name: string = "LockTimeoutError";
  /** The migration whose statement waited, or `null` for stepwise's own (reading the history). */
  declare readonly version: number | null;
  declare readonly file: string | null;
  declare readonly direction: MigrationDirection | null;
  /** The `lock_timeout` stepwise set (`lockTimeoutMs`); 0 when it set none and the session's or server's ran out. */
  declare readonly lockTimeoutMs: number;
  /** The relation waited for (`schema.name`), or `null` when unknown or not a relation's lock. */
  declare readonly relation: string | null;
  /** The kind of lock waited for (`pg_locks.locktype`), or `null` when the wait was not seen. */
  declare readonly lockType: string | null;
  /** The mode asked for (`AccessExclusiveLock`), or `null` when the wait was not seen. */
  declare readonly mode: string | null;
  /** The sessions that held it; empty when the wait was not seen (it began and ran out between two looks). */
  declare readonly holders: readonly LockHolderSession[];
  /** False for a `transaction: false` migration, whose statements before this one stay. */
  declare readonly rolledBack: boolean;
  /** The invalid indexes a `transaction: false` migration left, each with the statement that removes it. */
  declare readonly invalidIndexes: readonly InvalidIndex[];
  /** What to do next. */
  declare readonly fix: string;

  constructor(fields: {
    version?: number;
    file?: string;
    direction?: MigrationDirection;
    lockTimeoutMs: number;
    wait: LockWait | null;
    rolledBack: boolean;
    invalidIndexes?: readonly InvalidIndex[];
    cause: unknown;
  }) {
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
    super(
      "LOCK_TIMEOUT",
      `${who} waited ${limit} for ${what}, ${held}. ` +
        (fields.rolledBack
          ? fields.version === undefined
            ? "Nothing was changed. "
            : "Its transaction was rolled back; nothing of it was kept. "
          : `It runs outside a transaction, so its statements before this one stay; it stays recorded as started.` +
            (invalidIndexes.length > 0 ? `\n${describeInvalidIndexes(invalidIndexes, "It left")}` : " ")) +
        `Fix: ${fix}.`,
      { cause: fields.cause },
    );
    this.version = fields.version ?? null;
    this.file = fields.file ?? null;
    this.direction = fields.direction ?? null;
    this.lockTimeoutMs = lockTimeoutMs;
    this.relation = wait?.relation ?? null;
    this.lockType = wait?.lockType ?? null;
    this.mode = wait?.mode ?? null;
    this.holders = wait?.holders ?? [];
    this.rolledBack = fields.rolledBack;
    this.invalidIndexes = invalidIndexes;
    this.fix = fix;
  }
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

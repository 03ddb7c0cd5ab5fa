/**
 * Detects a migration that ended the transaction stepwise runs it in. `db.inTransaction` alone cannot
 * tell: `ROLLBACK; BEGIN` (or `COMMIT; BEGIN`) leaves a transaction open, just not ours, and recording
 * the migration in it would claim work that was thrown away or already committed on its own.
 *
 * Two markers answer two questions:
 * - a savepoint with a name no migration can guess, opened before the body: if `RELEASE` of it fails
 *   afterwards, the transaction it belonged to is gone;
 * - a temporary table created inside the transaction before the first body (the witness): SQLite's
 *   temp database commits and rolls back with the main one, so if the witness still exists after
 *   stepwise rolled back, something committed it, and with it whatever the migration had run.
 *
 * Each marker gets its own name from fresh cryptographic randomness. The witness is visible in
 * `temp.sqlite_master`, so nothing in its name may lead to the savepoint's: a migration that could
 * name our savepoint could re-create it in a transaction of its own and pass for never having left.
 *
 * The witness cannot see statements a migration runs after ending our transaction: SQLite commits
 * each of those on its own. What can be proven about them comes from signals read when our
 * transaction began, see {@link judgeEscapedCommit}.
 *
 * Both markers live only in this connection's temp schema and savepoint stack; nothing reaches the
 * database file.
 */
import type { EscapedCommit } from "./errors.js";
import { exec, inTransaction, queryOne, queryValue, type Step } from "./step.js";

/** Committed state read right after `BEGIN IMMEDIATE`, before stepwise writes anything. */
export interface TransactionStart {
  readonly schemaVersion: number;
  readonly userVersion: number;
  readonly applicationId: number;
  readonly journalMode: string;
  /** Moves whenever another connection commits; this connection's own commits leave it alone. */
  readonly dataVersion: number;
}

/** `bytes` random bytes as hex, from Web Crypto (no `node:` import in the core). */
function randomHex(bytes: number): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Unguessable and unrelated to any other marker's name, so a migration can never name ours. */
function uniqueName(kind: string): string {
  // The fixed prefix only tells a person reading temp.sqlite_master what the table is.
  return `stepwise_guard_${randomHex(16)}_${kind}_${randomHex(8)}`;
}

/**
 * Creates the witness inside the transaction just opened with `BEGIN IMMEDIATE`; returns its name.
 * Drop it with {@link dropCommitWitness} before committing.
 */
export function* createCommitWitness(): Step<string> {
  const name = uniqueName("witness");
  yield* exec(`CREATE TEMP TABLE "${name}" (unused INTEGER)`);
  return name;
}

/** Removes the witness as part of the transaction about to commit, so nothing is left behind. */
export function* dropCommitWitness(name: string): Step<void> {
  yield* exec(`DROP TABLE temp."${name}"`);
}

/**
 * After stepwise rolled back: true when the witness survived, which only a commit inside the
 * transaction can cause. Removes it in that case.
 */
function* witnessWasCommitted(name: string): Step<boolean> {
  const survived = (yield* queryOne("SELECT 1 AS found FROM temp.sqlite_master WHERE type = 'table' AND name = ?", [name])) !== undefined;
  if (survived) yield* exec(`DROP TABLE temp."${name}"`);
  return survived;
}

/**
 * What a migration that ended our transaction got committed, judged after stepwise rolled back.
 *
 * Once a migration replaced our transaction, "no" must be proven; anything short of proof is
 * `unknown`:
 * - `yes` when the witness survived (our own transaction was committed), or the schema version, user
 *   version, application id or journal mode stored in the file differ from `start`;
 * - `no` only when every signal agrees nothing was committed: no row written on this connection since
 *   `changesBeforeBody` (`total_changes()`), `PRAGMA data_version` unmoved (no other connection
 *   committed, which the migration may have opened itself). The header fields a migration can commit
 *   alone (application id, user version, schema cookie, journal mode) are compared through SQLite;
 *   the file is not read directly, which would drop this process's POSIX locks on it;
 * - `unknown` otherwise, and whenever a signal cannot be read.
 */
export function* judgeEscapedCommit(witness: string, start: TransactionStart, changesBeforeBody: number): Step<EscapedCommit> {
  try {
    if (yield* witnessWasCommitted(witness)) return "yes";
    const now = yield* readTransactionStart();
    if (
      now.schemaVersion !== start.schemaVersion ||
      now.userVersion !== start.userVersion ||
      now.applicationId !== start.applicationId ||
      now.journalMode !== start.journalMode
    ) {
      return "yes";
    }
    if ((yield* readTotalChanges()) !== changesBeforeBody || now.dataVersion !== start.dataVersion) return "unknown";
    return "no";
  } catch {
    return "unknown";
  }
}

/**
 * Reads what {@link judgeEscapedCommit} compares against. Call it right after `BEGIN IMMEDIATE`,
 * before stepwise writes: the write lock keeps the file as the last commit left it.
 */
export function* readTransactionStart(): Step<TransactionStart> {
  return {
    schemaVersion: Number(yield* queryValue<number>("PRAGMA schema_version")),
    userVersion: Number(yield* queryValue<number>("PRAGMA user_version")),
    applicationId: Number(yield* queryValue<number>("PRAGMA application_id")),
    journalMode: String(yield* queryValue<string>("PRAGMA journal_mode")).toLowerCase(),
    dataVersion: Number(yield* queryValue<number>("PRAGMA data_version")),
  };
}

/** Rows inserted, updated or deleted on this connection since it opened, committed or not. */
export function* readTotalChanges(): Step<number> {
  return (yield* queryValue<number>("SELECT total_changes()"))!;
}

/** Opens the savepoint that brackets one migration's body; returns its name. */
export function* openBodySavepoint(): Step<string> {
  const name = uniqueName("body");
  yield* exec(`SAVEPOINT "${name}"`);
  return name;
}

/**
 * Releases the body's savepoint into the surrounding transaction. Returns false when it no longer
 * exists: the migration ended or replaced the transaction (or SQLite rolled it back after an error).
 */
export function* releaseBodySavepoint(name: string): Step<boolean> {
  if (!(yield* inTransaction())) return false;
  try {
    yield* exec(`RELEASE "${name}"`);
    return true;
  } catch {
    // "no such savepoint": a new transaction, begun by the migration after ending ours.
    return false;
  }
}

/**
 * SQLite answers these errors by rolling back the whole transaction itself, so a missing savepoint
 * after one of them is SQLite's doing, not the migration's.
 * See https://www.sqlite.org/lang_transaction.html ("Response To Errors Within A Transaction").
 */
export function isAutomaticRollbackError(sqliteCode: string | null): boolean {
  if (sqliteCode === null) return false;
  return ["SQLITE_FULL", "SQLITE_IOERR", "SQLITE_BUSY", "SQLITE_NOMEM", "SQLITE_INTERRUPT"].some(
    (code) => sqliteCode === code || sqliteCode.startsWith(`${code}_`),
  );
}

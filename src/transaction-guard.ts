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
import { randomBytes } from "node:crypto";
import type { EscapedCommit } from "./errors.js";
import type BetterSqlite3 from "better-sqlite3";
import type { Database } from "./types.js";

/** Committed state read right after `BEGIN IMMEDIATE`, before stepwise writes anything. */
export interface TransactionStart {
  readonly schemaVersion: number;
  readonly userVersion: number;
  readonly applicationId: number;
  readonly journalMode: string;
  /** Moves whenever another connection commits; this connection's own commits leave it alone. */
  readonly dataVersion: number;
  /** Reserved for an on-disk check; always `null`, since reading the file would drop SQLite's locks. */
  readonly fileState: string | null;
  /** True when the database is a file, so `fileState` is needed to prove nothing was committed. */
  readonly hasFile: boolean;
}

/** Unguessable and unrelated to any other marker's name, so a migration can never name ours. */
function markerName(kind: string): string {
  // The fixed prefix only tells a person reading temp.sqlite_master what the table is.
  return `stepwise_guard_${randomBytes(16).toString("hex")}_${kind}_${randomBytes(8).toString("hex")}`;
}

/**
 * Creates the witness inside the transaction just opened with `BEGIN IMMEDIATE`; returns its name.
 * Drop it with {@link dropCommitWitness} before committing.
 */
export function createCommitWitness(db: Database): string {
  const name = markerName("witness");
  db.exec(`CREATE TEMP TABLE "${name}" (unused INTEGER)`);
  return name;
}

/** Removes the witness as part of the transaction about to commit, so nothing is left behind. */
export function dropCommitWitness(db: Database, name: string): void {
  db.exec(`DROP TABLE temp."${name}"`);
}

/**
 * After stepwise rolled back: true when the witness survived, which only a commit inside the
 * transaction can cause. Removes it in that case.
 */
function witnessWasCommitted(db: Database, name: string): boolean {
  const survived = db.prepare("SELECT 1 FROM temp.sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
  if (survived) db.exec(`DROP TABLE temp."${name}"`);
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
export function judgeEscapedCommit(db: Database, witness: string, start: TransactionStart, changesBeforeBody: number): EscapedCommit {
  try {
    if (witnessWasCommitted(db, witness)) return "yes";
    const now = readTransactionStart(db);
    if (
      now.schemaVersion !== start.schemaVersion ||
      now.userVersion !== start.userVersion ||
      now.applicationId !== start.applicationId ||
      now.journalMode !== start.journalMode
    ) {
      return "yes";
    }
    if (readTotalChanges(db) !== changesBeforeBody || now.dataVersion !== start.dataVersion) return "unknown";
    return "no";
  } catch {
    return "unknown";
  }
}

/** Statements read on every migration, prepared once per connection. */
const preparedReads = new WeakMap<Database, Record<"schemaVersion" | "userVersion" | "applicationId" | "journalMode" | "dataVersion" | "totalChanges", BetterSqlite3.Statement>>();

function reads(db: Database) {
  let statements = preparedReads.get(db);
  if (!statements) {
    statements = {
      schemaVersion: db.prepare("PRAGMA schema_version").pluck(),
      userVersion: db.prepare("PRAGMA user_version").pluck(),
      applicationId: db.prepare("PRAGMA application_id").pluck(),
      journalMode: db.prepare("PRAGMA journal_mode").pluck(),
      dataVersion: db.prepare("PRAGMA data_version").pluck(),
      totalChanges: db.prepare("SELECT total_changes()").pluck(),
    };
    preparedReads.set(db, statements);
  }
  return statements;
}

/**
 * Reads what {@link judgeEscapedCommit} compares against. Call it right after `BEGIN IMMEDIATE`,
 * before stepwise writes: the write lock keeps the file as the last commit left it.
 */
export function readTransactionStart(db: Database): TransactionStart {
  const statements = reads(db);
  const journalMode = String(statements.journalMode.get()).toLowerCase();
  return {
    schemaVersion: Number(statements.schemaVersion.get()),
    userVersion: Number(statements.userVersion.get()),
    applicationId: Number(statements.applicationId.get()),
    journalMode,
    dataVersion: Number(statements.dataVersion.get()),
    // Never read from disk with fs: closing any descriptor on the file drops every POSIX lock this
    // process holds on it, SQLite's included (see https://www.sqlite.org/howtocorrupt.html, 2.2).
    fileState: null,
    hasFile: !db.memory,
  };
}

/** Rows inserted, updated or deleted on this connection since it opened, committed or not. */
function readTotalChanges(db: Database): number {
  return Number(reads(db).totalChanges.get());
}

/** Opens the savepoint that brackets one migration's body; returns its name. */
export function openBodySavepoint(db: Database): string {
  const name = markerName("body");
  db.exec(`SAVEPOINT "${name}"`);
  return name;
}

/**
 * Releases the body's savepoint into the surrounding transaction. Returns false when it no longer
 * exists: the migration ended or replaced the transaction (or SQLite rolled it back after an error).
 */
export function releaseBodySavepoint(db: Database, name: string): boolean {
  if (!db.inTransaction) return false;
  try {
    db.exec(`RELEASE "${name}"`);
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

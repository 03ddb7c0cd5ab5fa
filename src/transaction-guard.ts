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
 * The witness cannot see statements a migration runs after ending our transaction: SQLite commits
 * each of those on its own. What can be proven about them comes from counters: `total_changes()`
 * (rows written, committed or not) and the schema and user versions stepwise read when its
 * transaction began. See {@link judgeEscapedCommit}.
 *
 * Both markers live only in this connection's temp schema and savepoint stack; nothing reaches the
 * database file.
 */
import { randomUUID } from "node:crypto";
import type { EscapedCommit } from "./errors.js";
import type { Database } from "./types.js";

/** Committed-state counters read right after `BEGIN IMMEDIATE`, before stepwise writes anything. */
export interface TransactionStart {
  readonly schemaVersion: number;
  readonly userVersion: number;
}

/** Unguessable, so a migration's own `RELEASE x` or `ROLLBACK TO x` can never name ours. */
const NAME_PREFIX = `stepwise_guard_${randomUUID().replace(/-/g, "")}`;
let nameCounter = 0;

function uniqueName(kind: string): string {
  return `${NAME_PREFIX}_${kind}_${++nameCounter}`;
}

/**
 * Creates the witness inside the transaction just opened with `BEGIN IMMEDIATE`; returns its name.
 * Drop it with {@link dropCommitWitness} before committing.
 */
export function createCommitWitness(db: Database): string {
  const name = uniqueName("witness");
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
 * What a migration that ended our transaction got committed, judged after stepwise rolled back:
 * `yes` when the witness survived or the schema or user version moved since `start`; `no` when it
 * wrote no row since `changesBeforeBody` either; `unknown` otherwise (it wrote rows, and cannot be
 * proven to have written them only inside a transaction that was rolled back).
 */
export function judgeEscapedCommit(db: Database, witness: string, start: TransactionStart, changesBeforeBody: number): EscapedCommit {
  try {
    if (witnessWasCommitted(db, witness)) return "yes";
    const now = readTransactionStart(db);
    if (now.schemaVersion !== start.schemaVersion || now.userVersion !== start.userVersion) return "yes";
    return readTotalChanges(db) === changesBeforeBody ? "no" : "unknown";
  } catch {
    return "unknown";
  }
}

/** Reads the counters {@link judgeEscapedCommit} compares against. */
function readTransactionStart(db: Database): TransactionStart {
  return {
    schemaVersion: db.pragma("schema_version", { simple: true }) as number,
    userVersion: db.pragma("user_version", { simple: true }) as number,
  };
}

/** Rows inserted, updated or deleted on this connection since it opened, committed or not. */
function readTotalChanges(db: Database): number {
  return db.prepare("SELECT total_changes()").pluck().get() as number;
}

/** Opens the savepoint that brackets one migration's body; returns its name. */
export function openBodySavepoint(db: Database): string {
  const name = uniqueName("body");
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

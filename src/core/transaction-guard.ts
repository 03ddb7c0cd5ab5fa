/**
 * Detects a migration that ended the transaction stepwise runs it in. `db.inTransaction` alone cannot
 * tell: `ROLLBACK; BEGIN` (or `COMMIT; BEGIN`) leaves a transaction open, just not ours, and recording
 * the migration in it would claim work that was thrown away or already committed on its own.
 *
 * Two markers answer two questions:
 * - a savepoint with a name no migration can guess, opened before the body: if `RELEASE` of it fails
 *   afterwards, the transaction it belonged to is gone;
 * - a token written into a temporary table inside the transaction before the first body (the
 *   witness): SQLite's temp database commits and rolls back with the main one, so if the token is
 *   still there after stepwise rolled back, something committed it, and with it whatever the
 *   migration had run.
 *
 * Each marker gets its own name from fresh cryptographic randomness, drawn once per run (per `up`,
 * `down` or `reset`), not per migration: the names only have to be unguessable by a migration and
 * distinct within this connection, and a fresh draw per run gives both. The witness is visible in
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
import { changeCounter, exec, inTransaction, query, queryValue, run, type Step } from "./step.js";

/** Committed state read right after `BEGIN IMMEDIATE`, before stepwise writes anything. */
export interface TransactionStart {
  readonly schemaVersion: number;
  /** `null` where the driver may not touch `PRAGMA user_version` (Turso refuses it): never read, never compared. */
  readonly userVersion: number | null;
  readonly applicationId: number;
  readonly journalMode: string;
  /** Moves whenever another connection commits; this connection's own commits leave it alone. */
  readonly dataVersion: number;
  /**
   * The driver's change counter at the same moment, or `null` when it has none. When it has one,
   * it is `dataVersion`'s source: the driver reads `PRAGMA data_version` for it, and reading that
   * twice per migration was the guard's costliest redundancy on the slower bindings.
   */
  readonly changeCounter: number | null;
}

/** `bytes` random bytes as hex, from Web Crypto (no `node:` import in the core). */
function randomHex(bytes: number): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** What every marker's name starts with; schema reads skip tables named so (see {@link CommitWitness.schema}). */
export const GUARD_TABLE_PREFIX = "stepwise_guard_";

/** Unguessable and unrelated to any other marker's name, so a migration can never name ours. */
export function uniqueName(kind: string): string {
  // The fixed prefix only tells a person reading temp.sqlite_master what the table is.
  return `${GUARD_TABLE_PREFIX}${randomHex(16)}_${kind}_${randomHex(8)}`;
}

/** The witness table as statements name it, schema-qualified. */
export function witnessTable(witness: CommitWitness): string {
  return `${witness.schema ?? "temp"}."${witness.table}"`;
}

/**
 * The witness of one run: a temp table made once, outside any transaction, whose single row each
 * transaction overwrites with its own token. A token that survives stepwise's rollback was
 * committed, and with it whatever the migration had run. Made once per run rather than created and
 * dropped in every transaction: DDL per migration cost more than the hand-written loop's own
 * statements, and a row write in the transaction proves the same thing.
 */
export interface CommitWitness {
  /**
   * The temp table's name, from its own randomness (it is listed in `temp.sqlite_master`). Drawn
   * again when a migration removed or replaced the table (see {@link markCommitWitness}).
   */
  table: string;
  /**
   * The schema the table lives in: `temp` unless given. A libSQL server (sqld, Turso) has no temp
   * schema and refuses `CREATE TEMP TABLE`, so its dialect puts the witness in `main`: committed with
   * the run's first guarded migration, dropped when the run ends, and skipped by schema reads
   * ({@link GUARD_TABLE_PREFIX}) should a killed run leave it behind.
   */
  readonly schema?: "temp" | "main";
  /** The token the current transaction wrote; 0 before any. */
  token: number;
}

/**
 * Creates the run's witness table, in autocommit mode so no rollback of ours can remove it. Drop it
 * with {@link dropCommitWitness} when the run ends.
 */
export function* createCommitWitness(): Step<CommitWitness> {
  const witness: CommitWitness = { table: uniqueName("witness"), token: 0 };
  yield* renewCommitWitness(witness);
  return witness;
}

/**
 * Makes the witness table again if it is gone, outside any transaction. A `transaction: false`
 * migration can remove it: changing `PRAGMA temp_store` (or restoring it afterwards) deletes every
 * temp table, and it may drop the table itself.
 */
export function* renewCommitWitness(witness: CommitWitness): Step<void> {
  const table = witnessTable(witness);
  yield* exec(`CREATE TABLE IF NOT EXISTS ${table} (token INTEGER NOT NULL); INSERT INTO ${table} (token) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM ${table})`);
}

/**
 * Marks the transaction just opened with `BEGIN IMMEDIATE`: writes a token no earlier transaction of
 * this run wrote. A counter is enough, since only this connection writes the table.
 */
export function* markCommitWitness(witness: CommitWitness): Step<number> {
  witness.token++;
  let changes: number;
  try {
    ({ changes } = yield* run(`UPDATE ${witnessTable(witness)} SET token = ?`, [witness.token]));
  } catch (error) {
    changes = yield* replaceCommitWitness(witness, error);
  }
  // An earlier migration of the run deleted the row: the row inserted now is the token, and it too
  // survives a rollback only if something committed it.
  if (changes === 0) yield* run(`INSERT INTO ${witnessTable(witness)} (token) VALUES (?)`, [witness.token]);
  return witness.token;
}

/**
 * After the witness's `UPDATE` failed: an earlier migration of the run dropped, renamed or replaced
 * the table (its name is in `temp.sqlite_master`), so a table under a fresh name, made in this
 * transaction, takes its place. A rollback removes that table too, which the verdict reads as
 * `unknown`; a commit keeps it with the token, so an escape is still proven. Any other failure (the
 * transaction is gone, the disk is full) is rethrown as it was. Returns 0: no row holds the token yet.
 */
function* replaceCommitWitness(witness: CommitWitness, failure: unknown): Step<number> {
  if (!(yield* inTransaction())) throw failure;
  const table = uniqueName("witness");
  try {
    yield* exec(`CREATE TABLE ${witness.schema ?? "temp"}."${table}" (token INTEGER NOT NULL)`);
  } catch {
    throw failure;
  }
  witness.table = table;
  return 0;
}

/** Removes the run's witness table; a connection a migration closed has none left to remove. */
export function* dropCommitWitness(witness: CommitWitness): Step<void> {
  try {
    if (yield* inTransaction()) return; // only ever called after the run's own transactions ended
    yield* exec(`DROP TABLE IF EXISTS ${witnessTable(witness)}`);
  } catch {
    // A closed connection: its temp schema went with it.
  }
}

/**
 * After stepwise rolled back: true when the token the transaction wrote survived, which only a
 * commit inside the transaction can cause.
 */
function* witnessWasCommitted(witness: CommitWitness, token: number): Step<boolean> {
  return (yield* queryValue<number>(`SELECT token FROM ${witnessTable(witness)}`)) === token;
}

/**
 * What a migration that ended our transaction got committed, judged after stepwise rolled back.
 *
 * Once a migration replaced our transaction, "no" must be proven; anything short of proof is
 * `unknown`:
 * - `yes` when the witness survived (our own transaction was committed), or the schema version, user
 *   version, application id or journal mode stored in the file differ from `start`;
 * - `no` only when every signal agrees nothing was committed: no row written on this connection since
 *   `changesBeforeBody` (`total_changes()`, and SQLite's own, see {@link totalChangesShadowed}), `PRAGMA data_version` unmoved (no other connection
 *   committed, which the migration may have opened itself). The header fields a migration can commit
 *   alone (application id, user version, schema cookie, journal mode) are compared through SQLite;
 *   the file is not read directly, which would drop this process's POSIX locks on it;
 * - `unknown` otherwise, and whenever a signal cannot be read.
 */
export function* judgeEscapedCommit(witness: CommitWitness, token: number, start: TransactionStart, changesBeforeBody: number): Step<EscapedCommit> {
  try {
    if (yield* witnessWasCommitted(witness, token)) return "yes";
    const now = yield* readTransactionStart(start.changeCounter === null ? null : yield* changeCounter(), start.userVersion !== null);
    if (now.schemaVersion !== start.schemaVersion || now.userVersion !== start.userVersion || now.applicationId !== start.applicationId || now.journalMode !== start.journalMode) {
      return "yes";
    }
    if ((yield* totalChangesShadowed()) || (yield* readTotalChanges()) !== changesBeforeBody || now.dataVersion !== start.dataVersion) return "unknown";
    return "no";
  } catch {
    return "unknown";
  }
}

/**
 * Whether an application-defined SQL function shadows SQLite's `total_changes()`. A body can register
 * one (better-sqlite3, node:sqlite, Bun and sql.js let it) that answers the count from before it
 * wrote, and, having re-made the witness table (DDL, which no count sees), pass a commit off as
 * nothing committed. Read only once an escape is found, so it costs a guarded migration nothing. A
 * SQLite built without `PRAGMA function_list` answers no rows, as unknown pragmas do.
 */
function* totalChangesShadowed(): Step<boolean> {
  const functions = yield* query<{ name: unknown; builtin: unknown }>("PRAGMA function_list");
  return functions.some((row) => String(row.name).toLowerCase() === "total_changes" && Number(row.builtin) !== 1);
}

/**
 * Reads what {@link judgeEscapedCommit} compares against, given the driver's change counter as read
 * in the same transaction. Call it after `BEGIN IMMEDIATE` and before stepwise writes anything in
 * that transaction: the write lock keeps the file as the last commit left it. Without `userVersion`
 * (a driver that declares it cannot use `PRAGMA user_version`), that pragma is not read at all.
 */
export function* readTransactionStart(counter: number | null, userVersion = true): Step<TransactionStart> {
  return {
    schemaVersion: Number(yield* queryValue<number>("PRAGMA schema_version")),
    userVersion: userVersion ? Number(yield* queryValue<number>("PRAGMA user_version")) : null,
    applicationId: Number(yield* queryValue<number>("PRAGMA application_id")),
    journalMode: String(yield* queryValue<string>("PRAGMA journal_mode")).toLowerCase(),
    // The driver's counter means the same ("moves only when another connection commits").
    dataVersion: counter ?? Number(yield* queryValue<number>("PRAGMA data_version")),
    changeCounter: counter,
  };
}

/** Rows inserted, updated or deleted on this connection since it opened, committed or not. */
export function* readTotalChanges(): Step<number> {
  return (yield* queryValue<number>("SELECT total_changes()"))!;
}

/**
 * The body savepoint's name for one run: drawn once from fresh randomness, so no migration can guess
 * it, and reused for every migration of the run, since each body's savepoint is released (or gone)
 * before the next is opened. One draw per run instead of two per migration. Its statements are never
 * cached (see {@link openBodySavepoint}).
 */
export function bodySavepointName(): string {
  return uniqueName("body");
}

/**
 * Opens the savepoint named `name` (see {@link bodySavepointName}) that brackets one migration's body.
 *
 * Through `exec`, never a cached prepared statement, and so is its `RELEASE`: the name is the proof,
 * so no statement holding it may be alive while a body runs. Where SQLite is built with the
 * `sqlite_stmt` table (libsql), a body can read the text of every live statement on its connection,
 * and with a cached `SAVEPOINT "..."` it could end our transaction, begin another and open the same
 * savepoint there, passing for never having left. An `exec` finalizes its statement before it
 * returns; parsing these two short statements costs well under a microsecond more.
 */
export function* openBodySavepoint(name: string): Step<string> {
  yield* exec(`SAVEPOINT "${name}"`);
  return name;
}

/**
 * Releases the body's savepoint into the surrounding transaction. Returns false when it no longer
 * exists: the migration ended or replaced the transaction (or SQLite rolled it back after an error).
 */
export function* releaseBodySavepoint(name: string): Step<boolean> {
  // No separate "in a transaction?" check first: outside one, RELEASE fails with "no such savepoint"
  // just the same, and on sql.js that check costs two statements per migration.
  try {
    yield* exec(`RELEASE "${name}"`);
    return true;
  } catch {
    // "no such savepoint": our transaction is gone, or a new one begun by the migration after ending ours.
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
  return ["SQLITE_FULL", "SQLITE_IOERR", "SQLITE_BUSY", "SQLITE_NOMEM", "SQLITE_INTERRUPT"].some((code) => sqliteCode === code || sqliteCode.startsWith(`${code}_`));
}

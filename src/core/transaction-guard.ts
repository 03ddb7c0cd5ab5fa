/**
 * The transaction-escape guard on SQLite: detects a migration that ended stepwise's transaction (`ROLLBACK; BEGIN` leaves one open, just not ours). A savepoint opened before
 * each body fails to release once the transaction is gone; a witness row each transaction overwrites with a new token tells, after our rollback, whether it committed.
 */
import type { EscapedCommit } from "./errors.js";
import { isStatementRunningRefusal } from "./error-factories.js";
import { changeCounter, exec, inTransaction, query, queryValue, run, type Step } from "./step.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";

/** The transaction-escape guard of one run. */
export interface EscapeGuardRun {
  /** After BEGIN and before stepwise writes in that transaction: reads what an escape is judged against. */
  readStart(counter: number | null): Step<void>;
  /** Before a body: marks the transaction and opens the body's savepoint. */
  enter(): Step<void>;
  /** After the body: releases its savepoint; false when the transaction it was opened in is gone. */
  leave(): Step<boolean>;
  /** After stepwise rolled back an escaped body: `yes`, `no` only when proven, else `unknown`. */
  judge(): Step<EscapedCommit>;
  /** Outside any transaction, after a `transaction: false` migration: makes again what it may have removed. */
  renew(): Step<void>;
  /** Outside any transaction, when the run ends; never throws. */
  close(): Step<void>;
}

/** What every marker's name starts with; schema reads skip tables named so. */
export const GUARD_TABLE_PREFIX = "stepwise_guard_";

/** `bytes` of fresh randomness as hex (a page served over plain HTTP has no randomUUID). */
export function randomHex(bytes: number): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A name no migration can guess. */
export function uniqueName(kind: string): string {
  const hex = randomHex(24);
  return `${GUARD_TABLE_PREFIX}${hex.slice(0, 32)}_${kind}_${hex.slice(32)}`;
}

/** How {@link createSqliteEscapeGuard} keeps its witness. */
export interface SqliteEscapeGuardOptions {
  /** `main` for a libSQL server, which has no temp schema: dropped when the run ends. Default `temp`. */
  readonly witnessSchema?: "temp" | "main";
  /** Make the witness inside each transaction, for a client that lends a connection per call. Default `false`. */
  readonly witnessPerTransaction?: boolean;
  /** Read `PRAGMA user_version` as a signal; `false` where the storage refuses it (Turso). Default `true`. */
  readonly userVersion?: boolean;
}

/** SQLite's escape guard, as a dialect's `startEscapeGuard`. */
export function createSqliteEscapeGuard(options: SqliteEscapeGuardOptions = {}): () => Step<EscapeGuardRun> {
  const schema = options.witnessSchema ?? "temp";
  const perTransaction = options.witnessPerTransaction === true;
  const readsUserVersion = options.userVersion !== false;
  return function* () {
    const witness = sqliteWitness(schema, perTransaction);
    const savepoint = uniqueName("body");
    // Read right after BEGIN: the header fields a migration can commit alone, and what moves when another connection commits.
    let start: { readonly header: string; readonly dataVersion: number; readonly changeCounter: number | null } | null = null;
    let changesBeforeBody = 0;

    function* readStart(counter: number | null): Step<NonNullable<typeof start>> {
      const schemaVersion = yield* queryValue("PRAGMA schema_version");
      const userVersion = readsUserVersion ? yield* queryValue("PRAGMA user_version") : null;
      const header = [schemaVersion, userVersion, yield* queryValue("PRAGMA application_id"), String(yield* queryValue("PRAGMA journal_mode")).toLowerCase()].join(" ");
      return { header, dataVersion: counter ?? Number(yield* queryValue("PRAGMA data_version")), changeCounter: counter };
    }

    if (!perTransaction) yield* witness.create();
    return {
      *readStart(counter) {
        start = yield* readStart(counter);
      },
      *enter() {
        yield* witness.mark();
        changesBeforeBody = Number(yield* queryValue("SELECT total_changes()"));
        // Through exec, never a cached statement: a live statement holding the name could be read by the body (libsql's sqlite_stmt).
        yield* exec(`SAVEPOINT "${savepoint}"`);
      },
      *leave() {
        try {
          yield* exec(`RELEASE "${savepoint}"`);
          return true;
        } catch (error) {
          // Refused while a statement the body left still writes: the savepoint, and our transaction, are still there.
          return isStatementRunningRefusal(error);
        }
      },
      *judge() {
        // `yes` when the token or a header field proves a commit; `no` only when every counter agrees nothing was written.
        try {
          if ((yield* queryValue<number>(`SELECT token FROM ${witness.name()}`)) === witness.token()) return "yes";
          const was = start!;
          const now = yield* readStart(was.changeCounter === null ? null : yield* changeCounter());
          if (now.header !== was.header) return "yes";
          if ((yield* totalChangesShadowed()) || Number(yield* queryValue("SELECT total_changes()")) !== changesBeforeBody || now.dataVersion !== was.dataVersion) return "unknown";
          return "no";
        } catch {
          return "unknown";
        }
      },
      *renew() {
        // A temp_store change deletes every temp table, and a migration may drop it.
        if (!perTransaction) yield* witness.create();
      },
      *close() {
        try {
          if (!(yield* inTransaction())) yield* exec(`DROP TABLE IF EXISTS ${witness.name()}`);
        } catch {
          // A closed connection took its temp schema with it.
        }
      },
    };
  };
}

/** The witness: one row each transaction overwrites with a new token, so that after stepwise's rollback a token still there proves the transaction committed. */
function sqliteWitness(schema: "temp" | "main", perTransaction: boolean) {
  let table = uniqueName("witness");
  let token = 0;
  const name = () => `${schema}."${table}"`;

  function* create(): Step<void> {
    yield* exec(`CREATE TABLE IF NOT EXISTS ${name()} (token INTEGER NOT NULL); INSERT INTO ${name()} (token) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM ${name()})`);
  }

  function* mark(): Step<void> {
    if (perTransaction) yield* exec(`CREATE TABLE IF NOT EXISTS ${name()} (token INTEGER NOT NULL)`);
    token++;
    let changes: number;
    try {
      ({ changes } = yield* run(`UPDATE ${name()} SET token = ?`, [token]));
    } catch (error) {
      // An earlier migration dropped the table: a fresh one, made in this transaction, takes its place (a rollback removes it, which reads as `unknown`).
      if (!(yield* inTransaction())) throw error;
      const replacement = uniqueName("witness");
      try {
        yield* exec(`CREATE TABLE ${schema}."${replacement}" (token INTEGER NOT NULL)`);
      } catch {
        throw error;
      }
      table = replacement;
      changes = 0;
    }
    if (changes === 0) yield* run(`INSERT INTO ${name()} (token) VALUES (?)`, [token]);
  }

  return { name, token: () => token, create, mark };
}

/** Whether an application-defined function shadows `total_changes()`, which could pass a commit off as nothing committed. */
function* totalChangesShadowed(): Step<boolean> {
  const functions = yield* query<{ name: unknown; builtin: unknown }>("PRAGMA function_list");
  return functions.some((row) => String(row.name).toLowerCase() === "total_changes" && Number(row.builtin) !== 1);
}

/** Whether `sql` may end the transaction it runs in: any keyword that starts such a statement (a false match such as `CASE ... END` costs only the guard). */
export function sqlMayEndTransaction(sql: string): boolean {
  return /\b(?:BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|ABORT|START|PREPARE)\b/i.test(sql);
}

/** Whether `entry` needs the escape guard: code always, SQL only when it names a transaction-control keyword. */
export function needsEscapeGuard(entry: MigrationEntry, direction: MigrationDirection): boolean {
  if (entry.kind !== "sql") return true;
  const sql = direction === "up" ? entry.upSql : entry.downSql;
  return sql !== null && sqlMayEndTransaction(sql);
}

/** Errors after which SQLite rolls the whole transaction back itself (https://www.sqlite.org/lang_transaction.html). */
export function isAutomaticRollbackError(sqliteCode: string | null): boolean {
  return sqliteCode !== null && /^SQLITE_(?:FULL|IOERR|BUSY|NOMEM|INTERRUPT)(?:_|$)/.test(sqliteCode);
}

/**
 * Keeps migrations out of stepwise's history table on SQLite. While a migration's body runs, three
 * temporary triggers refuse every INSERT, UPDATE and DELETE on the table (`RAISE(ABORT)`, so the
 * statement changes nothing, in a `transaction: false` migration too). They are made just before the
 * body and dropped just after it, so stepwise's own history writes, and the migrations that need no
 * guard, never meet them.
 *
 * The table itself: after a body the triggers must still be there, since a drop takes them along. A
 * rename, or a column renamed or dropped, makes stepwise's own history write fail, which the executor
 * reports the same way. A column added goes unseen after a transactional body (stepwise names the
 * columns it reads and writes, so the record still reads); after a `transaction: false` one, whose
 * changes stay, the table is looked at whole: its columns, and its triggers' table.
 *
 * A SQL migration whose text does not name the table cannot reach it (SQLite has no dynamic SQL)
 * except through a trigger, so it runs unguarded while no trigger names the table (read once per run)
 * and no earlier migration of the run named it: a run of such migrations, the common case, pays one
 * case-insensitive search of each text. A guarded body pays O(1) whatever the history's length: one
 * script of three statements before it, one after. Made once per run and left in place, the triggers cost every later
 * history INSERT their compilation (the INSERT is prepared again after each migration's DDL); a read
 * of `sqlite_master` after every body cost more than the migrations' own work, growing with the
 * schema. Everything lives in the connection's temp schema; nothing reaches the database file. The
 * names are drawn fresh per run, so a migration cannot name them by accident.
 *
 * A statement the triggers refuse fails with {@link HISTORY_GUARD_MARK} in its message, which the
 * executor reports as `HISTORY_CHANGED_BY_MIGRATION`. A TypeScript body that catches that failure and
 * goes on has changed nothing in the history, and is applied.
 */
import { REQUIRED_COLUMNS, type HistoryStore } from "./history.js";
import { exec, query, queryValue, type Step } from "./step.js";
import { uniqueName } from "./transaction-guard.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";
import { historyChangedByMigrationError } from "./error-factories.js";
import type { StepwiseError } from "./errors.js";

/** What the triggers' refusal says, and how the executor recognises it. */
export const HISTORY_GUARD_MARK = "stepwise: a migration may not write the history table";

/** Whether a trigger of the connection (in `main` or `temp`) names the table, whose lowercase name is bound twice. */
const TRIGGERS_NAMING =
  "SELECT EXISTS (SELECT 1 FROM main.sqlite_master WHERE type = 'trigger' AND instr(lower(sql), ?) > 0 UNION ALL SELECT 1 FROM temp.sqlite_master WHERE type = 'trigger' AND instr(lower(sql), ?) > 0)";

/** {@link TRIGGERS_NAMING} for a storage without a temp schema: the name bound once. */
const MAIN_TRIGGERS_NAMING = "SELECT EXISTS (SELECT 1 FROM main.sqlite_master WHERE type = 'trigger' AND instr(lower(sql), ?) > 0)";

/** The guard of one run; see the module note. Made by {@link createHistoryGuard}. */
export interface HistoryGuard {
  /**
   * Before `entry`'s body: from here, the history table refuses writes. Returns whether it guards this
   * body (then {@link leave} follows it); see the module note for the SQL migrations it leaves alone.
   * `inTransaction` is false for a `transaction: false` body; `sql` is the SQL migration's text for
   * `direction` when the caller has read it already (a generated registry's accessor builds it on
   * every read).
   */
  enter(entry: MigrationEntry, direction: MigrationDirection, inTransaction: boolean, sql?: string | null): Step<boolean>;
  /**
   * After a guarded body: lets writes through again, and throws `HISTORY_CHANGED_BY_MIGRATION`
   * when the table was dropped, renamed or altered. A `transaction: false` body may also have reset the
   * temp schema (a change of `temp_store` deletes every temp object), which took the triggers along:
   * then only the table is looked at.
   */
  leave(entry: MigrationEntry, direction: MigrationDirection, inTransaction: boolean): Step<void>;
  /** Drops whatever of the guard a failure left, outside any transaction; never throws. */
  remove(): Step<void>;
  /**
   * Where the guard checks by reading (PostgreSQL, `dialects/postgres-history-guard.ts`): `check`, a
   * statement stepwise's history writes in a transaction follow, failing with {@link HISTORY_GUARD_MARK}
   * when the table changed since `capture`, which they are followed by. Absent where the table
   * refuses the writes itself (SQLite's triggers).
   */
  readonly writes?: { readonly check: string; readonly capture: string };
  /**
   * For a migration applied as one atomic batch (D1): `null` when `entry`'s `script` needs no guard,
   * else the statements that make the triggers, to follow stepwise's history writes, and the script
   * with the statements that drop them after it. Absent where the guard checks by reading.
   */
  wrapBatch?(entry: MigrationEntry, direction: MigrationDirection, script: string): Step<{ readonly before: readonly { sql: string; params: readonly unknown[] }[]; readonly script: string } | null>;
}

/** `name` as a quoted identifier. */
function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** How {@link createHistoryGuard} places its objects. */
export interface HistoryGuardOptions {
  /**
   * Guard only bodies that run in a transaction: for a client that lends a pooled connection per call
   * (libsql-client), where only a transaction's statements are known to reach the connection that
   * holds the temp triggers; a `transaction: false` body there goes unguarded. Default `false`.
   */
  readonly transactionsOnly?: boolean;
  /**
   * Where the triggers live: `temp` (default), or `main` for a storage without a temp schema (a
   * libSQL server, D1, Durable Objects). There they are made and dropped inside the migration's
   * transaction, so they never commit and no other connection sees them; so only bodies that run in
   * a transaction are guarded (as with {@link transactionsOnly}).
   */
  readonly schema?: "temp" | "main";
}

/** The guard's statements on `store`'s table: its triggers made and dropped, and the checks that the table is still whole. */
function guardStatements(store: HistoryStore, schema: "temp" | "main") {
  const triggers = (["INSERT", "UPDATE", "DELETE"] as const).map((event) => ({ event, name: uniqueName(`history_${event.toLowerCase()}`) }));
  // A trigger in main names its table unqualified; a temp one names main's.
  const table = schema === "main" ? quote(store.tableName) : `main.${quote(store.tableName)}`;
  const makeStatements = triggers.map(
    ({ event, name }) => `CREATE ${schema === "temp" ? "TEMP TRIGGER " : "TRIGGER main."}${quote(name)} BEFORE ${event} ON ${table} BEGIN SELECT RAISE(ABORT, '${HISTORY_GUARD_MARK}'); END`,
  );
  const names = triggers.map((trigger) => `'${trigger.name}'`).join(", ");
  return {
    triggerCount: triggers.length,
    makeStatements,
    makeSql: makeStatements.map((statement) => `${statement};`).join(""),
    // Without IF EXISTS: a trigger gone means the table went (a drop takes its triggers along).
    dropSql: triggers.map(({ name }) => `DROP TRIGGER ${schema}.${quote(name)};`).join(""),
    dropQuietlySql: triggers.map(({ name }) => `DROP TRIGGER IF EXISTS ${schema}.${quote(name)};`).join(""),
    // Fails, naming the guard's mark (a JSON path it cannot read), unless the table has every column stepwise reads.
    shapeCheckSql: `SELECT json_extract('{}', CASE WHEN (SELECT count(*) FROM pragma_table_info('${store.tableName}') WHERE name IN (${REQUIRED_COLUMNS.map((column) => `'${column}'`).join(", ")})) = ${REQUIRED_COLUMNS.length} THEN '$' ELSE '${HISTORY_GUARD_MARK}' END);`,
    // The triggers still on the table (a drop takes them along; a rename carries them to the new name) and its columns.
    stateSql: `SELECT (SELECT count(*) FROM temp.sqlite_master WHERE type = 'trigger' AND name IN (${names}) AND tbl_name = ? COLLATE NOCASE) AS guards, (SELECT count(*) FROM pragma_table_info(?)) AS columns`,
  };
}

/** The guard for `store`'s table (in `main`). */
export function createHistoryGuard(store: HistoryStore, options: HistoryGuardOptions = {}): HistoryGuard {
  const schema = options.schema ?? "temp";
  const transactionsOnly = options.transactionsOnly === true || schema === "main";
  const { triggerCount, makeStatements, makeSql, dropSql, dropQuietlySql, shapeCheckSql, stateSql } = guardStatements(store, schema);
  const lowerName = store.tableName.toLowerCase();
  // The name is a plain identifier (isValidTableName): no character of it needs escaping.
  const naming = new RegExp(store.tableName, "i");
  /** Whether every body is guarded from now on: a trigger names the table, or a migration of this run did; `null` until read. */
  let everyBody: boolean | null = null;
  /** The table's columns, read before the first guarded `transaction: false` body (stepwise's own writes add none). */
  let columns: number | null = null;

  function* guards(entry: MigrationEntry, direction: MigrationDirection, text: string | null | undefined): Step<boolean> {
    if (entry.kind !== "sql") return true;
    everyBody ??= (yield* queryValue<number>(schema === "temp" ? TRIGGERS_NAMING : MAIN_TRIGGERS_NAMING, schema === "temp" ? [lowerName, lowerName] : [lowerName])) === 1;
    if (everyBody) return true;
    const sql = text === undefined ? (direction === "up" ? entry.upSql : entry.downSql) : text;
    // Guarded, and every body after it: a trigger it makes may write the table when a later one fires it.
    if (sql !== null && naming.test(sql)) everyBody = true;
    return everyBody;
  }

  function* readState(): Step<{ guards: number; columns: number }> {
    return (yield* query<{ guards: number; columns: number }>(stateSql, [store.tableName, store.tableName]))[0]!;
  }

  return {
    *enter(entry, direction, inTransaction, sql) {
      if ((transactionsOnly && !inTransaction) || !(yield* guards(entry, direction, sql))) return false;
      if (!inTransaction) columns ??= Number(yield* queryValue("SELECT count(*) FROM pragma_table_info(?)", [store.tableName]));
      yield* exec(makeSql);
      return true;
    },
    *leave(entry, direction, inTransaction) {
      if (inTransaction) {
        // One statement after a transactional body, the common guarded case: a rename or a column renamed
        // or dropped is met by stepwise's own history write; a column added reads as before.
        try {
          yield* exec(dropSql);
        } catch (error) {
          // Only a trigger gone says the table went (a drop takes its triggers along). Any other failure
          // (the body set query_only, another connection's lock) is the migration's own, as without the guard.
          if (!(error instanceof Error && error.message.includes("no such trigger"))) throw error;
          throw changed(store, entry, direction, true, "the table dropped or replaced", error);
        }
        return;
      }
      // Outside a transaction the body's changes stay, so the table is looked at whole; the body may
      // also have reset the temp schema (a change of temp_store), which took the triggers along.
      const found = yield* readState();
      yield* exec(dropQuietlySql);
      if (found.columns !== columns) throw changed(store, entry, direction, false, found.columns === 0 ? "the table dropped or renamed" : "the table altered");
      if (found.guards !== triggerCount && found.guards !== 0) throw changed(store, entry, direction, false, "the table dropped, renamed or replaced");
    },
    *wrapBatch(entry, direction, script) {
      if (!(yield* guards(entry, direction, script))) return null;
      const statement = (sql: string) => ({ sql, params: [] });
      // A line break ends a trailing comment of the script before the drops.
      // After the drops, the table by its name with every column stepwise reads: a rename, or a column
      // renamed or dropped, fails the batch (stepwise's own write came before the script there).
      return { before: makeStatements.map(statement), script: `${script}\n;\n${dropSql}${shapeCheckSql}` };
    },
    *remove() {
      try {
        yield* exec(dropQuietlySql);
      } catch {
        // A temp object that cannot be dropped (the connection closed) goes with the connection.
      }
    },
  };
}

/** HISTORY_CHANGED_BY_MIGRATION for a body that changed `store`'s table. */
function changed(store: HistoryStore, entry: MigrationEntry, direction: MigrationDirection, inTransaction: boolean, change: string, cause?: unknown): StepwiseError<"HISTORY_CHANGED_BY_MIGRATION"> {
  return historyChangedByMigrationError({
    version: entry.version,
    file: entry.file,
    direction,
    table: store.tableName,
    change,
    rolledBack: inTransaction,
    historyChanged: !inTransaction,
    ...(cause === undefined ? {} : { cause }),
  });
}

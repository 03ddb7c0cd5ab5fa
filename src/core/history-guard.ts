/**
 * Keeps migrations out of stepwise's history table on SQLite: while a body runs, three temporary triggers refuse every INSERT, UPDATE and DELETE on it (`RAISE(ABORT)` with
 * {@link HISTORY_GUARD_MARK}), made just before the body and dropped just after, so stepwise's own writes never meet them. A drop of the table takes them along, and a
 * rename or altered column fails stepwise's own history write. SQL whose text does not name the table cannot reach it (SQLite has no dynamic SQL) except through a trigger
 * or a foreign key of the table (a cascade), so it runs unguarded while no trigger names the table, no foreign key of the table has an action that writes it, and no earlier
 * migration of the run named it.
 */
import { quoteIdentifier } from "./batch-walk.js";
import { REQUIRED_COLUMNS, type HistoryStore } from "./history.js";
import { exec, query, queryValue, type Step } from "./step.js";
import { uniqueName } from "./transaction-guard.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";
import { historyChangedByMigrationError } from "./error-factories.js";

/** What the triggers' refusal says, and how the executor recognises it. */
export const HISTORY_GUARD_MARK = "stepwise: a migration may not write the history table";

/** The history guard of one run. */
export interface HistoryGuard {
  /** Before a body (`inTransaction` false for a `transaction: false` one): whether it guards it, so {@link leave} follows. */
  enter(entry: MigrationEntry, direction: MigrationDirection, inTransaction: boolean): Step<boolean>;
  /** After a guarded body: lets writes through, and throws `HISTORY_CHANGED_BY_MIGRATION` when the table was dropped, renamed or altered. */
  leave(entry: MigrationEntry, direction: MigrationDirection, inTransaction: boolean): Step<void>;
  /** Drops whatever of the guard a failure left, outside any transaction (nothing when no body was guarded); never throws. */
  remove(): Step<void>;
  /** For a migration applied as one batch (D1): `null` when `script` needs no guard, else the trigger statements to follow stepwise's writes and the script followed by their drops. */
  wrapBatch?(entry: MigrationEntry, direction: MigrationDirection, script: string): Step<{ readonly before: readonly { sql: string; params: readonly unknown[] }[]; readonly script: string } | null>;
}

/** How {@link createHistoryGuard} places its triggers. */
export interface HistoryGuardOptions {
  /** Guard only bodies in a transaction: for a client that lends a connection per call (libsql-client). Default `false`. */
  readonly transactionsOnly?: boolean;
  /** `temp` (default), or `main` for a storage without a temp schema (libSQL server, Cloudflare), which guards only bodies in a transaction. */
  readonly schema?: "temp" | "main";
}

/** `HISTORY_CHANGED_BY_MIGRATION` for `entry`'s body, which changed `table` as `change` says: rolled back with its transaction, else left as it is. */
export function historyChangedError(table: string, entry: MigrationEntry, direction: MigrationDirection, inTransaction: boolean, change: string, cause?: unknown) {
  const { version, file } = entry;
  return historyChangedByMigrationError({ version, file, direction, table, change, rolledBack: inTransaction, historyChanged: !inTransaction, cause });
}

/**
 * Whether a body must be guarded: every one from the first that names the table, and all of them while a trigger names it or a foreign key's action writes it (read once per run); a
 * TypeScript body always.
 */
function bodyGuarding(tableName: string, schema: "temp" | "main"): (entry: MigrationEntry, direction: MigrationDirection, text?: string) => Step<boolean> {
  const lowerName = tableName.toLowerCase();
  // A plain identifier (isValidTableName): no character of it needs escaping.
  const naming = new RegExp(tableName, "i");
  // Whether a trigger of the connection (in `main`, and `temp` where there is one) names the table, or the table has a foreign key (a column an operator added) whose
  // ON DELETE or ON UPDATE action writes it when a body writes the table it references. SQLite's own list of the keys, not the table's text: a column or a default
  // merely spelling "references" makes no key, and a key whose actions are NO ACTION or RESTRICT never writes the table.
  const triggersIn = (where: string) => `SELECT 1 FROM ${where}.sqlite_master WHERE type = 'trigger' AND instr(lower(sql), ?) > 0`;
  const writingKey = `SELECT 1 FROM pragma_foreign_key_list(?, 'main') WHERE on_delete NOT IN ('NO ACTION', 'RESTRICT') OR on_update NOT IN ('NO ACTION', 'RESTRICT')`;
  const reachable = `SELECT EXISTS (${triggersIn("main")}${schema === "temp" ? ` UNION ALL ${triggersIn("temp")}` : ""} UNION ALL ${writingKey})`;
  const reachableParams = [...(schema === "temp" ? [lowerName, lowerName] : [lowerName]), tableName];
  /** Every body is guarded from now on: a trigger names the table, a foreign key's action writes it, or a migration of this run named it; `null` until read. */
  let everyBody: boolean | null = null;
  return function* guards(entry: MigrationEntry, direction: MigrationDirection, text?: string): Step<boolean> {
    if (entry.kind !== "sql") return true;
    everyBody ??= (yield* queryValue<number>(reachable, reachableParams)) === 1;
    if (everyBody) return true;
    const sql = text ?? (direction === "up" ? entry.upSql : entry.downSql);
    // Guarded, and every body after it: a trigger it makes may write the table when a later one fires it.
    if (sql !== null && naming.test(sql)) everyBody = true;
    return everyBody;
  };
}

/** The guard for `store`'s table (in `main`). */
export function createHistoryGuard(store: HistoryStore, options: HistoryGuardOptions = {}): HistoryGuard {
  const schema = options.schema ?? "temp";
  const transactionsOnly = options.transactionsOnly === true || schema === "main";
  const names = ["insert", "update", "delete"].map((event) => uniqueName(`history_${event}`));
  // A trigger in main names its table unqualified; a temp one names main's.
  const table = schema === "main" ? quoteIdentifier(store.tableName) : `main.${quoteIdentifier(store.tableName)}`;
  const makeStatements = ["INSERT", "UPDATE", "DELETE"].map(
    (event, index) =>
      `CREATE ${schema === "temp" ? "TEMP TRIGGER " : "TRIGGER main."}${quoteIdentifier(names[index]!)} BEFORE ${event} ON ${table} BEGIN SELECT RAISE(ABORT, '${HISTORY_GUARD_MARK}'); END`,
  );
  // Without IF EXISTS: a trigger gone means the table went (a drop takes its triggers along).
  const dropSql = names.map((name) => `DROP TRIGGER ${schema}.${quoteIdentifier(name)};`).join("");
  const dropQuietlySql = names.map((name) => `DROP TRIGGER IF EXISTS ${schema}.${quoteIdentifier(name)};`).join("");
  const guards = bodyGuarding(store.tableName, schema);
  /** The table's columns before the first guarded `transaction: false` body. */
  let columns: number | null = null;
  /** Whether this run made triggers, which {@link HistoryGuard.remove} drops. */
  let made = false;
  return {
    *enter(entry, direction, inTransaction) {
      if ((transactionsOnly && !inTransaction) || !(yield* guards(entry, direction))) return false;
      // main's table, not a temporary one of the same name a migration left.
      if (!inTransaction) columns ??= Number(yield* queryValue("SELECT count(*) FROM pragma_table_info(?, 'main')", [store.tableName]));
      made = true;
      yield* exec(makeStatements.map((statement) => `${statement};`).join(""));
      return true;
    },
    *leave(entry, direction, inTransaction) {
      if (inTransaction) {
        try {
          yield* exec(dropSql);
        } catch (error) {
          // Only a trigger gone says the table went; any other failure (the body set query_only) is the migration's own.
          if (!(error instanceof Error && error.message.includes("no such trigger"))) throw error;
          throw historyChangedError(store.tableName, entry, direction, true, "the table dropped or replaced", error);
        }
        return;
      }
      // The triggers still on the table (a rename carries them along) and its columns; a temp_store change may have taken the triggers.
      const found = (yield* query<{ guards: number; columns: number }>(
        `SELECT (SELECT count(*) FROM temp.sqlite_master WHERE type = 'trigger' AND name IN (${names.map((name) => `'${name}'`).join(", ")}) AND tbl_name = ? COLLATE NOCASE) AS guards, (SELECT count(*) FROM pragma_table_info(?, 'main')) AS columns`,
        [store.tableName, store.tableName],
      ))[0]!;
      yield* exec(dropQuietlySql);
      if (found.columns !== columns) throw historyChangedError(store.tableName, entry, direction, false, found.columns === 0 ? "the table dropped or renamed" : "the table altered");
      if (found.guards !== names.length && found.guards !== 0) throw historyChangedError(store.tableName, entry, direction, false, "the table dropped, renamed or replaced");
    },
    *wrapBatch(entry, direction, script) {
      if (!(yield* guards(entry, direction, script))) return null;
      // After the drops, a check that the table still has every column stepwise reads (a JSON path it cannot read fails the batch).
      const columnsCheck = `SELECT json_extract('{}', CASE WHEN (SELECT count(*) FROM pragma_table_info('${store.tableName}') WHERE name IN (${REQUIRED_COLUMNS.map((column) => `'${column}'`).join(", ")})) = ${REQUIRED_COLUMNS.length} THEN '$' ELSE '${HISTORY_GUARD_MARK}' END);`;
      // A line break ends a trailing comment of the script before the drops.
      return { before: makeStatements.map((sql) => ({ sql, params: [] })), script: `${script}\n;\n${dropSql}${columnsCheck}` };
    },
    *remove() {
      if (!made) return;
      try {
        yield* exec(dropQuietlySql);
      } catch {
        // A closed connection took its temp objects along.
      }
    },
  };
}

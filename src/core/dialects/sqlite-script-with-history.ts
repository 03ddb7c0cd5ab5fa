/**
 * A SQL migration applied on SQLite as ONE `exec`: its script, its history `INSERT` and
 * `PRAGMA user_version = N`, where the usual path makes three driver calls (each through the
 * executor's generator layers and the library's binding). The transaction around them is the one the
 * executor opened, and the COMMIT stays its own call, so the migration and its row still commit
 * together or not at all: SQLite stops a script at its first failing statement, leaving the
 * transaction open for the executor to roll back, as it does after a failed `exec` of the script alone.
 *
 * Only what the usual path would run unguarded comes here: the executor sends a migration whose SQL
 * names a transaction-control keyword through the escape guard instead (`transaction-control.ts`).
 * Besides, a script that could take in what is appended to it (`sqlite-script-end.ts`), a history
 * value with no exact literal (a string holding NUL or a lone surrogate, a number that is no safe
 * integer), a revert (whose row check needs the `DELETE`'s change count) and a `transaction: false`
 * or foreign-keys-off migration all go the usual way.
 *
 * The values are written into the text as literals, each string quoted with its quotes doubled, the
 * only escape SQLite reads in one. The history row's duration is measured by SQLite itself, from the
 * start the client wrote into the text to the moment the `INSERT` runs, since the row is written in
 * the same call as the script, before the client could know how long that took.
 */
import type { ExecutorBase } from "../executor-base.js";
import type { BatchStatement } from "../driver.js";
import { canAppendToSqliteScript } from "../sqlite-script-end.js";
import { collectWrites, SCRIPT_ELAPSED_MS, type Step } from "../step.js";
import type { MigrationDirection, MigrationRegistry } from "../types.js";

/** Ends the script's last statement (and a trailing `--` comment) before stepwise's own. */
const AFTER_SCRIPT = "\n;\n";

/** A lone surrogate: a JavaScript string the libraries would each turn into UTF-8 their own way. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The placeholders and string literals of a statement, by its text (the history store's few statements). */
const PIECES = new Map<string, readonly string[]>();

/**
 * Runs SQL migration `entry` forwards with its history writes as one `exec` in the open transaction,
 * for the caller to commit; returns the duration the client saw, or `null` without doing anything
 * when the entry must take the usual path (see the module note). A failure is thrown as the
 * migration's failure, with the transaction left for the caller to roll back, as the usual path does.
 */
export function* runSqliteScriptWithHistory<R extends MigrationRegistry>(executor: ExecutorBase<R>, entry: R[number], direction: MigrationDirection): Step<number | null> {
  if (direction !== "up" || entry.kind !== "sql" || !entry.transaction || entry.disableForeignKeys) return null;
  const pieces = composeSqliteScript(entry.upSql, collectWrites(executor.record(entry, direction, SCRIPT_ELAPSED_MS)));
  if (pieces === null) return null;
  executor.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
  const started = performance.now();
  try {
    yield* executor.refuseParentRebuild(entry, direction);
    yield { op: "exec", sql: pieces.join(String(Date.now())) };
  } catch (cause) {
    throw yield* executor.migrationFailed(entry, direction, cause, true, "body");
  }
  return performance.now() - started;
}

/**
 * The text that runs `script`, then `statements` with their values written in as literals, in pieces
 * to join with the epoch milliseconds at which the script starts: {@link SCRIPT_ELAPSED_MS} becomes
 * the whole milliseconds since then when its statement runs. `null` when they must be sent one by one
 * (see the module note).
 *
 * @example
 * composeSqliteScript("CREATE TABLE t (a);", [{ sql: "INSERT INTO h VALUES (?, ?)", params: [1, "it's"] }])?.join("0");
 * // "CREATE TABLE t (a);\n;\nINSERT INTO h VALUES (1, 'it''s')"
 */
export function composeSqliteScript(script: string, statements: readonly BatchStatement[]): string[] | null {
  if (!canAppendToSqliteScript(script)) return null;
  const pieces = [script + AFTER_SCRIPT];
  for (let index = 0; index < statements.length; index++) {
    const statement = statements[index]!;
    if (index > 0) pieces[pieces.length - 1] += ";\n";
    if (!inlineSqliteParameters(statement.sql, statement.params, pieces)) return null;
  }
  return pieces;
}

/**
 * Appends `sql` to `pieces`, each `?` placeholder outside its string literals replaced by the literal
 * of the matching value (a new piece after each {@link SCRIPT_ELAPSED_MS}'s, where its start goes);
 * `false` when a value has no exact literal or the counts differ.
 */
function inlineSqliteParameters(sql: string, params: readonly unknown[], pieces: string[]): boolean {
  let split = PIECES.get(sql);
  if (split === undefined) {
    // The history store's statements: no comments or quoted names, so strings are all a `?` can hide in.
    split = sql.split(/('(?:[^']|'')*'|\?)/);
    PIECES.set(sql, split);
  }
  let used = 0;
  for (const piece of split) {
    if (piece !== "?") {
      pieces[pieces.length - 1] += piece;
      continue;
    }
    if (used === params.length) return false;
    const value = params[used++];
    if (value === SCRIPT_ELAPSED_MS) {
      pieces[pieces.length - 1] += ELAPSED_SINCE;
      pieces.push(")");
      continue;
    }
    const literal = sqliteLiteral(value);
    if (literal === null) return false;
    pieces[pieces.length - 1] += literal;
  }
  return used === params.length;
}

/**
 * The whole milliseconds from the start joined in after it to the moment its statement runs, as
 * SQLite's clock tells (`julianday('now')`, to the millisecond), never below 0 (the wall clock may
 * step back).
 */
const ELAPSED_SINCE = "max(0, CAST(round((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER) - ";

/** `value` as a SQLite literal that stores what binding it would, or `null` when no literal is read the same by every library. */
function sqliteLiteral(value: unknown): string | null {
  if (value === null) return "NULL";
  if (typeof value === "number") return Number.isSafeInteger(value) ? String(value) : null;
  if (typeof value === "string") return value.includes("\u0000") || LONE_SURROGATE.test(value) ? null : `'${value.replace(/'/g, "''")}'`;
  return null;
}

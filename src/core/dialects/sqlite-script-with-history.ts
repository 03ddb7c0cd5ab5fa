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
import { commitRecordedMigration } from "../apply-in-transaction.js";
import type { ExecutorBase } from "../executor-base.js";
import type { BatchStatement } from "../driver.js";
import { classifySafely } from "../native-error.js";
import type { AppliedStep } from "../options.js";
import { canAppendToSqliteScript } from "../sqlite-script-end.js";
import { changeCounter, collectWrites, inTransaction, rollbackQuietly, SCRIPT_ELAPSED_MS, type Step } from "../step.js";
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
 * What {@link runSqliteMigrationInOneExec} answers when another connection committed since the plan:
 * nothing ran (its transaction is rolled back), and the executor plans again before the next attempt.
 */
export const PLAN_IS_STALE = "stale";

/**
 * Runs SQL migration `entry` forwards in a transaction of its own, opened in the same `exec` that runs
 * it: `BEGIN IMMEDIATE`, a statement that fails unless the change counter (`data_version`) still
 * reads `counter`, the script, its history writes; then commits it, as its own call, as the usual path
 * does. Two driver calls per migration where the usual path makes four (`BEGIN IMMEDIATE`, the counter,
 * the script with its row, `COMMIT`). The executor calls it only after its first transaction of the
 * run (which makes the history table) and with the counter the plan was made at, where the usual
 * path would read the counter after `BEGIN IMMEDIATE` and plan again when it moved.
 *
 * Returns what ran; {@link PLAN_IS_STALE} when the counter moved (another connection committed, so the
 * plan may be stale and nothing ran); or `null`, having done nothing, when the entry must take the
 * usual path (see {@link runSqliteScriptWithHistory}, and a script that drops or renames a table,
 * whose foreign-key check reads the schema under the lock). A failure is thrown as the usual path
 * throws it, the transaction left for the caller to roll back: `BEGIN IMMEDIATE` meeting the lock
 * as the typed error of a locked database, the script's or its row's as the migration's failure.
 *
 * The counter check relies on SQLite's built-in `abs()` failing on the smallest integer ("integer
 * overflow"): an app that registered its own `abs` on the connection would disable it.
 */
export function* runSqliteMigrationInOneExec<R extends MigrationRegistry>(
  executor: ExecutorBase<R>,
  entry: R[number],
  direction: MigrationDirection,
  counter: number,
): Step<AppliedStep | typeof PLAN_IS_STALE | null> {
  if (direction !== "up" || entry.kind !== "sql" || !entry.transaction || entry.disableForeignKeys || DROP_OR_RENAME.test(entry.upSql)) return null;
  const pieces = composeSqliteScript(entry.upSql, collectWrites(executor.record(entry, direction, SCRIPT_ELAPSED_MS)), `BEGIN IMMEDIATE;\n${counterCheck(counter)};\n`);
  if (pieces === null) return null;
  const started = performance.now();
  try {
    yield { op: "exec", sql: pieces.join(String(Date.now())) };
  } catch (cause) {
    if (!(yield* inTransaction())) {
      // Nothing is open: BEGIN IMMEDIATE waited out the busy timeout (reported as the usual path's
      // BEGIN reports it, before any event), or SQLite rolled the script back itself (a full disk).
      const classification = classifySafely(executor.settings.classifyError, cause);
      if (classification.kind === "locked") throw executor.dialect.translateError(cause, executor.settings.busyTimeoutMs, classification);
    } else if ((yield* changeCounter()) !== counter) {
      yield* rollbackQuietly();
      return PLAN_IS_STALE;
    }
    executor.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
    throw yield* executor.migrationFailed(entry, direction, cause, true, "body");
  }
  const durationMs = performance.now() - started;
  // Emitted once the counter check has passed, so an attempt that finds the plan stale emits nothing:
  // the re-plan reports the migration as skipped, or runs it, with its own events.
  executor.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
  yield* commitRecordedMigration(executor, entry, direction);
  executor.emit({ type: "migrated", direction, version: entry.version, name: entry.name, durationMs });
  return { version: entry.version, name: entry.name, durationMs };
}

/** What `refuseParentRebuild` reads the schema for: such a script checks it under the lock, on the usual path. */
const DROP_OR_RENAME = /\b(?:DROP|RENAME)\b/i;

/**
 * A statement that fails unless `PRAGMA data_version` reads `counter`: `abs()` of the smallest
 * integer is SQLite's "integer overflow" error, raised as the statement runs, so the exec stops there.
 */
function counterCheck(counter: number): string {
  return `SELECT abs(CASE WHEN data_version = ${Math.trunc(counter)} THEN 0 ELSE -9223372036854775807 - 1 END) FROM pragma_data_version`;
}

/**
 * The text that runs `prefix` (statements of stepwise's own), `script`, then `statements` with their
 * values written in as literals, in pieces
 * to join with the epoch milliseconds at which the script starts: {@link SCRIPT_ELAPSED_MS} becomes
 * the whole milliseconds since then when its statement runs. `null` when they must be sent one by one
 * (see the module note).
 *
 * @example
 * composeSqliteScript("CREATE TABLE t (a);", [{ sql: "INSERT INTO h VALUES (?, ?)", params: [1, "it's"] }])?.join("0");
 * // "CREATE TABLE t (a);\n;\nINSERT INTO h VALUES (1, 'it''s')"
 */
export function composeSqliteScript(script: string, statements: readonly BatchStatement[], prefix = ""): string[] | null {
  if (!canAppendToSqliteScript(script)) return null;
  const pieces = [prefix + script + AFTER_SCRIPT];
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

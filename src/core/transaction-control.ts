/**
 * Which migrations need the escape guard (`transaction-guard.ts`). A migration can end the
 * transaction stepwise runs it in only by running a transaction-control statement, or by failing in a
 * way that makes SQLite roll back; the second always surfaces as an error, which stepwise handles
 * the same with or without the guard. So SQL that names no transaction-control keyword at all cannot
 * escape, and its migrations skip the guard's markers: three statements on the way in, two on the way
 * out, per migration, which were most of stepwise's cost over a hand-written loop.
 */
import type { MigrationDirection, MigrationEntry } from "./types.js";

/**
 * Every keyword that starts a statement able to end or replace a transaction: `BEGIN`, `COMMIT`,
 * `END`, `ROLLBACK`, and `SAVEPOINT`/`RELEASE`, whose outermost use begins or commits one; and
 * PostgreSQL's own spellings, `ABORT` (a rollback), `START TRANSACTION` and `PREPARE TRANSACTION`
 * (which ends the session's transaction, handing it to two-phase commit). On SQLite those three are
 * never statements (`ON CONFLICT ABORT` is a clause), so there they only cost a false match.
 *
 * Deliberately cruder than a tokenizer: it matches inside strings, comments and identifiers too
 * (`CASE ... END`, a trigger's `BEGIN ... END`, a column named `release`). Each such false match costs the
 * migration only the guard, never a missed escape. It cannot miss a real keyword: SQLite spells
 * keywords in ASCII letters only, ends them at the first character that cannot continue an
 * identifier, and every character `\b` treats as part of a word ([A-Za-z0-9_]) is one that continues
 * an identifier in SQLite too.
 */
export const TRANSACTION_KEYWORD = /\b(?:BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|ABORT|START|PREPARE)\b/i;

/** Whether `sql` may contain a statement that ends the transaction it runs in. */
export function sqlMayEndTransaction(sql: string): boolean {
  return TRANSACTION_KEYWORD.test(sql);
}

/**
 * Whether running `entry` in `direction` needs the escape guard: always for TypeScript (its code can
 * do anything with the connection), and for SQL whose text names a transaction-control keyword.
 */
export function needsEscapeGuard(entry: MigrationEntry, direction: MigrationDirection): boolean {
  if (entry.kind !== "sql") return true;
  const sql = direction === "up" ? entry.upSql : entry.downSql;
  // No down section: the body fails before running anything, which needs no guard either.
  return sql !== null && sqlMayEndTransaction(sql);
}

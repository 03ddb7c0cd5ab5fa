/**
 * Migrations whose SQL manages its own transaction, or holds what cannot run inside one: a tool that ran them without a transaction of its own (or under one their `COMMIT` ended) applied them as
 * written, so stepwise imports them with `transaction:false` rather than refusing what the tool ran.
 */
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { reportStatementProblems } from "../../src/shared/sql-statement-checks.js";
import { splitSqlStatements, tokenizeSql } from "../../src/shared/postgres-tokens.js";

/** Whether `sql` cannot run inside a transaction stepwise opens: it controls transactions itself, or holds a statement the database refuses inside one (CONCURRENTLY, VACUUM…). */
export function needsNoTransaction(sql: string, dialect: SqlDialect): boolean {
  let needs = false;
  reportStatementProblems(tokenizeSql(sql, dialect), { transaction: true, disableForeignKeys: true }, dialect, (code) => {
    if (code === "SQL_TRANSACTION_CONTROL" || code === "SQL_NEEDS_NO_TRANSACTION") needs = true;
  });
  return needs;
}

/**
 * Whether, on PostgreSQL, the first statement of `sql` that controls a transaction opens one (`BEGIN`, `START TRANSACTION`): inside the tool's transaction that `BEGIN` only warns and the file's
 * `COMMIT` ends the tool's, so the file's own transaction is what made it atomic. SQLite refuses a `BEGIN` inside a transaction, so there the tool never ran such a file in one.
 */
export function opensOwnTransaction(sql: string, dialect: SqlDialect): boolean {
  if (dialect !== "postgres") return false;
  for (const { tokens } of splitSqlStatements(tokenizeSql(sql, dialect), dialect)) {
    const words = tokens.slice(0, 2).map((token) => (token.kind === "word" ? token.text.toUpperCase() : ""));
    if (words[0] === "BEGIN" || (words[0] === "START" && words[1] === "TRANSACTION")) return true;
    if (/^(COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE)$/.test(words[0]!)) return false;
  }
  return false;
}

/**
 * A tokeniser that keeps positions, for the checks that must know what is code and what is not: a
 * marker or a `COMMIT` inside a string, a quoted identifier or a block comment is text, not a
 * statement. It splits; it does not validate (the database does that when the migration runs). Each
 * dialect's rules live in their own file (`sqlite-tokens.ts`, `postgres-tokens.ts`), so code that only
 * ever reads SQLite imports that file and bundles no PostgreSQL lexer.
 */
import type { SqlDialect } from "./sql-dialect.js";
import { splitPostgresStatements, tokenizePostgresSql } from "./postgres-tokens.js";
import { splitSqliteStatements, tokenizeSqliteSql, type SqlStatement, type SqlToken } from "./sqlite-tokens.js";

export { significantTokens, type SqlStatement, type SqlToken, type SqlTokenKind } from "./sqlite-tokens.js";

/**
 * Splits source into tokens, whitespace and comments included, so the texts of the tokens
 * concatenate back to the source: SQLite's rules (`tokenizeSqliteSql`), or with `dialect`
 * `postgres`, PostgreSQL's (`postgres-tokens.ts`).
 *
 * @example
 * tokenizeSql("SELECT 'a;b'; -- x").filter((t) => t.kind !== "whitespace").map((t) => t.text);
 * // ["SELECT", "'a;b'", ";", "-- x"]
 */
export function tokenizeSql(source: string, dialect: SqlDialect = "sqlite"): SqlToken[] {
  return dialect === "postgres" ? tokenizePostgresSql(source) : tokenizeSqliteSql(source);
}

/**
 * Groups significant tokens into statements at each `;`: SQLite's boundaries (a trigger's body stays
 * whole; `splitSqliteStatements`), or with `dialect` `postgres`, PostgreSQL's (`splitPostgresStatements`).
 */
export function splitSqlStatements(tokens: readonly SqlToken[], dialect: SqlDialect = "sqlite"): SqlStatement[] {
  return dialect === "postgres" ? splitPostgresStatements(tokens) : splitSqliteStatements(tokens);
}

/** The tokeniser and statement splitter of either dialect, for code that reads both. */
import type { SqlDialect } from "./sql-dialect.js";
import { splitPostgresStatements, tokenizePostgresSql } from "./postgres-tokens.js";
import { splitSqliteStatements, tokenizeSqliteSql, type SqlStatement, type SqlToken } from "./sqlite-tokens.js";

export type { SqlStatement, SqlToken, SqlTokenKind } from "./sqlite-tokens.js";

/** Splits source into tokens by `dialect`'s rules, whitespace and comments included (see `tokenizeSqliteSql`). */
export function tokenizeSql(source: string, dialect: SqlDialect = "sqlite"): SqlToken[] {
  return dialect === "postgres" ? tokenizePostgresSql(source) : tokenizeSqliteSql(source);
}

/** Groups significant tokens into statements at each `;` that ends one in `dialect`. */
export function splitSqlStatements(tokens: readonly SqlToken[], dialect: SqlDialect = "sqlite"): SqlStatement[] {
  return dialect === "postgres" ? splitPostgresStatements(tokens) : splitSqliteStatements(tokens);
}

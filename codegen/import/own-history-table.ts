/**
 * Statements in another tool's SQL that name that tool's own history table (Lemmy's trigger on `__diesel_schema_migrations`, Harbor's column added to golang-migrate's `schema_migrations`): a database
 * stepwise migrates from empty has no such table, so the statement fails there, or, where stepwise's own table bears the name, changes stepwise's history. Each is refused at its line, with the fix. So is a statement naming stepwise's own table
 * (crates.io's Diesel migration dropping the `schema_migrations` an older tool left), whatever the tool's table is called.
 */
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { splitSqlStatements, tokenizeSql, type SqlToken } from "../../src/shared/postgres-tokens.js";
import { fileLineOf } from "./own-transaction.js";
import type { SourceProblem, SourceSection } from "./source.js";

/** The schema a tool's unqualified table lands in by default, as each dialect folds it: a name qualified with another schema is some other table of that name. */
const DEFAULT_SCHEMA: Record<SqlDialect, string> = { postgres: "public", sqlite: "main" };

/** Keywords after which a name is a table's (`ALTER TABLE t`, `INSERT INTO t`, `CREATE TRIGGER … ON t`, `REFERENCES t`, `LOCK t`, `DROP TABLE IF EXISTS t`, `UPDATE ONLY t`); `LIKE` and `INHERITS` are placed apart. */
const BEFORE_TABLE = new Set(["TABLE", "FROM", "JOIN", "INTO", "UPDATE", "ON", "REFERENCES", "TRUNCATE", "LOCK", "ONLY", "EXISTS", "USING", "COPY", "ANALYZE", "VACUUM", "CLUSTER"]);

/** SQLite's conflict clauses between UPDATE and its table (`UPDATE OR IGNORE t`). */
const CONFLICT_ACTIONS = new Set(["ROLLBACK", "ABORT", "REPLACE", "FAIL", "IGNORE"]);

/**
 * One problem per statement of `section` that names `table` as a table (not a column, an index or a table of that name in another schema), unqualified or in the default schema, outside strings
 * and comments; none when the tool has no `table` to name. Names compare as the dialect does: PostgreSQL folds an unquoted name to lower case and keeps a quoted one as written, SQLite ignores case.
 */
export function findHistoryTableReferences(section: SourceSection, tool: string, table: string | undefined, dialect: SqlDialect): SourceProblem[] {
  if (table === undefined) return [];
  return linesNaming(section, table, dialect, DEFAULT_SCHEMA[dialect]).map((line) => ({
    file: section.file,
    line,
    message: `this statement names ${tool}'s own history table ${table}, which a database stepwise migrates from empty does not have (stepwise keeps its history in a table of its own, which may even bear that name), so it fails there or changes stepwise's history; remove the statement from ${section.file} (stepwise adopt keeps ${table} on databases ${tool} made, and --drop-old-table drops it), then import again`,
  }));
}

/** `STEPWISE_HISTORY_TABLE_NAMED`: the problem code of a statement naming the table stepwise keeps its own history in. */
export const STEPWISE_HISTORY_TABLE_NAMED = "STEPWISE_HISTORY_TABLE_NAMED";

/**
 * One problem per statement of `section` that names stepwise's own history table (`table`, in `schema`) as a table, as {@link findHistoryTableReferences} finds them. The tool's table of that name
 * was another (an older tool's, as crates.io's `DROP TABLE IF EXISTS schema_migrations` after leaving one): under stepwise the statement would read or change stepwise's history, which the run
 * refuses only when it writes, and far from its cause. Renaming stepwise's table is the fix; the tool's SQL stays as it ran.
 */
export function findStepwiseTableReferences(section: SourceSection, table: string, schema: string | null, dialect: SqlDialect): SourceProblem[] {
  return linesNaming(section, table, dialect, schema ?? DEFAULT_SCHEMA[dialect]).map((line) => ({
    file: section.file,
    line,
    code: STEPWISE_HISTORY_TABLE_NAMED,
    message: `this statement names ${table}, the table stepwise keeps its own history in (the "tableName" of the stepwise config, schema_migrations by default), so under stepwise it would read or change stepwise's history instead of the table the tool's database had; set "tableName" in the stepwise config to a name none of the migrations use (such as "stepwise_history"), then import again`,
  }));
}

/** The file lines of the statements of `section` that name `table` as a table, unqualified or in `schema`. */
function linesNaming(section: SourceSection, table: string, dialect: SqlDialect, schema: string): number[] {
  const same = (token: SqlToken | undefined, name: string) => {
    const folded = token === undefined ? null : nameOf(token, dialect);
    return folded !== null && (dialect === "sqlite" ? folded.toLowerCase() === name.toLowerCase() : folded === name);
  };
  return splitSqlStatements(tokenizeSql(section.sql, dialect), dialect).flatMap(({ tokens }): number[] => {
    const at = tokens.findIndex((token, index) => {
      // `schema_migrations.version` is a column: the statement names the table elsewhere, where it counts.
      if (!same(token, table) || tokens[index + 1]?.text === ".") return false;
      const qualified = tokens[index - 1]?.text === "." && tokens[index - 1]?.kind === "punctuation";
      if (qualified && !same(tokens[index - 2], schema)) return false;
      return isTablePosition(tokens, qualified ? index - 2 : index);
    });
    return at === -1 ? [] : [fileLineOf(section, tokens[at]!.line)];
  });
}

/** Whether the name starting at `start` stands where a table's does: after a keyword that takes one, after `RENAME TO`, or later in a list of them (`DROP TABLE a, t`, `FROM a x, t`). */
function isTablePosition(tokens: readonly SqlToken[], start: number): boolean {
  const isName = (index: number) => tokens[index]?.kind === "word" || tokens[index]?.kind === "quoted-identifier";
  let at = start - 1;
  // Back over earlier items of a list, each a name (`a`, `s.a`) with an alias or none (`a x`, `a AS x`), to what opened it: `ORDER BY a, t` is opened by no table keyword.
  while (tokens[at]?.text === "," && tokens[at]?.kind === "punctuation") {
    at--;
    if (isName(at) && tokens[at - 1]?.kind === "word" && tokens[at - 1]!.text.toUpperCase() === "AS") at -= 2;
    else if (isName(at) && isName(at - 1) && !isTableKeyword(tokens, at - 1)) at--;
    if (!isName(at)) return false;
    while (tokens[at - 1]?.text === "." && isName(at - 2)) at -= 2;
    at--;
  }
  return isTableKeyword(tokens, at);
}

/** Whether the token at `at` is a keyword a table's name follows. */
function isTableKeyword(tokens: readonly SqlToken[], at: number): boolean {
  const word = (index: number) => (tokens[index]?.kind === "word" && tokens[index - 1]?.text !== "." ? tokens[index]!.text.toUpperCase() : null);
  // `CREATE TABLE t (LIKE src)` and `INHERITS (a, b)` name tables inside the parenthesis.
  if (tokens[at]?.text === "(" && tokens[at]?.kind === "punctuation") return word(at - 1) === "INHERITS";
  const keyword = word(at);
  if (keyword === null) return false;
  if (keyword === "LIKE") return tokens[at - 1]?.text === "(";
  if (BEFORE_TABLE.has(keyword)) return true;
  if (keyword === "TO") return word(at - 1) === "RENAME";
  return CONFLICT_ACTIONS.has(keyword) && word(at - 1) === "OR" && word(at - 2) === "UPDATE";
}

/** A word's or quoted identifier's name as `dialect` reads it (PostgreSQL folds a bare word to lower case and keeps a quoted one as written); `null` for other tokens. */
function nameOf(token: SqlToken, dialect: SqlDialect): string | null {
  if (token.kind === "word") return dialect === "postgres" ? token.text.toLowerCase() : token.text;
  if (token.kind !== "quoted-identifier" || token.unterminated) return null;
  const quote = token.text[0]!;
  const inner = token.text.slice(1, -1);
  return quote === "[" ? inner : inner.replaceAll(quote + quote, quote);
}

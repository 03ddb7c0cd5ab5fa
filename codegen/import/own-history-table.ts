/**
 * Statements in another tool's SQL that name that tool's own history table (Lemmy's trigger on `__diesel_schema_migrations`, Harbor's column added to golang-migrate's `schema_migrations`): a database
 * stepwise migrates from empty has no such table, so the statement fails there, or, where stepwise's own table bears the name, changes stepwise's history. Each is refused at its line, with the fix.
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
  const same = (token: SqlToken | undefined, name: string) => {
    const folded = token === undefined ? null : nameOf(token, dialect);
    return folded !== null && (dialect === "sqlite" ? folded.toLowerCase() === name.toLowerCase() : folded === name);
  };
  return splitSqlStatements(tokenizeSql(section.sql, dialect), dialect).flatMap(({ tokens }): SourceProblem[] => {
    const at = tokens.findIndex((token, index) => {
      // `schema_migrations.version` is a column: the statement names the table elsewhere, where it counts.
      if (!same(token, table) || tokens[index + 1]?.text === ".") return false;
      const qualified = tokens[index - 1]?.text === "." && tokens[index - 1]?.kind === "punctuation";
      if (qualified && !same(tokens[index - 2], DEFAULT_SCHEMA[dialect])) return false;
      return isTablePosition(tokens, qualified ? index - 2 : index);
    });
    if (at === -1) return [];
    return [
      {
        file: section.file,
        line: fileLineOf(section, tokens[at]!.line),
        message: `this statement names ${tool}'s own history table ${table}, which a database stepwise migrates from empty does not have (stepwise keeps its history in a table of its own, which may even bear that name), so it fails there or changes stepwise's history; remove the statement from ${section.file} (stepwise adopt keeps ${table} on databases ${tool} made, and --drop-old-table drops it), then import again`,
      },
    ];
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

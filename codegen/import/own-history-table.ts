/**
 * Statements in another tool's SQL that name that tool's own history table (Lemmy's trigger on `__diesel_schema_migrations`, Harbor's column added to golang-migrate's `schema_migrations`): a database
 * stepwise migrates from empty has no such table, so the statement fails there, or, where stepwise's own table bears the name, changes stepwise's history. Each is refused at its line, with the fix.
 */
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { splitSqlStatements, tokenizeSql } from "../../src/shared/postgres-tokens.js";
import { sourceLine } from "./marker-lookalikes.js";
import type { SourceProblem, SourceSection } from "./source.js";

/** The schemas a tool's unqualified table lands in by default: a name qualified with another schema is some other table of that name. */
const DEFAULT_SCHEMAS = new Set(["public", "main"]);

/** One problem per statement of `section` that names `table` unqualified (or in the default schema), outside strings and comments; none when the tool has no `table` to name. */
export function findHistoryTableReferences(section: SourceSection, tool: string, table: string | undefined, dialect: SqlDialect): SourceProblem[] {
  if (table === undefined) return [];
  return splitSqlStatements(tokenizeSql(section.sql, dialect), dialect).flatMap(({ tokens }): SourceProblem[] => {
    const at = tokens.findIndex((token, index) => {
      if (unquoteName(token.text, token.kind) !== table.toLowerCase()) return false;
      if (tokens[index + 1]?.text === ".") return false;
      if (tokens[index - 1]?.text !== ".") return true;
      const schema = tokens[index - 2];
      return schema !== undefined && DEFAULT_SCHEMAS.has(unquoteName(schema.text, schema.kind) ?? "");
    });
    if (at === -1) return [];
    return [
      {
        file: section.file,
        line: sourceLine(section, tokens[at]!.line - 1),
        message: `this statement names ${tool}'s own history table ${table}, which a database stepwise migrates from empty does not have (stepwise keeps its history in a table of its own, which may even bear that name), so it fails there or changes stepwise's history; remove the statement from ${section.file} (stepwise adopt keeps ${table} on databases ${tool} made, and --drop-old-table drops it), then import again`,
      },
    ];
  });
}

/** A word's or quoted identifier's name, lower-cased for comparison; `null` for other tokens. */
function unquoteName(text: string, kind: string): string | null {
  if (kind === "word") return text.toLowerCase();
  if (kind !== "quoted-identifier") return null;
  return text.slice(1, -1).replaceAll('""', '"').toLowerCase();
}

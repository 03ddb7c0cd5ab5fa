/**
 * A SQL script cut into its statements, for the Cloudflare storages: D1's `prepare` takes one
 * statement, and a Durable Object's `sql.exec` refuses a script whose text after the last `;` holds
 * no statement (a trailing comment, `;;`, or a `-- migrate:empty` section), so both run statements.
 */
import { splitSqliteStatements, tokenizeSqliteSql } from "../shared/sqlite-tokens.js";

/**
 * The statements of `script`, each as SQLite reads it (a trigger's body stays whole), without the
 * comments between them; `[]` for a script of only comments and semicolons.
 */
export function statementTexts(script: string): string[] {
  return splitSqliteStatements(tokenizeSqliteSql(script)).map(({ tokens }) => {
    const first = tokens[0]!;
    const last = tokens[tokens.length - 1]!;
    return script.slice(first.offset, last.offset + last.text.length);
  });
}

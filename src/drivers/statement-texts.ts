import { splitSqliteStatements, tokenizeSqliteSql } from "../shared/sqlite-tokens.js";

/** The statements of `script` as SQLite reads them (a trigger's body whole), without the comments between them; `[]` for only comments and semicolons. For the libraries that run one statement at a
 * time (D1's `prepare`; a Durable Object's `sql.exec` refuses a script with an empty tail). */
export function statementTexts(script: string): string[] {
  return splitSqliteStatements(tokenizeSqliteSql(script)).map(({ tokens }) => {
    const first = tokens[0]!;
    const last = tokens[tokens.length - 1]!;
    return script.slice(first.offset, last.offset + last.text.length);
  });
}

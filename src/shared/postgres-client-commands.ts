/**
 * What only psql can run, found in a postgres migration. Files copied from `pg_dump` output or from
 * scripts written for psql hold meta-commands (`\connect`, `\set`, the `\.` that ends COPY data) and
 * `COPY … FROM STDIN`, whose rows psql sends after the statement. stepwise sends a migration's SQL to
 * the server on the app's connection, where neither can run, so `gen` names each one with its fix
 * instead of leaving the first `up` to fail on the server.
 */
import { splitPostgresStatements } from "./postgres-tokens.js";
import type { SqlToken } from "./sql-tokens.js";

/** A psql-only command, positioned at its first token. */
export interface ClientCommandProblem {
  readonly code: "SQL_PSQL_ONLY";
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * Checks one section's PostgreSQL tokens. A backslash outside strings, quoted names and comments can
 * only be a psql meta-command: no PostgreSQL operator or token contains one.
 */
export function findClientCommandProblems(sectionTokens: readonly SqlToken[]): ClientCommandProblem[] {
  const problems: ClientCommandProblem[] = [];
  // psql reads a meta-command to the end of its line; the SQL around it is split without those lines.
  const sql: SqlToken[] = [];
  let metaCommandLine = -1;
  sectionTokens.forEach((token, index) => {
    if (token.line === metaCommandLine) return;
    if (token.kind !== "punctuation" || token.text !== "\\") {
      sql.push(token);
      return;
    }
    metaCommandLine = token.line;
    const next = sectionTokens[index + 1];
    const command = next !== undefined && (next.kind === "word" || next.text === ".") && next.line === token.line ? `\\${next.text}` : "\\";
    problems.push({
      code: "SQL_PSQL_ONLY",
      line: token.line,
      column: token.column,
      message: `"${command}" is a psql meta-command, not SQL: the server cannot run it, and stepwise runs the migration on the app's connection; remove it (and any data lines of a COPY it ends)`,
    });
  });
  for (const { tokens } of splitPostgresStatements(sql)) {
    const first = tokens[0]!;
    if (first.kind !== "word" || first.text.toUpperCase() !== "COPY") continue;
    const stream = tokens.find((token, index) => index > 0 && token.kind === "word" && /^(STDIN|STDOUT)$/i.test(token.text) && tokens[index - 1]?.text !== ".");
    if (!stream) continue;
    problems.push({
      code: "SQL_PSQL_ONLY",
      line: first.line,
      column: first.column,
      message: `COPY … ${stream.text.toUpperCase() === "STDIN" ? "FROM STDIN needs psql to send the rows that follow it" : "TO STDOUT needs psql to receive the rows"}; write the rows as INSERT … VALUES, or move them in a TypeScript migration`,
    });
  }
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * Statements a SQL migration may not hold, found by `gen`. A `COMMIT` inside the transaction stepwise
 * runs a migration in would leave the rest unprotected; a statement the database refuses inside a
 * transaction would fail every time; SQLite's `PRAGMA foreign_keys` does nothing there. `ALTER TYPE …
 * ADD VALUE` is accepted: PostgreSQL 12 and later run it in a transaction block. A postgres migration
 * copied from `pg_dump` may also hold what only psql runs (meta-commands, `COPY … FROM STDIN`).
 */
import type { SqlDialect } from "./sql-dialect.js";
import { splitSqlStatements, type SqlToken } from "./sql-tokens.js";

/** A statement refused in a migration, positioned at its first token. */
export interface StatementProblem {
  readonly code: "SQL_TRANSACTION_CONTROL" | "SQL_NEEDS_NO_TRANSACTION" | "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION" | "SQL_PSQL_ONLY";
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

type Found = Pick<StatementProblem, "code" | "message">;

const NO_TRANSACTION = `add "transaction:false" to the "-- migrate:up" line`;
const POSTGRES_FIX = `${NO_TRANSACTION}, and keep that migration to what must run outside a transaction`;

/**
 * Checks one section's tokens (from `tokenizeSql(source, dialect)`). Only a statement's first keywords
 * decide, so an `END` closing a trigger body and a `COMMIT` in a string, comment or function body are text.
 */
export function findTransactionProblems(
  sectionTokens: readonly SqlToken[],
  flags: { readonly transaction: boolean; readonly disableForeignKeys: boolean },
  dialect: SqlDialect = "sqlite",
): StatementProblem[] {
  if (!flags.transaction) return [];
  const problems: StatementProblem[] = [];
  for (const { tokens } of splitSqlStatements(sectionTokens, dialect)) {
    const first = tokens[0]!;
    if (first.kind !== "word") continue;
    const words = leadingWords(tokens);
    const found = isTransactionControl(words, dialect)
      ? transactionControlProblem(tokens, dialect === "postgres" ? POSTGRES_FIX : NO_TRANSACTION)
      : dialect === "postgres"
        ? checkPostgresStatement(words, tokens)
        : checkSqliteStatement(words[0]!, tokens, flags.disableForeignKeys);
    if (found !== null) problems.push({ ...found, line: first.line, column: first.column });
  }
  return problems;
}

function transactionControlProblem(tokens: readonly SqlToken[], fix: string): Found {
  const shown = tokens
    .slice(0, 4)
    .map((token) => token.text)
    .join(" ");
  return {
    code: "SQL_TRANSACTION_CONTROL",
    message: `"${shown}…" controls the transaction that stepwise runs this migration in, so a later failure could no longer be rolled back; remove it, or, if the migration must manage transactions itself, ${fix}`,
  };
}

/** `BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`; on PostgreSQL also `ABORT`, `START TRANSACTION`, `PREPARE TRANSACTION` (`PREPARE name AS …` is fine). */
function isTransactionControl([first, second]: readonly string[], dialect: SqlDialect): boolean {
  if (["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"].includes(first!)) return true;
  return dialect === "postgres" && (first === "ABORT" || ((first === "START" || first === "PREPARE") && second === "TRANSACTION"));
}

/** SQLite's `VACUUM`, a switch to WAL, and `PRAGMA foreign_keys` without the flag that does it right. */
function checkSqliteStatement(keyword: string, tokens: readonly SqlToken[], disableForeignKeys: boolean): Found | null {
  if (keyword === "VACUUM") return { code: "SQL_NEEDS_NO_TRANSACTION", message: `SQLite cannot VACUUM inside a transaction; ${NO_TRANSACTION}` };
  if (keyword !== "PRAGMA") return null;
  // `PRAGMA [schema.]name [= value | (value)]`, lowercased, quotes removed.
  const unquote = (text = "") => (/^['"`[]/.test(text) ? text.slice(1, -1) : text).toLowerCase();
  const at = tokens[2]?.text === "." ? 3 : 1;
  const name = unquote(tokens[at]?.text);
  const value = tokens[at + 1]?.text === "=" || tokens[at + 1]?.text === "(" ? unquote(tokens[at + 2]?.text) : null;
  if (name === "journal_mode" && value === "wal") {
    return { code: "SQL_NEEDS_NO_TRANSACTION", message: `SQLite cannot switch to WAL inside a transaction; ${NO_TRANSACTION}, or set the journal mode when the app opens the database` };
  }
  if (name !== "foreign_keys" || disableForeignKeys) return null;
  return {
    code: "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION",
    message: `PRAGMA foreign_keys does nothing inside a transaction; remove it and add "foreign_keys:off" to the "-- migrate:up" line, which turns enforcement off around the migration and checks the keys before commit`,
  };
}

function checkPostgresStatement(words: readonly string[], tokens: readonly SqlToken[]): Found | null {
  const refused = describeNoTransactionStatement(words, tokens);
  if (refused === null) return null;
  return { code: "SQL_NEEDS_NO_TRANSACTION", message: `PostgreSQL cannot run ${refused} inside a transaction block, and stepwise runs this migration in one; ${POSTGRES_FIX}` };
}

/** The statement's bare words, uppercased, up to its first non-word token. */
function leadingWords(tokens: readonly SqlToken[]): string[] {
  const end = tokens.findIndex((token) => token.kind !== "word");
  return tokens.slice(0, end === -1 ? tokens.length : end).map((token) => token.text.toUpperCase());
}

/** What PostgreSQL refuses inside a transaction block, named as the message shows it, or `null`. */
function describeNoTransactionStatement(words: readonly string[], tokens: readonly SqlToken[]): string | null {
  const [first, second, third] = words;
  const topLevel = topLevelWords(tokens);
  const concurrently = topLevel.includes("CONCURRENTLY");
  const cluster = second === "DATABASE" || second === "TABLESPACE" || second === "SUBSCRIPTION";
  switch (first) {
    case "VACUUM":
      return "VACUUM";
    case "CREATE":
      if ((second === "INDEX" || (second === "UNIQUE" && third === "INDEX")) && concurrently) return "CREATE INDEX CONCURRENTLY";
      return cluster ? `CREATE ${second}` : null;
    case "DROP":
      if (second === "INDEX" && concurrently) return "DROP INDEX CONCURRENTLY";
      return cluster ? `DROP ${second}` : null;
    case "REINDEX": {
      const target = reindexTarget(tokens);
      if (target === "DATABASE" || target === "SYSTEM" || target === "SCHEMA") return `REINDEX ${target}`;
      return concurrently ? "REINDEX … CONCURRENTLY" : null;
    }
    case "ALTER":
      if (second === "SYSTEM") return "ALTER SYSTEM";
      if (second === "DATABASE" && topLevel.includes("TABLESPACE") && topLevel.includes("SET")) return "ALTER DATABASE … SET TABLESPACE";
      return second === "TABLE" && concurrently && topLevel.includes("DETACH") ? "ALTER TABLE … DETACH PARTITION … CONCURRENTLY" : null;
    case "CLUSTER":
      // Without a table, CLUSTER reclusters every table, one transaction each.
      return words.length === tokens.length && words.every((word, index) => index === 0 || word === "VERBOSE") ? "CLUSTER without a table" : null;
    case "DISCARD":
      return second === "ALL" ? "DISCARD ALL" : null;
    default:
      return null;
  }
}

/** The statement's bare words outside parentheses, uppercased, skipping names after a `.`. */
function topLevelWords(tokens: readonly SqlToken[]): string[] {
  const words: string[] = [];
  let depth = 0;
  tokens.forEach((token, index) => {
    if (token.kind === "punctuation" && token.text === "(") depth++;
    else if (token.kind === "punctuation" && token.text === ")") depth = Math.max(0, depth - 1);
    else if (token.kind === "word" && depth === 0 && tokens[index - 1]?.text !== ".") words.push(token.text.toUpperCase());
  });
  return words;
}

/** `REINDEX [ ( options ) ] target …`: the word naming what it rebuilds. */
function reindexTarget(tokens: readonly SqlToken[]): string | undefined {
  let index = 1;
  if (tokens[index]?.text === "(") {
    for (let depth = 0; index < tokens.length; index++) {
      if (tokens[index]!.text === "(") depth++;
      else if (tokens[index]!.text === ")" && --depth === 0) break;
    }
    index++;
  }
  const token = tokens[index];
  return token?.kind === "word" ? token.text.toUpperCase() : undefined;
}

/** Checks one section's PostgreSQL tokens for what only psql can run. A backslash outside strings, quoted names and comments can only be a psql meta-command: no PostgreSQL token contains one. */
export function findClientCommandProblems(sectionTokens: readonly SqlToken[]): StatementProblem[] {
  const problems: StatementProblem[] = [];
  // psql reads a meta-command to the end of its line; the SQL around it is split without those lines.
  const sql: SqlToken[] = [];
  let metaCommandLine = -1;
  sectionTokens.forEach((token, index) => {
    if (token.line === metaCommandLine) return;
    if (token.kind !== "punctuation" || token.text !== "\\") return void sql.push(token);
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
  for (const { tokens } of splitSqlStatements(sql, "postgres")) {
    const first = tokens[0]!;
    if (first.kind !== "word" || first.text.toUpperCase() !== "COPY") continue;
    const stream = tokens.find((token, index) => index > 0 && token.kind === "word" && /^(STDIN|STDOUT)$/i.test(token.text) && tokens[index - 1]?.text !== ".");
    if (!stream) continue;
    const needs = stream.text.toUpperCase() === "STDIN" ? "FROM STDIN needs psql to send the rows that follow it" : "TO STDOUT needs psql to receive the rows";
    problems.push({ code: "SQL_PSQL_ONLY", line: first.line, column: first.column, message: `COPY … ${needs}; write the rows as INSERT … VALUES, or move them in a TypeScript migration` });
  }
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * Statements a SQL migration may not hold, found when `gen` reads the file, each with its fix.
 *
 * stepwise wraps each transactional migration and its history row in one transaction; a `COMMIT`
 * inside it would commit half the migration and leave the rest to run outside any transaction, so a
 * later error could no longer be rolled back. A statement the database refuses inside a transaction
 * (SQLite's `VACUUM`; PostgreSQL's "cannot run inside a transaction block") would fail every time it
 * runs, and SQLite's `PRAGMA foreign_keys` does nothing there. `ALTER TYPE … ADD VALUE` is accepted:
 * since PostgreSQL 12 it may run in a transaction block (the new value only becomes usable once the
 * migration commits, and using it earlier fails and rolls back), and every PostgreSQL release before
 * 12 is out of support.
 *
 * A postgres migration copied from `pg_dump` output or written for psql may also hold what only psql
 * can run: meta-commands (`\connect`, `\set`, the `\.` that ends COPY data) and `COPY … FROM STDIN`,
 * whose rows psql sends after the statement. stepwise sends a migration's SQL to the server on the
 * app's connection, where neither can run.
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
 * Checks one section's tokens (positions as in the file), from `tokenizeSql(source, dialect)`. Only
 * a statement's first keyword decides, and only statements count: `END` closing a trigger body or a
 * `CASE`, and a `COMMIT` inside a dollar-quoted function body, a string or a comment, are text.
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
        : checkSqliteStatement(words[0]!, tokens, flags);
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

/** `BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`; on PostgreSQL also `ABORT`, `START TRANSACTION`, `PREPARE TRANSACTION`. */
function isTransactionControl(words: readonly string[], dialect: SqlDialect): boolean {
  switch (words[0]) {
    case "BEGIN":
    case "COMMIT":
    case "END":
    case "ROLLBACK":
    case "SAVEPOINT":
    case "RELEASE":
      return true;
    case "ABORT":
      return dialect === "postgres";
    case "START":
    case "PREPARE":
      // `PREPARE name AS …` prepares a statement, which is fine.
      return dialect === "postgres" && words[1] === "TRANSACTION";
    default:
      return false;
  }
}

/** SQLite's `VACUUM`, a switch to WAL, and `PRAGMA foreign_keys` without the flag that does it right. */
function checkSqliteStatement(keyword: string, tokens: readonly SqlToken[], flags: { readonly disableForeignKeys: boolean }): Found | null {
  if (keyword === "VACUUM") return { code: "SQL_NEEDS_NO_TRANSACTION", message: `SQLite cannot VACUUM inside a transaction; ${NO_TRANSACTION}` };
  if (keyword !== "PRAGMA") return null;
  const { name, value } = readPragma(tokens);
  if (name === "journal_mode" && value === "wal") {
    return {
      code: "SQL_NEEDS_NO_TRANSACTION",
      message: `SQLite cannot switch to WAL inside a transaction; ${NO_TRANSACTION}, or set the journal mode when the app opens the database`,
    };
  }
  if (name === "foreign_keys" && !flags.disableForeignKeys) {
    return {
      code: "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION",
      message: `PRAGMA foreign_keys does nothing inside a transaction; remove it and add "foreign_keys:off" to the "-- migrate:up" line, which turns enforcement off around the migration and checks the keys before commit`,
    };
  }
  return null;
}

/** `PRAGMA [schema.]name [= value | (value)]`, lowercased, quotes removed. */
function readPragma(tokens: readonly SqlToken[]): { name: string; value: string | null } {
  let index = 1;
  if (tokens[index + 1]?.text === ".") index += 2;
  const name = unquote(tokens[index]?.text ?? "").toLowerCase();
  const next = tokens[index + 1]?.text;
  const value = next === "=" || next === "(" ? unquote(tokens[index + 2]?.text ?? "").toLowerCase() : null;
  return { name, value };
}

function unquote(text: string): string {
  return /^['"`[]/.test(text) ? text.slice(1, -1) : text;
}

function checkPostgresStatement(words: readonly string[], tokens: readonly SqlToken[]): Found | null {
  const refused = describeNoTransactionStatement(words, tokens);
  if (refused === null) return null;
  return { code: "SQL_NEEDS_NO_TRANSACTION", message: `PostgreSQL cannot run ${refused} inside a transaction block, and stepwise runs this migration in one; ${POSTGRES_FIX}` };
}

/** The statement's bare words, uppercased, up to its first non-word token. */
function leadingWords(tokens: readonly SqlToken[]): string[] {
  const words: string[] = [];
  for (const token of tokens) {
    if (token.kind !== "word") break;
    words.push(token.text.toUpperCase());
  }
  return words;
}

/** What PostgreSQL refuses inside a transaction block, named as the message shows it, or `null`. */
function describeNoTransactionStatement(words: readonly string[], tokens: readonly SqlToken[]): string | null {
  const [first, second, third] = words;
  const concurrently = topLevelWords(tokens).includes("CONCURRENTLY");
  switch (first) {
    case "VACUUM":
      return "VACUUM";
    case "CREATE":
      if ((second === "INDEX" || (second === "UNIQUE" && third === "INDEX")) && concurrently) return "CREATE INDEX CONCURRENTLY";
      if (second === "DATABASE" || second === "TABLESPACE" || second === "SUBSCRIPTION") return `CREATE ${second}`;
      return null;
    case "DROP":
      if (second === "INDEX" && concurrently) return "DROP INDEX CONCURRENTLY";
      if (second === "DATABASE" || second === "TABLESPACE" || second === "SUBSCRIPTION") return `DROP ${second}`;
      return null;
    case "REINDEX": {
      const target = reindexTarget(tokens);
      if (target === "DATABASE" || target === "SYSTEM" || target === "SCHEMA") return `REINDEX ${target}`;
      return concurrently ? "REINDEX … CONCURRENTLY" : null;
    }
    case "ALTER":
      if (second === "SYSTEM") return "ALTER SYSTEM";
      if (second === "DATABASE" && topLevelWords(tokens).includes("TABLESPACE") && topLevelWords(tokens).includes("SET")) return "ALTER DATABASE … SET TABLESPACE";
      if (second === "TABLE" && concurrently && topLevelWords(tokens).includes("DETACH")) return "ALTER TABLE … DETACH PARTITION … CONCURRENTLY";
      return null;
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
    let depth = 0;
    for (; index < tokens.length; index++) {
      if (tokens[index]!.text === "(") depth++;
      else if (tokens[index]!.text === ")" && --depth === 0) break;
    }
    index++;
  }
  const token = tokens[index];
  return token?.kind === "word" ? token.text.toUpperCase() : undefined;
}

/**
 * Checks one section's PostgreSQL tokens for what only psql can run. A backslash outside strings,
 * quoted names and comments can only be a psql meta-command: no PostgreSQL operator or token
 * contains one.
 */
export function findClientCommandProblems(sectionTokens: readonly SqlToken[]): StatementProblem[] {
  const problems: StatementProblem[] = [];
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
  for (const { tokens } of splitSqlStatements(sql, "postgres")) {
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

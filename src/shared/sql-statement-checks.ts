/** Statements a SQL migration may not hold: its own transaction control, what the database refuses inside a transaction, SQLite's `PRAGMA foreign_keys`, and what only psql runs. */
import type { SqlDialect } from "./sql-dialect.js";
import { splitPostgresStatements, splitSqlStatements, tokenizePostgresSql, type SqlToken } from "./postgres-tokens.js";
import { significantTokens } from "./sqlite-tokens.js";

type StatementCode = "SQL_TRANSACTION_CONTROL" | "SQL_NEEDS_NO_TRANSACTION" | "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION" | "SQL_PSQL_ONLY";
/** Where a refused statement is reported: its code, and its first token's place. */
export type ReportStatement = (code: StatementCode, line: number, column: number, message: string) => void;

const NO_TRANSACTION = `add "transaction:false" to the "-- migrate:up" line`;
const POSTGRES_FIX = `${NO_TRANSACTION}, and keep that migration to what must run outside a transaction`;

/**
 * Checks one section's tokens. Only a statement's first keywords decide, so a `COMMIT` in a string, comment or body is text; without a transaction only psql's commands are refused,
 * and, where the storage runs each migration as one batch (`batchOnly`, D1), transaction control.
 */
export function reportStatementProblems(
  sectionTokens: readonly SqlToken[],
  flags: { transaction: boolean; disableForeignKeys: boolean; batchOnly?: boolean },
  dialect: SqlDialect,
  report: ReportStatement,
): void {
  for (const { tokens } of flags.transaction || flags.batchOnly === true ? splitSqlStatements(sectionTokens, dialect) : []) {
    const first = tokens[0]!;
    if (first.kind !== "word") continue;
    const end = tokens.findIndex((token) => token.kind !== "word");
    const words = tokens.slice(0, end === -1 ? tokens.length : end).map((token) => token.text.toUpperCase());
    const at = (code: StatementCode, message: string) => report(code, first.line, first.column, message);
    const control = /^(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)$/.test(words[0]!) || (dialect === "postgres" && /^(ABORT|START TRANSACTION|PREPARE TRANSACTION)( |$)/.test(words.join(" ")));
    const shown = tokens.slice(0, 4).map((token) => token.text);
    if (control && flags.batchOnly === true) {
      at("SQL_TRANSACTION_CONTROL", `"${shown.join(" ")}…" controls a transaction, which D1 refuses in any migration ("target": "d1" runs each as one batch, atomically); remove it`);
    } else if (!flags.transaction) {
      continue;
    } else if (control) {
      const fix = `if the migration must manage transactions itself, ${dialect === "postgres" ? POSTGRES_FIX : NO_TRANSACTION}`;
      at("SQL_TRANSACTION_CONTROL", `"${shown.join(" ")}…" controls the transaction that stepwise runs this migration in, so a later failure could no longer be rolled back; remove it, or, ${fix}`);
    } else if (dialect === "postgres") {
      const refused = describeNoTransactionStatement(words, tokens);
      if (refused !== null) at("SQL_NEEDS_NO_TRANSACTION", `PostgreSQL cannot run ${refused} inside a transaction block, and stepwise runs this migration in one; ${POSTGRES_FIX}`);
    } else if (words[0] === "VACUUM") {
      at("SQL_NEEDS_NO_TRANSACTION", `SQLite cannot VACUUM inside a transaction; ${NO_TRANSACTION}`);
    } else if (words[0] === "PRAGMA") {
      // `PRAGMA [schema.]name [= value | (value)]`, lowercased, quotes removed.
      const unquote = (text = "") => (/^['"`[]/.test(text) ? text.slice(1, -1) : text).toLowerCase();
      const name = tokens[2]?.text === "." ? 3 : 1;
      const value = tokens[name + 1]?.text === "=" || tokens[name + 1]?.text === "(" ? unquote(tokens[name + 2]?.text) : null;
      // Into WAL it fails; out of it, it fails before any write and after one does nothing, the migration recorded as applied: which mode a database is in is known only when it runs.
      if (unquote(tokens[name]?.text) === "journal_mode" && value !== null) {
        at(
          "SQL_NEEDS_NO_TRANSACTION",
          `SQLite cannot switch a database into or out of WAL inside a transaction (out of it, after a write, the pragma does nothing); ${NO_TRANSACTION}, or set the journal mode when the app opens the database`,
        );
      } else if (/^(synchronous|temp_store)$/.test(unquote(tokens[name]?.text)) && value !== null) {
        // temp_store fails once the connection has a temporary database, which the app's own temporary tables make.
        const setting = unquote(tokens[name]?.text);
        at(
          "SQL_NEEDS_NO_TRANSACTION",
          `SQLite refuses to change PRAGMA ${setting} inside a transaction; ${NO_TRANSACTION} (it then holds for the rest of that migration, and stepwise puts it back after), or set it when the app opens the database`,
        );
      } else if (unquote(tokens[name]?.text) === "wal_checkpoint") {
        at("SQL_NEEDS_NO_TRANSACTION", `SQLite cannot checkpoint a WAL database inside a transaction ("database table is locked"); ${NO_TRANSACTION}`);
      } else if (unquote(tokens[name]?.text) === "foreign_keys" && !flags.disableForeignKeys) {
        const message = `PRAGMA foreign_keys does nothing inside a transaction; remove it and add "foreign_keys:off" to the "-- migrate:up" line, which turns enforcement off around the migration and checks the keys before commit`;
        at("FOREIGN_KEYS_PRAGMA_IN_TRANSACTION", message);
      }
    }
  }
  if (dialect === "postgres") reportClientCommands(sectionTokens, report);
}

/** What PostgreSQL refuses inside a transaction block, named as the message shows it, or `null`. */
function describeNoTransactionStatement(words: readonly string[], tokens: readonly SqlToken[]): string | null {
  const [first, second, third] = words;
  const topLevel: string[] = [];
  let depth = 0;
  tokens.forEach((token, index) => {
    if (token.kind === "punctuation" && token.text === "(") depth++;
    else if (token.kind === "punctuation" && token.text === ")") depth = Math.max(0, depth - 1);
    else if (token.kind === "word" && depth === 0 && tokens[index - 1]?.text !== ".") topLevel.push(token.text.toUpperCase());
  });
  const concurrently = topLevel.includes("CONCURRENTLY");
  const cluster = second === "DATABASE" || second === "TABLESPACE" || second === "SUBSCRIPTION";
  switch (first) {
    case "VACUUM":
      return "VACUUM";
    case "CREATE":
    case "DROP":
      if (concurrently && (second === "INDEX" || (first === "CREATE" && second === "UNIQUE" && third === "INDEX"))) return `${first} INDEX CONCURRENTLY`;
      return cluster ? `${first} ${second}` : null;
    case "REINDEX":
      // `REINDEX [ ( options ) ] target …`: the first word outside the options names what it rebuilds.
      if (/^(DATABASE|SYSTEM|SCHEMA)$/.test(topLevel[1] ?? "")) return `REINDEX ${topLevel[1]}`;
      return concurrently ? "REINDEX … CONCURRENTLY" : null;
    case "ALTER":
      if (second === "SYSTEM") return "ALTER SYSTEM";
      if (second === "SUBSCRIPTION") return describeSubscriptionChange(topLevel, tokens);
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

/**
 * What of an `ALTER SUBSCRIPTION` PostgreSQL refuses inside a transaction block, or `null`: `REFRESH PUBLICATION`; `SET|ADD|DROP PUBLICATION`, which refresh unless given
 * `refresh = false`; and `SET (failover = …)` or `SET (two_phase = false)`.
 */
function describeSubscriptionChange(topLevel: readonly string[], tokens: readonly SqlToken[]): string | null {
  const at = topLevel.indexOf("PUBLICATION");
  if (topLevel[at - 1] === "REFRESH") return "ALTER SUBSCRIPTION … REFRESH PUBLICATION";
  // The options, as `name [= value]`, lowercased and unquoted.
  const option = (name: string): string | null => {
    const index = tokens.findIndex((token) => token.kind === "word" && token.text.toLowerCase() === name);
    if (index === -1) return null;
    return tokens[index + 1]?.text === "=" ? (tokens[index + 2]?.text ?? "").replace(/^'|'$/g, "").toLowerCase() : "true";
  };
  const off = (value: string | null) => value !== null && /^(false|off|0)$/.test(value);
  if (at > 0 && /^(SET|ADD|DROP)$/.test(topLevel[at - 1]!) && !off(option("refresh"))) return `ALTER SUBSCRIPTION … ${topLevel[at - 1]} PUBLICATION without refresh = false`;
  if (topLevel.includes("SET") && at === -1 && option("failover") !== null) return "ALTER SUBSCRIPTION … SET (failover)";
  return topLevel.includes("SET") && at === -1 && off(option("two_phase")) ? "ALTER SUBSCRIPTION … SET (two_phase = false)" : null;
}

/** Reports what only psql can run. A backslash outside strings, quoted names and comments can only be a psql meta-command: no PostgreSQL token contains one. */
function reportClientCommands(sectionTokens: readonly SqlToken[], report: ReportStatement): void {
  // psql reads a meta-command to the end of its line.
  const sql: SqlToken[] = [];
  let metaCommandLine = -1;
  sectionTokens.forEach((token, index) => {
    if (token.line === metaCommandLine) return;
    if (token.kind !== "punctuation" || token.text !== "\\") return void sql.push(token);
    metaCommandLine = token.line;
    const next = sectionTokens[index + 1];
    const command = next !== undefined && (next.kind === "word" || next.text === ".") && next.line === token.line ? `\\${next.text}` : "\\";
    const message = `"${command}" is a psql meta-command, not SQL: the server cannot run it, and stepwise runs the migration on the app's connection; remove it (and any data lines of a COPY it ends)`;
    report("SQL_PSQL_ONLY", token.line, token.column, message);
  });
  for (const { tokens } of splitSqlStatements(sql, "postgres")) {
    const stream = copyStream(tokens);
    if (!stream) continue;
    const needs = stream.text.toUpperCase() === "STDIN" ? 'FROM STDIN needs psql to send the rows on the lines after it, up to "\\."' : "TO STDOUT needs psql to receive the rows";
    report("SQL_PSQL_ONLY", tokens[0]!.line, tokens[0]!.column, `COPY … ${needs}; write the rows as INSERT … VALUES, or move them in a TypeScript migration`);
  }
}

/** The `STDIN` or `STDOUT` word of a `COPY` statement's tokens, which only psql can serve. */
function copyStream(tokens: readonly SqlToken[]): SqlToken | undefined {
  if (tokens[0]?.kind !== "word" || tokens[0].text.toUpperCase() !== "COPY") return undefined;
  return tokens.find((token, index) => index > 0 && token.kind === "word" && /^(STDIN|STDOUT)$/i.test(token.text) && tokens[index - 1]?.text !== ".");
}

/**
 * `text` with the rows after each `COPY … FROM STDIN;` blanked, up to the `\.` line that ends them (line breaks and columns kept). psql sends them as data, not SQL: read as SQL, a quote in a
 * row (`O'Brien`) or a `\N` would bury the COPY's own refusal under problems of its data, and swallow the file after it.
 */
export function blankCopyRows(text: string): string {
  let [done, rest] = ["", text];
  while (rest !== "") {
    // Up to the next `\.` line: each part is tokenised once.
    const end = /^\\\.[ \t\r]*$/m.exec(rest);
    const partEnd = end === null ? rest.length : end.index;
    const tokens = tokenizePostgresSql(rest.slice(0, partEnd));
    const copy = splitPostgresStatements(tokens)
      .find((statement) => copyStream(statement.tokens)?.text.toUpperCase() === "STDIN")
      ?.tokens.at(-1);
    const significant = significantTokens(tokens);
    const semicolon = copy && significant[significant.indexOf(copy) + 1];
    const rowsStart = semicolon?.text === ";" ? rest.indexOf("\n", semicolon.offset) + 1 || partEnd : partEnd;
    done += rest.slice(0, rowsStart) + rest.slice(rowsStart, partEnd).replace(/[^\r\n]/g, " ") + (end?.[0] ?? "");
    rest = rest.slice(partEnd + (end?.[0].length ?? 0));
  }
  return done;
}

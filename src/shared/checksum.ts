/** Checksums follow a migration's meaning, not its formatting. SQL is made canonical here, TypeScript in codegen; recorded checksums must never move. */
import { createHash } from "node:crypto";
import type { SqlDialect } from "./sql-dialect.js";
import { tokenizePostgresSql } from "./postgres-tokens.js";
import { findClosingQuote, runOf, tokenizeWith, type SqlToken } from "./sqlite-tokens.js";

/** Bumped whenever canonicalisation changes, so old and new digests can never be confused. */
const CHECKSUM_FORMAT_VERSION = 1;

/** The facts about a SQL migration that its checksum covers. */
export interface SqlChecksumInput {
  readonly upSql: string;
  readonly downSql: string | null;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  /** The section is marked deliberately empty (`-- migrate:empty`). Default `false`. */
  readonly emptyUp?: boolean;
  readonly emptyDown?: boolean;
  /** How the SQL is tokenised. Default `sqlite`. */
  readonly dialect?: SqlDialect;
}

/** Hashes a canonical form into the digest the registry and the history table hold: SHA-256, 64 lowercase hex characters. */
export function hashCanonicalMigration(kind: "ts" | "sql", canonical: string): string {
  return createHash("sha256").update(`stepwise:${CHECKSUM_FORMAT_VERSION}:${kind}\0`).update(canonical).digest("hex");
}

/** The checksum of a SQL migration; its flags are included because they change what running it does. */
export function checksumSqlMigration(input: SqlChecksumInput): string {
  const dialect = input.dialect ?? "sqlite";
  const parts = [
    `transaction=${input.transaction}`,
    `disable_foreign_keys=${input.disableForeignKeys}`,
    `up=${canonicalizeSql(input.upSql, dialect)}`,
    input.downSql === null ? "down=<none>" : `down=${canonicalizeSql(input.downSql, dialect)}`,
  ];
  // Only a postgres checksum names its dialect, and the empty flags only when set: older checksums stay as they were.
  if (dialect !== "sqlite") parts.unshift(`dialect=${dialect}`);
  if (input.emptyUp) parts.push("empty_up=true");
  if (input.emptyDown) parts.push("empty_down=true");
  // The NUL join is unambiguous only while no part holds one (a result-column section does); JSON never collides with it.
  const joined = parts.some((part) => part.includes("\0")) ? JSON.stringify(parts) : parts.join("\0");
  return hashCanonicalMigration("sql", joined);
}

const SPACE_FREE_PUNCTUATION = new Set(["(", ")", ",", ";"]);

interface CanonicalToken {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly spaceBefore: boolean;
}

/** The tokens kept (comments dropped) and their canonical text: whitespace runs one space, none next to `( ) , ;`. */
function canonicalTokens(tokens: readonly SqlToken[]): { text: string; kept: CanonicalToken[] } {
  const kept: CanonicalToken[] = [];
  let text = "";
  let pendingSpace = false;
  for (const { kind, text: token, offset } of tokens) {
    if (kind === "whitespace" || kind === "line-comment" || kind === "block-comment") {
      pendingSpace = true;
      continue;
    }
    const spaceBefore = pendingSpace && kept.length > 0 && !SPACE_FREE_PUNCTUATION.has(kept.at(-1)!.text) && !SPACE_FREE_PUNCTUATION.has(token);
    text += spaceBefore ? ` ${token}` : token;
    kept.push({ text: token, start: offset, end: offset + token.length, spaceBefore });
    pendingSpace = false;
  }
  return { text, kept };
}

/** PostgreSQL SQL's canonical form: its tokens, comments dropped; PostgreSQL names no result column after its text, so nothing else is recorded. */
export function canonicalizePostgresSql(sql: string): string {
  return canonicalTokens(tokenizePostgresSql(sql)).text;
}

/** What SQLite's tokenizer skips (a U+FEFF only where a token would start); any other character, a no-break space too, is part of an identifier. */
const SQLITE_WHITESPACE = /[ \t\n\f\r\uFEFF]/;
const IDENTIFIER_START = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const isIdentifierPart = (char: string) => /[A-Za-z0-9_$.\u0080-\uFFFF]/.test(char);

/** SQLite's tokens as its canonical form cuts them: a dotted name is one token; a line comment takes its line break. */
function tokenizeCanonicalSqlite(sql: string): SqlToken[] {
  return tokenizeWith(sql, (index) => {
    const char = sql[index]!;
    if (SQLITE_WHITESPACE.test(char)) return ["whitespace", index + 1];
    if (char === "-" && sql[index + 1] === "-") return ["line-comment", sql.indexOf("\n", index) + 1 || sql.length];
    if (char === "/" && sql[index + 1] === "*") {
      const close = sql.indexOf("*/", index + 2);
      return ["block-comment", close === -1 ? -1 : close + 2];
    }
    if (char === "'" || char === '"' || char === "`") return ["string", findClosingQuote(sql, index + 1, char)];
    if (char === "[") return ["quoted-identifier", sql.indexOf("]", index + 1) + 1 || -1];
    return IDENTIFIER_START.test(char) ? ["word", runOf(sql, index + 1, isIdentifierPart)] : ["punctuation", index + 1];
  });
}

/**
 * SQL's canonical form: its tokens, comments dropped, nothing SQLite tells apart folded. SQLite names an unaliased result column of a view or `CREATE TABLE … AS` after its exact text, so where
 * that differs from the canonical spacing it is appended.
 */
export function canonicalizeSql(sql: string, dialect: SqlDialect = "sqlite"): string {
  if (dialect === "postgres") return canonicalizePostgresSql(sql);
  const { text, kept } = canonicalTokens(tokenizeCanonicalSqlite(sql));
  // A NUL is doubled so that the single NUL opening the result-column section cannot be forged.
  const canonical = text.replace(/\0/g, "\0\0");
  const namedByText = resultColumnsNamedByText(sql, kept);
  return namedByText.length === 0 ? canonical : `${canonical}\0result-columns:${JSON.stringify(namedByText)}`;
}

type NamedByText = readonly [tokenIndex: number, text: string];

const ENDS_RESULT_COLUMNS = new Set(["FROM", "WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT", "UNION", "INTERSECT", "EXCEPT"]);

/** The result columns named after their text (`SELECT a  +  1`) that differs from the canonical one: the outermost, and those of FROM subqueries and CTEs, which `SELECT *` passes on. */
function resultColumnsNamedByText(sql: string, tokens: readonly CanonicalToken[]): NamedByText[] {
  const found: NamedByText[] = [];
  let statementStart = 0;
  for (let index = 0; index <= tokens.length; index++) {
    if (index === tokens.length || tokens[index]!.text === ";") {
      collectFromStatement(sql, tokens, statementStart, index, found);
      statementStart = index + 1;
    }
  }
  return found;
}

function collectFromStatement(sql: string, tokens: readonly CanonicalToken[], from: number, to: number, found: NamedByText[]): void {
  const word = (index: number) => (index >= from && index < to ? tokens[index]!.text.toUpperCase() : "");
  let index = from;
  if (word(index++) !== "CREATE") return;
  if (word(index) === "TEMP" || word(index) === "TEMPORARY") index++;
  if (word(index) !== "VIEW" && word(index) !== "TABLE") return;
  index++;
  if (word(index) === "IF" && word(index + 1) === "NOT" && word(index + 2) === "EXISTS") index += 3;
  // The name: `v`, `main.v` (one word here), `main."v"` (a word ending in the dot, then the quoted name), or `"main"."v"` and `main . v` (the dot a token of its own).
  if (tokens[index++]?.text.endsWith(".")) index++;
  if (word(index) === ".") index += 2;
  // A view's own column list names its columns.
  if (word(index++) !== "AS") return;
  const body = index;
  if (word(index) === "WITH") {
    let depth = 0;
    while (index < to && !(depth === 0 && (word(index) === "SELECT" || word(index) === "VALUES"))) {
      if (tokens[index]!.text === "(") depth++;
      else if (tokens[index]!.text === ")") depth--;
      index++;
    }
  }
  if (word(index) === "SELECT") collectSelectList(sql, tokens, index + 1, to, found);
  // A scalar subquery in a function's arguments is counted too: telling it from a FROM list would need a parser.
  for (let select = body + 1; select < to; select++) {
    if (word(select) !== "SELECT" || tokens[select - 1]!.text !== "(") continue;
    // `FROM ((SELECT …))` names its columns as `FROM (SELECT …)` does; a CTE may be `AS [NOT] MATERIALIZED (SELECT …)`.
    let open = select - 1;
    while (word(open - 1) === "(") open--;
    let before = open - 1;
    if (word(before) === "MATERIALIZED") before -= word(before - 1) === "NOT" ? 2 : 1;
    const keyword = word(before);
    if (keyword === "FROM" || keyword === "JOIN" || keyword === "," || (keyword === "AS" && tokens[before - 1]?.text !== ")")) collectSelectList(sql, tokens, select + 1, to, found);
  }
}

/** The result columns of the select list starting at `index` (just past SELECT). */
function collectSelectList(sql: string, tokens: readonly CanonicalToken[], index: number, to: number, found: NamedByText[]): void {
  if (index < to && ["DISTINCT", "ALL"].includes(tokens[index]!.text.toUpperCase())) index++;
  let depth = 0;
  let columnStart = index;
  for (; index <= to; index++) {
    const text = index < to ? tokens[index]!.text : ";";
    if (text === "(") depth++;
    else if (text === ")") depth--;
    // A subquery's list also ends at its closing parenthesis.
    const ends = index === to || depth < 0 || (depth === 0 && ENDS_RESULT_COLUMNS.has(text.toUpperCase()) && !isDistinctFrom(tokens, index, columnStart));
    if (!ends && !(depth === 0 && text === ",")) continue;
    const column = tokens.slice(columnStart, index);
    if (isNamedByText(column)) {
      const exact = sql.slice(column[0]!.start, column.at(-1)!.end);
      const rendered = column.map((token, i) => (i > 0 && token.spaceBefore ? ` ${token.text}` : token.text)).join("");
      if (exact !== rendered) found.push([columnStart, exact]);
    }
    columnStart = index + 1;
    if (ends) return;
  }
}

/** `FROM` in `x IS [NOT] DISTINCT FROM y`, an operator inside the column, not the clause after the list (other FROMs that are no clause sit in parentheses: `substring(x FROM 2)`). */
function isDistinctFrom(tokens: readonly CanonicalToken[], index: number, columnStart: number): boolean {
  const word = (at: number) => (at >= columnStart ? tokens[at]!.text.toUpperCase() : "");
  if (word(index) !== "FROM" || word(index - 1) !== "DISTINCT") return false;
  return word(index - 2) === "IS" || (word(index - 2) === "NOT" && word(index - 3) === "IS");
}

/** An expression of more than one token without `AS alias`; `t.a`, `s.t.a` and `(a)` are named after the column, `t.*` names nothing. */
function isNamedByText(whole: readonly CanonicalToken[]): boolean {
  if (whole.length < 2 || whole.at(-2)!.text.toUpperCase() === "AS") return false;
  let column = whole;
  while (column.length > 2 && wrapsWhole(column)) column = column.slice(1, -1);
  return !column.every((token, i) => (i % 2 === 1 ? token.text === "." : token.text !== "." && token.text !== "(" && token.text !== ")"));
}

/** Whether the first token is a `(` whose `)` is the last token. */
function wrapsWhole(column: readonly CanonicalToken[]): boolean {
  if (column[0]!.text !== "(") return false;
  let depth = 0;
  for (let i = 0; i < column.length; i++) {
    if (column[i]!.text === "(") depth++;
    else if (column[i]!.text === ")" && --depth === 0) return i === column.length - 1;
  }
  return false;
}

/**
 * Checksums follow a migration's meaning, not its formatting: prettier, CRLF, a BOM or a comment edit
 * must not make an applied migration look tampered with; any change to code or SQL must. SQL is
 * reduced to a canonical text here (TypeScript in codegen, which alone may load its parser), and both
 * are hashed by {@link hashCanonicalMigration}. The output is a contract: recorded checksums must not move.
 */
import { createHash } from "node:crypto";
import type { SqlDialect } from "./sql-dialect.js";
import { tokenizePostgresSql } from "./postgres-tokens.js";

/** Bumped whenever canonicalisation changes, so old and new digests can never be confused. */
const CHECKSUM_FORMAT_VERSION = 1;

/** The facts about a SQL migration that its checksum covers. */
export interface SqlChecksumInput {
  readonly upSql: string;
  readonly downSql: string | null;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  /** The up section is marked deliberately empty (`-- migrate:empty`). Default `false`. */
  readonly emptyUp?: boolean;
  /** The down section is marked deliberately empty. Default `false`. */
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
  // Only a postgres checksum names its dialect, and the empty flags only when set: every checksum
  // recorded before these existed stays as it was.
  if (dialect !== "sqlite") parts.unshift(`dialect=${dialect}`);
  if (input.emptyUp) parts.push("empty_up=true");
  if (input.emptyDown) parts.push("empty_down=true");
  // The NUL join is unambiguous only while no part holds one (a result-column section does): such
  // parts are JSON, which never collides with the plain join (that starts "transaction=").
  const joined = parts.some((part) => part.includes("\0")) ? JSON.stringify(parts) : parts.join("\0");
  return hashCanonicalMigration("sql", joined);
}

const SPACE_FREE_PUNCTUATION = new Set(["(", ")", ",", ";"]);

/**
 * The canonical form of PostgreSQL SQL: comments (nested ones whole) dropped, whitespace runs one
 * space (none next to `( ) , ;`), strings, dollar-quoted bodies and quoted identifiers kept byte for
 * byte. Nothing is case-folded. PostgreSQL names an unaliased result column after its expression's
 * function or column, never its text, so nothing else is recorded.
 */
export function canonicalizePostgresSql(sql: string): string {
  const out: string[] = [];
  let pendingSpace = false;
  for (const token of tokenizePostgresSql(sql)) {
    if (token.kind === "whitespace" || token.kind === "line-comment" || token.kind === "block-comment") {
      pendingSpace = true;
      continue;
    }
    const previous = out.at(-1);
    if (pendingSpace && previous !== undefined && !SPACE_FREE_PUNCTUATION.has(previous) && !SPACE_FREE_PUNCTUATION.has(token.text)) out.push(" ");
    pendingSpace = false;
    out.push(token.text);
  }
  return out.join("");
}

/**
 * What SQLite's tokenizer skips: ASCII space, tab, newline, form feed, carriage return, and a U+FEFF
 * where a token would start. Any other character (a no-break space included) is part of an
 * identifier to SQLite, so `a\u00A0b` and `a b` must hash differently.
 */
const SQLITE_WHITESPACE = new Set([" ", "\t", "\n", "\f", "\r", "\uFEFF"]);
const IDENTIFIER_START = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const IDENTIFIER_PART = /[A-Za-z0-9_$.\u0080-\uFFFF]/;

/** One token of the SQLite canonical form: its source offsets, and whether the form puts a space before it. */
interface CanonicalToken {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly spaceBefore: boolean;
}

/**
 * Reduces SQL to its tokens: comments dropped, whitespace runs one space (none next to `( ) , ;`),
 * quoted strings and identifiers kept exactly; a BOM and CRLFs go with the whitespace. Nothing SQLite
 * tells apart is folded: no case folding, numbers as written, block comments ending at the first
 * `*\/`. An unaliased result column of a view or `CREATE TABLE … AS` is named after its exact source
 * text, so where that differs from the canonical spacing it is appended. With `dialect` `postgres`:
 * {@link canonicalizePostgresSql}.
 */
export function canonicalizeSql(sql: string, dialect: SqlDialect = "sqlite"): string {
  if (dialect === "postgres") return canonicalizePostgresSql(sql);
  const out: string[] = [];
  const tokens: CanonicalToken[] = [];
  let pendingSpace = false;
  let index = 0;
  const emit = (end: number) => {
    const text = sql.slice(index, end);
    const spaceBefore = pendingSpace && out.length > 0 && !SPACE_FREE_PUNCTUATION.has(out.at(-1)!) && !SPACE_FREE_PUNCTUATION.has(text);
    if (spaceBefore) out.push(" ");
    pendingSpace = false;
    out.push(text);
    tokens.push({ text, start: index, end, spaceBefore });
    index = end;
  };
  const skip = (end: number) => {
    pendingSpace = true;
    index = end;
  };
  const length = sql.length;
  while (index < length) {
    const char = sql[index]!;
    if (SQLITE_WHITESPACE.has(char)) skip(index + 1);
    else if (char === "-" && sql[index + 1] === "-") skip(sql.indexOf("\n", index) + 1 || length);
    else if (char === "/" && sql[index + 1] === "*") {
      const close = sql.indexOf("*/", index + 2);
      skip(close === -1 ? length : close + 2);
    } else if (char === "'" || char === '"' || char === "`") emit(findClosingQuote(sql, index, char));
    else if (char === "[") emit(sql.indexOf("]", index + 1) + 1 || length);
    else if (IDENTIFIER_START.test(char)) {
      let end = index + 1;
      while (end < length && IDENTIFIER_PART.test(sql[end]!)) end++;
      emit(end);
    } else emit(index + 1);
  }
  // A NUL is doubled so that the single NUL opening the result-column section cannot be forged.
  const canonical = out.join("").replace(/\0/g, "\0\0");
  const namedByText = resultColumnsNamedByText(sql, tokens);
  return namedByText.length === 0 ? canonical : `${canonical}\0result-columns:${JSON.stringify(namedByText)}`;
}

/** The index just past the closing quote (a doubled quote is an escaped one), or the end of `sql`. */
function findClosingQuote(sql: string, start: number, quote: string): number {
  for (let index = start + 1; index < sql.length; index++) {
    if (sql[index] !== quote) continue;
    if (sql[index + 1] !== quote) return index + 1;
    index++;
  }
  return sql.length;
}

/** A result column whose name is its source text: the index of its first token, and that text. */
type NamedByText = readonly [tokenIndex: number, text: string];

const ENDS_RESULT_COLUMNS = new Set(["FROM", "WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT", "UNION", "INTERSECT", "EXCEPT"]);

/**
 * SQLite names an unaliased result column of a view or `CREATE TABLE … AS` after its source text,
 * spaces and comments included (`SELECT a  +  1` makes a column `a  +  1`). These are the outermost
 * such columns whose text differs from their canonical rendering, and those of the first select lists
 * of FROM subqueries and CTEs, whose names `SELECT *` passes on. Columns written canonically are left
 * out, so the checksum of such SQL does not move.
 */
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
  index++; // the name
  if (word(index) === ".") index += 2; // schema.name
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
  // A scalar subquery's list never names a column, though one in a function's arguments is counted
  // as well: telling it from a FROM list would need a parser.
  for (let select = body + 1; select < to; select++) {
    if (word(select) !== "SELECT" || tokens[select - 1]!.text !== "(") continue;
    const before = word(select - 2);
    if (before === "FROM" || before === "JOIN" || before === "," || (before === "AS" && tokens[select - 3]?.text !== ")")) collectSelectList(sql, tokens, select + 1, to, found);
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
    const ends = index === to || depth < 0 || (depth === 0 && ENDS_RESULT_COLUMNS.has(text.toUpperCase()));
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

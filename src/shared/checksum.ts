/**
 * Checksums follow a migration's meaning, not its formatting.
 *
 * Re-running prettier, converting CRLF to LF, adding a BOM or editing a comment must not make an
 * applied migration look tampered with, while any change to code or SQL must. Both halves reduce a
 * migration to a canonical text first (SQL here; TypeScript in codegen, because only codegen may load
 * the TypeScript parser) and then hash it with {@link hashCanonicalMigration}, so the digest format is
 * defined once.
 */
import { createHash } from "node:crypto";
import type { SqlDialect } from "./sql-dialect.js";
import { tokenizePostgresSql } from "./postgres-tokens.js";
import { resultColumnsNamedByText, type SqlToken } from "./sql-result-columns.js";

/** Bumped whenever canonicalisation changes, so old and new digests can never be confused. */
export const CHECKSUM_FORMAT_VERSION = 1;

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

/**
 * Hashes a canonical form into the digest stored in the registry and the history table: 64
 * lowercase hex characters of SHA-256.
 */
export function hashCanonicalMigration(kind: "ts" | "sql", canonical: string): string {
  return createHash("sha256").update(`stepwise:${CHECKSUM_FORMAT_VERSION}:${kind}\0`).update(canonical).digest("hex");
}

/**
 * The checksum of a SQL migration. Flags are included because they change what running it does.
 *
 * @example
 * checksumSqlMigration({ upSql: "CREATE TABLE t (id INTEGER); -- note", downSql: null, transaction: true, disableForeignKeys: false });
 */
export function checksumSqlMigration(input: SqlChecksumInput): string {
  const dialect = input.dialect ?? "sqlite";
  const canonicalize = (sql: string) => canonicalizeSql(sql, dialect);
  const parts = [
    `transaction=${input.transaction}`,
    `disable_foreign_keys=${input.disableForeignKeys}`,
    `up=${canonicalize(input.upSql)}`,
    input.downSql === null ? "down=<none>" : `down=${canonicalize(input.downSql)}`,
  ];
  // Only a postgres checksum names its dialect: the same text canonicalised by other rules must not
  // share a digest, and every sqlite checksum already recorded in a history table must stay as it was.
  if (dialect !== "sqlite") parts.unshift(`dialect=${dialect}`);
  // Appended only when set, so every checksum recorded before the marker existed stays as it was.
  if (input.emptyUp) parts.push("empty_up=true");
  if (input.emptyDown) parts.push("empty_down=true");
  // Joining with NUL is unambiguous only while no part holds one. `gen` refuses a NUL in SQL
  // (SQL_NUL_BYTE), but a canonical form that records result-column text does hold one, and so
  // may SQL passed here directly; those parts are encoded as JSON, which cannot collide with the
  // plain join (that always starts "transaction=").
  const joined = parts.some((part) => part.includes("\0")) ? JSON.stringify(parts) : parts.join("\0");
  return hashCanonicalMigration("sql", joined);
}

/**
 * The PostgreSQL counterpart of {@link canonicalizeSql}, over PostgreSQL's tokens (see
 * `postgres-tokens.ts`): comments (nested ones whole) are dropped, whitespace runs become one space
 * (none next to `( ) , ;`), and strings of every kind, dollar-quoted bodies and quoted identifiers
 * are kept byte for byte, since what they hold is data or code. Nothing is case-folded: PostgreSQL
 * folds unquoted names, but a changed spelling is rare and a checksum that notices it is safe.
 * PostgreSQL names an unaliased result column after the expression's function or column, never its
 * source text, so unlike SQLite nothing else needs recording.
 *
 * @example
 * canonicalizePostgresSql("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ /* x /* y *\/ *\/ LANGUAGE sql;");
 * // "CREATE FUNCTION f()RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;"
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

const SPACE_FREE_PUNCTUATION = new Set(["(", ")", ",", ";"]);

/**
 * Only what SQLite's tokenizer skips as whitespace: ASCII space, tab, newline, form feed, carriage
 * return, and a U+FEFF where a token would start. Every other character, including no-break and other
 * Unicode spaces and a U+FEFF inside a name, is part of an identifier to SQLite, so `a\u00A0b` and
 * `a b` are different statements and must hash differently.
 */
const SQLITE_WHITESPACE = new Set([" ", "\t", "\n", "\f", "\r", "\uFEFF"]);
/** Characters SQLite allows in an unquoted identifier (every non-ASCII one included), plus `$` for parameters. */
const IDENTIFIER_START = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const IDENTIFIER_PART = /[A-Za-z0-9_$.\u0080-\uFFFF]/;

/**
 * Reduces SQL to its tokens: comments are dropped, runs of whitespace become one space (none next to
 * `( ) , ;`), and quoted strings and identifiers are kept exactly, since whitespace inside them is
 * data. A leading BOM and CRLF line endings disappear with the rest of the whitespace. Nothing is
 * folded that SQLite would tell apart: no case folding, numbers as written, block comments ending at
 * the first `*\/` (SQLite does not nest them), and only ASCII whitespace counts as whitespace.
 * One exception: an unaliased result column of a view or a `CREATE TABLE … AS` table is named after
 * its exact source text, so where that text differs from the canonical spacing it is appended to the
 * canonical form (see `sql-result-columns.ts`).
 *
 * @example
 * canonicalizeSql("CREATE TABLE t (\r\n  id INTEGER -- key\r\n);"); // "CREATE TABLE t(id INTEGER);"
 *
 * With `dialect` `postgres`, the SQL is read by PostgreSQL's rules instead: {@link canonicalizePostgresSql}.
 */
export function canonicalizeSql(sql: string, dialect: SqlDialect = "sqlite"): string {
  if (dialect === "postgres") return canonicalizePostgresSql(sql);
  const out: string[] = [];
  const tokens: SqlToken[] = [];
  let pendingSpace = false;
  let index = 0;
  const emit = (token: string) => {
    let spaceBefore = false;
    if (pendingSpace && out.length > 0) {
      const previous = out[out.length - 1]!;
      const joinsPunctuation = SPACE_FREE_PUNCTUATION.has(previous) || SPACE_FREE_PUNCTUATION.has(token);
      if (!joinsPunctuation) {
        out.push(" ");
        spaceBefore = true;
      }
    }
    pendingSpace = false;
    out.push(token);
    tokens.push({ text: token, start: index, end: index + token.length, spaceBefore });
  };

  const length = sql.length;
  while (index < length) {
    const char = sql[index]!;
    if (SQLITE_WHITESPACE.has(char)) {
      pendingSpace = true;
      index++;
    } else if (char === "-" && sql[index + 1] === "-") {
      const end = sql.indexOf("\n", index);
      index = end === -1 ? length : end + 1;
      pendingSpace = true;
    } else if (char === "/" && sql[index + 1] === "*") {
      const end = sql.indexOf("*/", index + 2);
      index = end === -1 ? length : end + 2;
      pendingSpace = true;
    } else if (char === "'" || char === '"' || char === "`") {
      const end = findClosingQuote(sql, index, char);
      emit(sql.slice(index, end));
      index = end;
    } else if (char === "[") {
      const close = sql.indexOf("]", index + 1);
      const end = close === -1 ? length : close + 1;
      emit(sql.slice(index, end));
      index = end;
    } else if (IDENTIFIER_START.test(char)) {
      let end = index + 1;
      while (end < length && IDENTIFIER_PART.test(sql[end]!)) end++;
      emit(sql.slice(index, end));
      index = end;
    } else {
      emit(char);
      index++;
    }
  }
  // A NUL is doubled so that the single NUL opening the result-column section cannot be forged.
  const canonical = out.join("").replace(/\0/g, "\0\0");
  const namedByText = resultColumnsNamedByText(sql, tokens);
  return namedByText.length === 0 ? canonical : `${canonical}\0result-columns:${JSON.stringify(namedByText)}`;
}

/** Returns the index just past the closing quote; a doubled quote is an escaped one. */
function findClosingQuote(sql: string, start: number, quote: string): number {
  let index = start + 1;
  while (index < sql.length) {
    if (sql[index] === quote) {
      if (sql[index + 1] === quote) {
        index += 2;
        continue;
      }
      return index + 1;
    }
    index++;
  }
  return sql.length;
}

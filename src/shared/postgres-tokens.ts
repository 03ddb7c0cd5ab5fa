/**
 * PostgreSQL's tokeniser, following its lexer (`scan.l`) where the dialects differ: `$$…$$` and `$tag$…$tag$` quote anything up to the same delimiter (a tag starts with a letter or `_`, so `$1` is
 * a parameter); only `E'…'` strings take backslash escapes; block comments nest; a line comment ends at `\r` too; only ASCII spaces are whitespace; backticks and brackets are punctuation.
 */
import type { SqlDialect } from "./sql-dialect.js";
import { findClosingQuote, keywordOf, runOf, splitAt, splitSqliteStatements, tokenizeSqliteSql, tokenizeWith, type SqlStatement, type SqlToken } from "./sqlite-tokens.js";

export type { SqlStatement, SqlToken, SqlTokenKind } from "./sqlite-tokens.js";

const isWhitespace = (char: string) => /[ \t\n\r\f\v]/.test(char);
const isDigit = (char: string | undefined) => char !== undefined && char >= "0" && char <= "9";
/** `[A-Za-z\200-\377_]`: every non-ASCII character (a no-break space too) may start an identifier. */
const isIdentifierStart = (char: string) => /[A-Za-z_]/.test(char) || char >= "\u0080";
const isIdentifierPart = (char: string) => isIdentifierStart(char) || isDigit(char) || char === "$";

/** Splits PostgreSQL source into tokens that concatenate back to it. Every string form is kind `string`; a parameter (`$1`) is a `word`. */
export function tokenizePostgresSql(source: string): SqlToken[] {
  return tokenizeWith(source, (index) => {
    const char = source[index]!;
    const next = source[index + 1];
    if (isWhitespace(char)) return ["whitespace", runOf(source, index + 1, isWhitespace)];
    if (char === "-" && next === "-") return ["line-comment", runOf(source, index + 2, (c) => c !== "\n" && c !== "\r")];
    if (char === "/" && next === "*") return ["block-comment", findNestedCommentEnd(source, index)];
    if (char === "'" || char === '"') return [char === "'" ? "string" : "quoted-identifier", findClosingQuote(source, index + 1, char)];
    if (char === "$") {
      const tagEnd = runOf(source, index + 1, (c) => isIdentifierPart(c) && c !== "$");
      if (source[tagEnd] === "$" && (tagEnd === index + 1 || isIdentifierStart(source[index + 1]!))) {
        const delimiter = source.slice(index, tagEnd + 1);
        const close = source.indexOf(delimiter, tagEnd + 1);
        return ["string", close === -1 ? -1 : close + delimiter.length];
      }
      return isDigit(next) ? ["word", runOf(source, index + 1, isDigit)] : ["punctuation", index + 1];
    }
    if (isIdentifierStart(char)) {
      // A prefixed quote, the prefix standing alone (in `ne'x'` the word is `ne`): `U&'…'`, `U&"…"`, `E'…'` (backslash escapes), `B'…'`, `X'…'`, `N'…'`.
      const letter = char.toLowerCase();
      const quote = source[index + 2];
      if (letter === "u" && next === "&" && (quote === "'" || quote === '"')) return [quote === "'" ? "string" : "quoted-identifier", findClosingQuote(source, index + 3, quote)];
      if (next === "'" && "ebxn".includes(letter)) return ["string", findClosingQuote(source, index + 2, "'", letter === "e")];
      return ["word", runOf(source, index + 1, isIdentifierPart)];
    }
    // A `$` never continues a number, so `1$$x$$` is a number and a dollar-quoted string.
    if (isDigit(char)) return ["word", runOf(source, index + 1, (c) => /[0-9A-Za-z_]/.test(c))];
    return ["punctuation", index + 1];
  });
}

/** The index just past the `*\/` that closes the comment opened at `start`, counting nested ones, or -1. */
function findNestedCommentEnd(source: string, start: number): number {
  let depth = 1;
  for (let index = start + 2; index < source.length - 1;) {
    const pair = source.slice(index, index + 2);
    depth += pair === "/*" ? 1 : pair === "*/" ? -1 : 0;
    index += pair === "/*" || pair === "*/" ? 2 : 1;
    if (depth === 0) return index;
  }
  return -1;
}

/**
 * Groups significant tokens into statements at each `;`, except inside parentheses (a rule's `DO ( …; … )`) and inside the `BEGIN ATOMIC … END` body of a `CREATE FUNCTION|PROCEDURE`, where a
 * `CASE … END` does not close the body. A dollar-quoted body is one token already.
 */
export function splitPostgresStatements(tokens: readonly SqlToken[]): SqlStatement[] {
  let [parentheses, atomicDepth] = [0, 0];
  return splitAt(tokens, (token, current) => {
    const previous = current.at(-1);
    if (token.kind === "punctuation") {
      if (token.text === "(") parentheses++;
      else if (token.text === ")" && parentheses > 0) parentheses--;
      else if (token.text === ";" && parentheses === 0 && atomicDepth === 0) return true;
    }
    const keyword = keywordOf(token, previous);
    if (keyword === "ATOMIC" && atomicDepth === 0 && previous?.kind === "word" && previous.text.toUpperCase() === "BEGIN" && isRoutineDefinition(current)) atomicDepth = 1;
    else if (keyword === "CASE" && atomicDepth > 0) atomicDepth++;
    else if (keyword === "END" && atomicDepth > 0) atomicDepth--;
    return false;
  });
}

/** `CREATE [OR REPLACE] FUNCTION|PROCEDURE`: the statements a `BEGIN ATOMIC` body belongs to. */
function isRoutineDefinition(current: readonly SqlToken[]): boolean {
  const words = current.slice(0, 4).map((token) => (token.kind === "word" ? token.text.toUpperCase() : ""));
  const kind = words[1] === "OR" && words[2] === "REPLACE" ? words[3] : words[1];
  return words[0] === "CREATE" && (kind === "FUNCTION" || kind === "PROCEDURE");
}

/** The text of each statement of `sql`, without the comments between them and the closing `;`: a `transaction:false` migration is sent one statement at a time, outside an implicit transaction. */
export function splitPostgresSqlText(sql: string): string[] {
  return postgresStatementSpans(sql).map(({ text }) => text);
}

/** Each statement of `sql` as {@link splitPostgresSqlText} cuts it, with its offset in `sql`. */
export function postgresStatementSpans(sql: string): { text: string; offset: number }[] {
  return splitPostgresStatements(tokenizePostgresSql(sql)).map(({ tokens }) => {
    const last = tokens.at(-1)!;
    return { text: sql.slice(tokens[0]!.offset, last.offset + last.text.length), offset: tokens[0]!.offset };
  });
}

/**
 * `SET [LOCAL | SESSION] TRANSACTION …` or a `SET` of one of its settings, as words: what PostgreSQL takes only before its transaction's first query. Not one that makes it read-only, which
 * PostgreSQL takes later too: before stepwise's own writes it would fail them, not the migration.
 */
const TRANSACTION_HEAD = /^SET (?:LOCAL |SESSION )?(?:TRANSACTION [A-Z]|TRANSACTION_(?:ISOLATION|DEFERRABLE)\b)(?!.*\bREAD ONLY\b)/;

/**
 * The `SET TRANSACTION` statements `sql` starts with (after any comments), joined with `; `, and `sql` with them blanked to spaces, its lines and positions unchanged: stepwise's own queries
 * open a migration's transaction, after which PostgreSQL refuses them, so they go with its BEGIN instead.
 */
export function splitTransactionHead(sql: string): { head: string; body: string } {
  const head: string[] = [];
  let body = sql;
  // Tokenised only when it may hold one: a data migration can be megabytes.
  if (!/transaction/i.test(sql)) return { head: "", body };
  for (const { tokens } of splitPostgresStatements(tokenizePostgresSql(sql))) {
    if (!TRANSACTION_HEAD.test(tokens.map((token) => (token.kind === "word" ? token.text.toUpperCase() : token.text)).join(" "))) break;
    const [start, end] = [tokens[0]!.offset, tokens.at(-1)!.offset + tokens.at(-1)!.text.length];
    head.push(sql.slice(start, end));
    body = body.slice(0, start) + sql.slice(start, end).replace(/[^\r\n]/g, " ") + body.slice(end);
  }
  return { head: head.join("; "), body };
}

/** Splits source into tokens by `dialect`'s rules, whitespace and comments included. */
export function tokenizeSql(source: string, dialect: SqlDialect = "sqlite"): SqlToken[] {
  return dialect === "postgres" ? tokenizePostgresSql(source) : tokenizeSqliteSql(source);
}

/** Groups significant tokens into statements at each `;` that ends one in `dialect`. */
export function splitSqlStatements(tokens: readonly SqlToken[], dialect: SqlDialect = "sqlite"): SqlStatement[] {
  return dialect === "postgres" ? splitPostgresStatements(tokens) : splitSqliteStatements(tokens);
}

/**
 * PostgreSQL's tokeniser, following its lexer (`scan.l`) where the dialects differ: `$$…$$` and
 * `$tag$…$tag$` quote anything up to the same delimiter (a tag starts with a letter or `_`, so `$1`
 * is a parameter, and a `$` inside `a$b` opens nothing); only `E'…'` strings take backslash escapes
 * (standard_conforming_strings), every kind doubles a quote; block comments nest; a line comment ends
 * at `\r` too; only ASCII spaces are whitespace; backticks and brackets are plain punctuation.
 */
import { tokenizeWith, type SqlStatement, type SqlToken, type SqlTokenKind } from "./sqlite-tokens.js";

/** Splits PostgreSQL source into tokens, whitespace and comments included, so their texts concatenate back to the source. Every string form is kind `string`; a parameter (`$1`) is a `word`. */
export function tokenizePostgresSql(source: string): SqlToken[] {
  const length = source.length;
  const runOf = (from: number, test: (char: string) => boolean) => {
    let end = from;
    while (end < length && test(source[end]!)) end++;
    return end;
  };
  // An unclosed string or comment runs to the end of the source, as it does for PostgreSQL.
  const quoted = (kind: SqlTokenKind, end: number) => [kind, end === -1 ? length : end, end === -1] as const;
  return tokenizeWith(source, (index) => {
    const char = source[index]!;
    const next = source[index + 1];
    if (isWhitespace(char)) return ["whitespace", runOf(index + 1, isWhitespace)];
    if (char === "-" && next === "-") return ["line-comment", runOf(index + 2, (c) => c !== "\n" && c !== "\r")];
    if (char === "/" && next === "*") return quoted("block-comment", findNestedCommentEnd(source, index));
    if (char === "'") return quoted("string", findClosingQuote(source, index + 1, "'", false));
    if (char === '"') return quoted("quoted-identifier", findClosingQuote(source, index + 1, '"', false));
    if (char === "$") {
      const delimiter = dollarDelimiterAt(source, index);
      if (delimiter !== null) {
        const close = source.indexOf(delimiter, index + delimiter.length);
        return quoted("string", close === -1 ? -1 : close + delimiter.length);
      }
      return isDigit(next) ? ["word", runOf(index + 1, isDigit)] : ["punctuation", index + 1];
    }
    if (isIdentifierStart(char)) {
      const prefixed = prefixedQuoteAt(source, index);
      if (prefixed === null) return ["word", runOf(index + 1, isIdentifierPart)];
      return quoted(prefixed.kind, findClosingQuote(source, index + prefixed.prefixLength + 1, prefixed.quote, prefixed.backslashEscapes));
    }
    // A `$` never continues a number, so `1$$x$$` is a number and a dollar-quoted string.
    if (isDigit(char)) return ["word", runOf(index + 1, (c) => /[0-9A-Za-z_]/.test(c))];
    return ["punctuation", index + 1];
  });
}

/**
 * Groups significant tokens into statements at each `;`, except inside parentheses (a rule's
 * `DO ( …; … )`) and inside the `BEGIN ATOMIC … END` body of a `CREATE FUNCTION|PROCEDURE`, where a
 * `CASE … END` does not close the body. A dollar-quoted body is one token already.
 */
export function splitPostgresStatements(tokens: readonly SqlToken[]): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let current: SqlToken[] = [];
  let parentheses = 0;
  let atomicDepth = 0;
  for (const token of tokens) {
    if (token.kind === "whitespace" || token.kind === "line-comment" || token.kind === "block-comment") continue;
    const previous = current.at(-1);
    if (token.kind === "punctuation") {
      if (token.text === "(") parentheses++;
      else if (token.text === ")" && parentheses > 0) parentheses--;
      else if (token.text === ";" && parentheses === 0 && atomicDepth === 0) {
        if (current.length > 0) statements.push({ tokens: current });
        current = [];
        continue;
      }
    }
    const keyword = token.kind === "word" && previous?.text !== "." ? token.text.toUpperCase() : null;
    if (keyword === "ATOMIC" && atomicDepth === 0 && previous?.kind === "word" && previous.text.toUpperCase() === "BEGIN" && isRoutineDefinition(current)) atomicDepth = 1;
    else if (keyword === "CASE" && atomicDepth > 0) atomicDepth++;
    else if (keyword === "END" && atomicDepth > 0) atomicDepth--;
    current.push(token);
  }
  if (current.length > 0) statements.push({ tokens: current });
  return statements;
}

/**
 * The source text of each statement of `sql`, without the comments between them and the closing `;`.
 * PostgreSQL runs a string of several statements as one implicit transaction, where `CREATE INDEX
 * CONCURRENTLY` and `VACUUM` fail, so a `transaction:false` migration is sent one statement at a time.
 */
export function splitPostgresSqlText(sql: string): string[] {
  return splitPostgresStatements(tokenizePostgresSql(sql)).map(({ tokens }) => {
    const last = tokens.at(-1)!;
    return sql.slice(tokens[0]!.offset, last.offset + last.text.length);
  });
}

/** `CREATE [OR REPLACE] FUNCTION|PROCEDURE`: the statements a `BEGIN ATOMIC` body belongs to. */
function isRoutineDefinition(current: readonly SqlToken[]): boolean {
  const words = current.slice(0, 4).map((token) => (token.kind === "word" ? token.text.toUpperCase() : ""));
  const kind = words[1] === "OR" && words[2] === "REPLACE" ? words[3] : words[1];
  return words[0] === "CREATE" && (kind === "FUNCTION" || kind === "PROCEDURE");
}

/** `$$` or `$tag$` when one starts at `index`; the tag is an identifier without `$`. */
function dollarDelimiterAt(source: string, index: number): string | null {
  let end = index + 1;
  if (end < source.length && source[end] !== "$") {
    if (!isIdentifierStart(source[end]!)) return null;
    end++;
    while (end < source.length && isIdentifierPart(source[end]!) && source[end] !== "$") end++;
  }
  return source[end] === "$" ? source.slice(index, end + 1) : null;
}

/** A quote with a prefix that changes how it is read: `E'…'` (backslash escapes), `U&'…'`, `U&"…"`, `B'…'`, `X'…'`, `N'…'`. Only a prefix standing alone counts: in `ne'x'` the word is `ne`. */
function prefixedQuoteAt(source: string, index: number): { kind: SqlTokenKind; prefixLength: number; quote: string; backslashEscapes: boolean } | null {
  const letter = source[index]!.toLowerCase();
  const next = source[index + 1];
  const quote = source[index + 2];
  if (letter === "u" && next === "&" && (quote === "'" || quote === '"')) return { kind: quote === "'" ? "string" : "quoted-identifier", prefixLength: 2, quote, backslashEscapes: false };
  if (next !== "'" || !"ebxn".includes(letter)) return null;
  return { kind: "string", prefixLength: 1, quote: "'", backslashEscapes: letter === "e" };
}

/** The index just past the quote closing content that starts at `from`, or -1; a doubled quote (or with `backslashEscapes`, a backslash) escapes. */
function findClosingQuote(source: string, from: number, quote: string, backslashEscapes: boolean): number {
  for (let index = from; index < source.length;) {
    const char = source[index]!;
    if (backslashEscapes && char === "\\") index += 2;
    else if (char !== quote) index++;
    else if (source[index + 1] !== quote) return index + 1;
    else index += 2;
  }
  return -1;
}

/** The index just past the `*\/` that closes the comment opened at `start`, counting nested ones, or -1. */
function findNestedCommentEnd(source: string, start: number): number {
  let depth = 1;
  for (let index = start + 2; index < source.length - 1;) {
    const pair = source[index]! + source[index + 1];
    if (pair === "/*") depth++;
    else if (pair === "*/") depth--;
    else {
      index++;
      continue;
    }
    index += 2;
    if (depth === 0) return index;
  }
  return -1;
}

/** PostgreSQL's `space` class; a no-break space is an identifier character to it. */
function isWhitespace(char: string): boolean {
  return char === " " || char === "\t" || char === "\n" || char === "\r" || char === "\f" || char === "\v";
}

/** `[A-Za-z\200-\377_]`: every non-ASCII character may start an identifier. */
function isIdentifierStart(char: string): boolean {
  return (char >= "a" && char <= "z") || (char >= "A" && char <= "Z") || char === "_" || char >= "\u0080";
}

function isIdentifierPart(char: string): boolean {
  return isIdentifierStart(char) || isDigit(char) || char === "$";
}

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= "0" && char <= "9";
}

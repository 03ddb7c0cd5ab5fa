/**
 * PostgreSQL's tokeniser, following its lexer (`scan.l`) where the dialects differ: `$$…$$` and
 * `$tag$…$tag$` quote anything up to the same delimiter (a tag starts with a letter or `_`, so `$1`
 * is a parameter, and a `$` inside `a$b` opens nothing); only `E'…'` strings take backslash escapes
 * (standard_conforming_strings), every kind doubles a quote; block comments nest; a line comment ends
 * at `\r` too; only ASCII spaces are whitespace; backticks and brackets are plain punctuation.
 */
import { findClosingQuote, keywordOf, runOf, significantTokens, tokenizeWith, type SqlStatement, type SqlToken } from "./sqlite-tokens.js";

/** PostgreSQL's `space` class; a no-break space is an identifier character to it. */
const isWhitespace = (char: string) => /[ \t\n\r\f\v]/.test(char);
const isDigit = (char: string | undefined) => char !== undefined && char >= "0" && char <= "9";
/** `[A-Za-z\200-\377_]`: every non-ASCII character may start an identifier. */
const isIdentifierStart = (char: string) => /[A-Za-z_]/.test(char) || char >= "\u0080";
const isIdentifierPart = (char: string) => isIdentifierStart(char) || isDigit(char) || char === "$";

/** Splits PostgreSQL source into tokens, whitespace and comments included, so their texts concatenate back to the source. Every string form is kind `string`; a parameter (`$1`) is a `word`. */
export function tokenizePostgresSql(source: string): SqlToken[] {
  return tokenizeWith(source, (index) => {
    const char = source[index]!;
    const next = source[index + 1];
    if (isWhitespace(char)) return ["whitespace", runOf(source, index + 1, isWhitespace)];
    if (char === "-" && next === "-") return ["line-comment", runOf(source, index + 2, (c) => c !== "\n" && c !== "\r")];
    if (char === "/" && next === "*") return ["block-comment", findNestedCommentEnd(source, index)];
    if (char === "'" || char === '"') return [char === "'" ? "string" : "quoted-identifier", findClosingQuote(source, index + 1, char)];
    if (char === "$") {
      // `$$` or `$tag$`, the tag an identifier without `$`.
      const tagEnd = runOf(source, index + 1, (c) => isIdentifierPart(c) && c !== "$");
      if (source[tagEnd] === "$" && (tagEnd === index + 1 || isIdentifierStart(source[index + 1]!))) {
        const delimiter = source.slice(index, tagEnd + 1);
        const close = source.indexOf(delimiter, tagEnd + 1);
        return ["string", close === -1 ? -1 : close + delimiter.length];
      }
      return isDigit(next) ? ["word", runOf(source, index + 1, isDigit)] : ["punctuation", index + 1];
    }
    if (isIdentifierStart(char)) {
      // A quote with a prefix that changes how it is read, the prefix standing alone (in `ne'x'` the word is `ne`):
      // `U&'…'`, `U&"…"`; `E'…'` (backslash escapes), `B'…'`, `X'…'`, `N'…'`.
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
 * Groups significant tokens into statements at each `;`, except inside parentheses (a rule's
 * `DO ( …; … )`) and inside the `BEGIN ATOMIC … END` body of a `CREATE FUNCTION|PROCEDURE`, where a
 * `CASE … END` does not close the body. A dollar-quoted body is one token already.
 */
export function splitPostgresStatements(tokens: readonly SqlToken[]): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let current: SqlToken[] = [];
  let parentheses = 0;
  let atomicDepth = 0;
  for (const token of significantTokens(tokens)) {
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
    const keyword = keywordOf(token, previous);
    if (keyword === "ATOMIC" && atomicDepth === 0 && previous?.kind === "word" && previous.text.toUpperCase() === "BEGIN" && isRoutineDefinition(current)) atomicDepth = 1;
    else if (keyword === "CASE" && atomicDepth > 0) atomicDepth++;
    else if (keyword === "END" && atomicDepth > 0) atomicDepth--;
    current.push(token);
  }
  if (current.length > 0) statements.push({ tokens: current });
  return statements;
}

/** `CREATE [OR REPLACE] FUNCTION|PROCEDURE`: the statements a `BEGIN ATOMIC` body belongs to. */
function isRoutineDefinition(current: readonly SqlToken[]): boolean {
  const words = current.slice(0, 4).map((token) => (token.kind === "word" ? token.text.toUpperCase() : ""));
  const kind = words[1] === "OR" && words[2] === "REPLACE" ? words[3] : words[1];
  return words[0] === "CREATE" && (kind === "FUNCTION" || kind === "PROCEDURE");
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

/**
 * A PostgreSQL tokeniser with positions, the counterpart of `sql-tokens.ts` for the checks and the
 * checksum of a postgres registry. It follows PostgreSQL's own lexer (`scan.l`) where the two
 * dialects differ:
 *
 * - dollar quoting: `$$…$$` and `$tag$…$tag$` hold anything, `;` and `COMMIT` included, up to the same
 *   delimiter; a tag starts with a letter or `_`, so `$1` is a parameter, not a quote, and a `$`
 *   inside an identifier (`a$b`) never opens one;
 * - `E'…'` strings take backslash escapes (`\'` does not close them); plain `'…'` strings do not
 *   (standard_conforming_strings, the default since PostgreSQL 9.1), and neither do `U&'…'`,
 *   `B'…'`, `X'…'` or `N'…'`; every kind doubles a quote to escape it;
 * - block comments nest: `/* /* *\/ *\/` is one comment;
 * - a line comment ends at a carriage return as well as a line feed;
 * - only ASCII spaces are whitespace; backticks and brackets are plain punctuation.
 *
 * It splits; it does not validate (PostgreSQL does that when the migration runs).
 */
import type { SqlStatement, SqlToken, SqlTokenKind } from "./sqlite-tokens.js";

/**
 * Splits PostgreSQL source into tokens, whitespace and comments included, so the texts of the tokens
 * concatenate back to the source. Every string form is kind `string`; a parameter (`$1`) is a `word`.
 *
 * @example
 * tokenizePostgresSql("SELECT $f$a;b$f$, E'it\\'s'; -- x").filter((t) => t.kind !== "whitespace").map((t) => t.text);
 * // ["SELECT", "$f$a;b$f$", ",", "E'it\\'s'", ";", "-- x"]
 */
export function tokenizePostgresSql(source: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let line = 1;
  let lineStart = 0;
  scanPostgresSql(source, (kind, start, end, unterminated) => {
    tokens.push({ kind, text: source.slice(start, end), offset: start, line, column: start - lineStart + 1, unterminated });
    for (let at = start; at < end; at++) {
      if (source.charCodeAt(at) === 10) {
        line++;
        lineStart = at + 1;
      }
    }
  });
  return tokens;
}

/**
 * Whether `source` ends inside a string, a quoted name or a block comment that it never closes, as
 * the last token of {@link tokenizePostgresSql} says, without building the tokens: for a check made
 * on every migration sent (`src/drivers/pg-script.ts`).
 *
 * @example
 * endsUnterminated("SELECT 'a"); // true
 * endsUnterminated("SELECT 'a' -- open"); // false: a line comment ends with the text
 */
export function endsUnterminated(source: string): boolean {
  let last = false;
  scanPostgresSql(source, (_kind, _start, _end, unterminated) => {
    last = unterminated;
  });
  return last;
}

/**
 * The lexer both read through: calls `onToken` with each token's kind, its start and end offsets,
 * and whether it runs unclosed to the end of `source`, in order, the tokens covering `source` whole.
 */
function scanPostgresSql(source: string, onToken: (kind: SqlTokenKind, start: number, end: number, unterminated: boolean) => void): void {
  let index = 0;
  const length = source.length;
  const push = (kind: SqlTokenKind, end: number, unterminated = false) => {
    onToken(kind, index, end, unterminated);
    index = end;
  };
  // An unclosed string or comment runs to the end of the source, as it does for PostgreSQL's lexer.
  const pushQuoted = (kind: SqlTokenKind, end: number) => push(kind, end === -1 ? length : end, end === -1);

  while (index < length) {
    const char = source[index]!;
    const next = source[index + 1];
    if (isPostgresWhitespace(char)) {
      let end = index + 1;
      while (end < length && isPostgresWhitespace(source[end]!)) end++;
      push("whitespace", end);
    } else if (char === "-" && next === "-") {
      let end = index + 2;
      while (end < length && source[end] !== "\n" && source[end] !== "\r") end++;
      push("line-comment", end);
    } else if (char === "/" && next === "*") {
      pushQuoted("block-comment", findNestedCommentEnd(source, index));
    } else if (char === "'") {
      pushQuoted("string", findClosingQuote(source, index + 1, "'", false));
    } else if (char === '"') {
      pushQuoted("quoted-identifier", findClosingQuote(source, index + 1, '"', false));
    } else if (char === "$") {
      const delimiter = dollarDelimiterAt(source, index);
      if (delimiter !== null) {
        const close = source.indexOf(delimiter, index + delimiter.length);
        pushQuoted("string", close === -1 ? -1 : close + delimiter.length);
      } else if (isDigit(next)) {
        let end = index + 1;
        while (end < length && isDigit(source[end])) end++;
        push("word", end);
      } else {
        push("punctuation", index + 1);
      }
    } else if (isIdentifierStart(char)) {
      const prefixed = prefixedQuoteAt(source, index);
      if (prefixed !== null) {
        pushQuoted(prefixed.kind, findClosingQuote(source, index + prefixed.prefixLength + 1, prefixed.quote, prefixed.backslashEscapes));
      } else {
        let end = index + 1;
        while (end < length && isIdentifierPart(source[end]!)) end++;
        push("word", end);
      }
    } else if (isDigit(char)) {
      // A `$` never continues a number, so `1$$x$$` is a number and a dollar-quoted string.
      let end = index + 1;
      while (end < length && /[0-9A-Za-z_]/.test(source[end]!)) end++;
      push("word", end);
    } else {
      push("punctuation", index + 1);
    }
  }
}

/**
 * Groups significant tokens into statements at each `;`, except the `;`s that do not end one:
 * inside parentheses (a rule's `DO ( …; … )`) and inside the `BEGIN ATOMIC … END` body of a
 * `CREATE FUNCTION` or `CREATE PROCEDURE` (PostgreSQL 14's SQL-standard bodies), where a `CASE … END`
 * does not close the body. A dollar-quoted body is one token already, whatever it holds.
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

/** `CREATE [OR REPLACE] FUNCTION|PROCEDURE`: the statements a `BEGIN ATOMIC` body belongs to. */
function isRoutineDefinition(current: readonly SqlToken[]): boolean {
  const words = current.slice(0, 4).map((token) => (token.kind === "word" ? token.text.toUpperCase() : ""));
  if (words[0] !== "CREATE") return false;
  const kind = words[1] === "OR" && words[2] === "REPLACE" ? words[3] : words[1];
  return kind === "FUNCTION" || kind === "PROCEDURE";
}

/** `$$` or `$tag$` when one starts at `index`; PostgreSQL's tag is an identifier without `$`. */
function dollarDelimiterAt(source: string, index: number): string | null {
  let end = index + 1;
  if (end < source.length && source[end] !== "$") {
    if (!isIdentifierStart(source[end]!)) return null;
    end++;
    while (end < source.length && isIdentifierPart(source[end]!) && source[end] !== "$") end++;
  }
  return source[end] === "$" ? source.slice(index, end + 1) : null;
}

/**
 * A string or identifier with a prefix that changes how it is read: `E'…'` (backslash escapes),
 * `U&'…'`, `U&"…"`, `B'…'`, `X'…'`, `N'…'`. Only a prefix standing alone counts, as in PostgreSQL's
 * lexer: in `ne'x'` the word is `ne`, and a plain string follows.
 */
function prefixedQuoteAt(source: string, index: number): { kind: SqlTokenKind; prefixLength: number; quote: string; backslashEscapes: boolean } | null {
  const letter = source[index]!.toLowerCase();
  const next = source[index + 1];
  if (letter === "u" && next === "&" && (source[index + 2] === "'" || source[index + 2] === '"')) {
    const quote = source[index + 2]!;
    return { kind: quote === "'" ? "string" : "quoted-identifier", prefixLength: 2, quote, backslashEscapes: false };
  }
  if (next !== "'" || !"ebxn".includes(letter)) return null;
  return { kind: "string", prefixLength: 1, quote: "'", backslashEscapes: letter === "e" };
}

/**
 * The index just past the quote that closes a quoted token whose content starts at `from`, or -1.
 * A doubled quote is an escaped one; with `backslashEscapes` (E-strings), so is a backslash and the
 * character after it.
 */
function findClosingQuote(source: string, from: number, quote: string, backslashEscapes: boolean): number {
  let index = from;
  while (index < source.length) {
    const char = source[index]!;
    if (backslashEscapes && char === "\\") {
      index += 2;
    } else if (char === quote) {
      if (source[index + 1] !== quote) return index + 1;
      index += 2;
    } else {
      index++;
    }
  }
  return -1;
}

/** The index just past the `*\/` that closes the comment opened at `start`, counting nested ones, or -1. */
function findNestedCommentEnd(source: string, start: number): number {
  let depth = 1;
  let index = start + 2;
  while (index < source.length - 1) {
    if (source[index] === "/" && source[index + 1] === "*") {
      depth++;
      index += 2;
    } else if (source[index] === "*" && source[index + 1] === "/") {
      depth--;
      index += 2;
      if (depth === 0) return index;
    } else {
      index++;
    }
  }
  return -1;
}

/** PostgreSQL's `space` class; a no-break space is an identifier character to it. */
function isPostgresWhitespace(char: string): boolean {
  return char === " " || char === "\t" || char === "\n" || char === "\r" || char === "\f" || char === "\v";
}

/** `[A-Za-z\200-\377_]`: every non-ASCII character may start an identifier. */
function isIdentifierStart(char: string): boolean {
  // Compared as text, not with a regular expression: the tokeniser asks this of nearly every character.
  return (char >= "a" && char <= "z") || (char >= "A" && char <= "Z") || char === "_" || char >= "\u0080";
}

/** Identifier characters after the first: digits and `$` too. */
function isIdentifierPart(char: string): boolean {
  return isIdentifierStart(char) || isDigit(char) || char === "$";
}

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= "0" && char <= "9";
}

/**
 * The source text of each statement of `sql`, comments between statements dropped and the closing
 * `;` left off. For a runner that must send statements one at a time: PostgreSQL runs a string of
 * several statements as one implicit transaction, in which `CREATE INDEX CONCURRENTLY`, `VACUUM` and
 * the like fail, so a `transaction:false` migration holding one cannot be sent whole.
 *
 * @example
 * splitPostgresSqlText("CREATE INDEX CONCURRENTLY i ON t (a);\nVACUUM t;"); // ["CREATE INDEX CONCURRENTLY i ON t (a)", "VACUUM t"]
 */
export function splitPostgresSqlText(sql: string): string[] {
  return splitPostgresStatements(tokenizePostgresSql(sql)).map(({ tokens }) => {
    const last = tokens.at(-1)!;
    return sql.slice(tokens[0]!.offset, last.offset + last.text.length);
  });
}

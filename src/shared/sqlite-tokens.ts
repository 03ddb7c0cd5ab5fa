/** SQLite's tokeniser and statement splitter, apart from PostgreSQL's so a SQLite-only runtime bundles no PostgreSQL lexer. */
/** What a token is. `word` covers keywords, bare identifiers and numbers alike. */
export type SqlTokenKind = "word" | "string" | "quoted-identifier" | "line-comment" | "block-comment" | "punctuation" | "whitespace";

/** One token with its place in the source (0-based offset; 1-based line and column). */
export interface SqlToken {
  readonly kind: SqlTokenKind;
  readonly text: string;
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  /** A string, quoted identifier or block comment that reaches the end of the source unclosed. */
  readonly unterminated: boolean;
}

/** One statement: its significant tokens. */
export interface SqlStatement {
  readonly tokens: readonly SqlToken[];
}

/** The token that starts at an offset: its kind, where it ends (-1: unclosed, to the end of the source). */
type Scanned = readonly [kind: SqlTokenKind, end: number];

/** Cuts `source` into positioned tokens with `scan`, which reads the token starting at each offset. */
export function tokenizeWith(source: string, scan: (index: number) => Scanned): SqlToken[] {
  const tokens: SqlToken[] = [];
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < source.length;) {
    const [kind, scanned] = scan(index);
    const end = scanned === -1 ? source.length : scanned;
    tokens.push({ kind, text: source.slice(index, end), offset: index, line, column: index - lineStart + 1, unterminated: scanned === -1 });
    for (let at = index; at < end; at++) if (source.charCodeAt(at) === 10) [line, lineStart] = [line + 1, at + 1];
    index = end;
  }
  return tokens;
}

/** The end of the run of characters passing `test` from `from`. */
export function runOf(source: string, from: number, test: (char: string) => boolean): number {
  let end = from;
  while (end < source.length && test(source[end]!)) end++;
  return end;
}

/** The index just past the quote that closes content starting at `from`, or -1; a doubled quote (with `backslashEscapes`, also a backslash) escapes. */
export function findClosingQuote(source: string, from: number, quote: string, backslashEscapes = false): number {
  for (let index = from; index < source.length;) {
    const char = source[index];
    if (char === quote && source[index + 1] !== quote) return index + 1;
    index += char === quote || (backslashEscapes && char === "\\") ? 2 : 1;
  }
  return -1;
}

/** Whitespace as SQLite's tokeniser sees it, plus the Unicode spaces and BOM an editor may leave. */
const isWhitespace = (char: string) => /\s/.test(char);
const isWordChar = (char: string) => /[A-Za-z0-9_$]/.test(char) || (char >= "\u0080" && !isWhitespace(char));

/** Splits SQLite source into tokens that concatenate back to it. A line comment stops before its line break (and the `\r` of a CRLF). */
export function tokenizeSqliteSql(source: string): SqlToken[] {
  return tokenizeWith(source, (index): Scanned => {
    const char = source[index]!;
    const next = source[index + 1];
    if (isWhitespace(char)) return ["whitespace", runOf(source, index + 1, isWhitespace)];
    if (char === "-" && next === "-") {
      const end = (source.indexOf("\n", index) + 1 || source.length + 1) - 1;
      return ["line-comment", source[end - 1] === "\r" ? end - 1 : end];
    }
    if (char === "/" && next === "*") {
      const close = source.indexOf("*/", index + 2);
      return ["block-comment", close === -1 ? -1 : close + 2];
    }
    if (char === "[") return ["quoted-identifier", source.indexOf("]", index + 1) + 1 || -1];
    if (char === "'" || char === '"' || char === "`") return [char === "'" ? "string" : "quoted-identifier", findClosingQuote(source, index + 1, char)];
    if (isWordChar(char)) return ["word", runOf(source, index + 1, isWordChar)];
    return ["punctuation", index + 1];
  });
}

/** Tokens that SQL reads as code: everything but whitespace and comments. */
export function significantTokens(tokens: readonly SqlToken[]): SqlToken[] {
  return tokens.filter((token) => token.kind !== "whitespace" && token.kind !== "line-comment" && token.kind !== "block-comment");
}

/** A word's keyword (uppercased), unless it follows a `.`, where it names a column or table. */
export function keywordOf(token: SqlToken | undefined, previous: SqlToken | undefined): string | null {
  return token?.kind === "word" && previous?.text !== "." ? token.text.toUpperCase() : null;
}

/** Groups tokens into statements at each `;` for which `splits` holds, called on every significant token in order with the statement so far. */
export function splitAt(tokens: readonly SqlToken[], splits: (token: SqlToken, current: readonly SqlToken[], index: number, all: readonly SqlToken[]) => boolean): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let current: SqlToken[] = [];
  const significant = significantTokens(tokens);
  significant.forEach((token, index) => {
    if (!splits(token, current, index, significant)) return void current.push(token);
    if (current.length > 0) statements.push({ tokens: current });
    current = [];
  });
  if (current.length > 0) statements.push({ tokens: current });
  return statements;
}

const BODY_STATEMENT_KEYWORDS = new Set(["SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "VALUES"]);

/**
 * Groups significant tokens into statements at each `;`, except inside the `BEGIN … END` body of a `CREATE TRIGGER` (whose `END` follows a `;`, so a `CASE … END` does not close it). SQLite lets
 * `TRIGGER`, `BEGIN` and `END` be identifiers, so a trigger is recognised by position: `CREATE [TEMP|TEMPORARY] TRIGGER`, then a `BEGIN` after `ON` followed by a statement.
 */
export function splitSqliteStatements(tokens: readonly SqlToken[]): SqlStatement[] {
  let [isTrigger, afterOn, inBody] = [false, false, false];
  return splitAt(tokens, (token, current, index, significant) => {
    const previous = current.at(-1);
    if (token.text === ";" && token.kind === "punctuation" && !inBody) {
      isTrigger = afterOn = false;
      return true;
    }
    const keyword = keywordOf(token, previous);
    const following = significant[index + 1];
    if (keyword === "TRIGGER" && current.length <= 2 && /^CREATE( TEMP| TEMPORARY)?$/.test(current.map((word) => (word.kind === "word" ? word.text.toUpperCase() : "?")).join(" "))) isTrigger = true;
    else if (keyword === "ON" && isTrigger && !inBody) afterOn = true;
    else if (keyword === "BEGIN" && afterOn && !inBody && following?.kind === "word" && BODY_STATEMENT_KEYWORDS.has(following.text.toUpperCase())) inBody = true;
    else if (keyword === "END" && inBody && previous?.text === ";" && previous.kind === "punctuation") inBody = false;
    return false;
  });
}

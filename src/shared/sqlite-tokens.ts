/** SQLite's tokeniser and statement splitter, with no PostgreSQL rules, so a SQLite-only runtime bundles no PostgreSQL lexer. It splits; it does not validate (the database does that). */
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

/** One statement: its significant tokens, the first of which decides what kind of statement it is. */
export interface SqlStatement {
  readonly tokens: readonly SqlToken[];
}

/** The token that starts at an offset: its kind, where it ends, and whether it runs unclosed to the end. */
type Scanned = readonly [kind: SqlTokenKind, end: number, unterminated?: boolean];

/** Cuts `source` into positioned tokens with `scan`, which reads the token starting at each offset. */
export function tokenizeWith(source: string, scan: (index: number) => Scanned): SqlToken[] {
  const tokens: SqlToken[] = [];
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < source.length;) {
    const [kind, end, unterminated = false] = scan(index);
    tokens.push({ kind, text: source.slice(index, end), offset: index, line, column: index - lineStart + 1, unterminated });
    // Only the token's own characters: searching on from its start would rescan a long line per token.
    for (let at = index; at < end; at++) {
      if (source.charCodeAt(at) === 10) {
        line++;
        lineStart = at + 1;
      }
    }
    index = end;
  }
  return tokens;
}

/** Splits SQLite source into tokens, whitespace and comments included, so their texts concatenate back to the source. A line comment stops before its line break (and before the `\r` of a CRLF). */
export function tokenizeSqliteSql(source: string): SqlToken[] {
  const length = source.length;
  const runOf = (index: number, test: (char: string) => boolean) => {
    let end = index + 1;
    while (end < length && test(source[end]!)) end++;
    return end;
  };
  return tokenizeWith(source, (index): Scanned => {
    const char = source[index]!;
    const next = source[index + 1];
    if (isWhitespace(char)) return ["whitespace", runOf(index, isWhitespace)];
    if (char === "-" && next === "-") {
      let end = source.indexOf("\n", index);
      if (end === -1) end = length;
      return ["line-comment", end > index && source[end - 1] === "\r" ? end - 1 : end];
    }
    if (char === "/" && next === "*") {
      const close = source.indexOf("*/", index + 2);
      return ["block-comment", close === -1 ? length : close + 2, close === -1];
    }
    if (char === "'" || char === '"' || char === "`" || char === "[") {
      const end = char === "[" ? source.indexOf("]", index + 1) + 1 || -1 : findClosingQuote(source, index, char);
      return [char === "'" ? "string" : "quoted-identifier", end === -1 ? length : end, end === -1];
    }
    if (isWordChar(char)) return ["word", runOf(index, isWordChar)];
    return ["punctuation", index + 1];
  });
}

/** Tokens that SQLite reads as code: everything but whitespace and comments. */
export function significantTokens(tokens: readonly SqlToken[]): SqlToken[] {
  return tokens.filter((token) => token.kind !== "whitespace" && token.kind !== "line-comment" && token.kind !== "block-comment");
}

/**
 * Groups significant tokens into statements at each `;`, except the `;`s inside the `BEGIN … END`
 * body of a `CREATE TRIGGER`; the body's own `END` is the one that follows a `;`, so a `CASE … END`
 * does not close it. SQLite lets `TRIGGER`, `BEGIN` and `END` be bare identifiers, so a trigger is
 * recognised by grammar position: `CREATE [TEMP|TEMPORARY] TRIGGER`, its body's `BEGIN` after the
 * header's `ON` and followed by a statement.
 */
export function splitSqliteStatements(tokens: readonly SqlToken[]): SqlStatement[] {
  const statements: SqlStatement[] = [];
  const significant = significantTokens(tokens);
  let current: SqlToken[] = [];
  let isTrigger = false;
  let afterOn = false;
  let inTriggerBody = false;
  significant.forEach((token, index) => {
    const previous = current.at(-1);
    if (token.text === ";" && token.kind === "punctuation" && !inTriggerBody) {
      if (current.length > 0) statements.push({ tokens: current });
      current = [];
      isTrigger = afterOn = false;
      return;
    }
    // A word after a `.` names a column or table, never a keyword.
    const keyword = token.kind === "word" && previous?.text !== "." ? token.text.toUpperCase() : null;
    if (keyword === "TRIGGER" && isTriggerPosition(current)) isTrigger = true;
    else if (keyword === "ON" && isTrigger && !inTriggerBody) afterOn = true;
    else if (keyword === "BEGIN" && afterOn && !inTriggerBody && startsBodyStatement(significant[index + 1])) inTriggerBody = true;
    else if (keyword === "END" && inTriggerBody && previous?.text === ";" && previous.kind === "punctuation") inTriggerBody = false;
    current.push(token);
  });
  if (current.length > 0) statements.push({ tokens: current });
  return statements;
}

/** Whether `TRIGGER` would be the statement's third keyword of `CREATE [TEMP|TEMPORARY] TRIGGER`. */
function isTriggerPosition(current: readonly SqlToken[]): boolean {
  const words = current.map((token) => (token.kind === "word" ? token.text.toUpperCase() : null));
  return words[0] === "CREATE" && (current.length === 1 || (current.length === 2 && (words[1] === "TEMP" || words[1] === "TEMPORARY")));
}

const BODY_STATEMENT_KEYWORDS = new Set(["SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "VALUES"]);

function startsBodyStatement(next: SqlToken | undefined): boolean {
  return next?.kind === "word" && BODY_STATEMENT_KEYWORDS.has(next.text.toUpperCase());
}

/** Whitespace as SQLite's tokeniser sees it, plus the Unicode spaces and BOM an editor may leave. */
function isWhitespace(char: string): boolean {
  return char === " " || char === "\t" || char === "\n" || char === "\r" || char === "\f" || char === "\v" || char === "\uFEFF" || /\s/.test(char);
}

function isWordChar(char: string): boolean {
  return /[A-Za-z0-9_$]/.test(char) || (char >= "\u0080" && !isWhitespace(char));
}

/** The index just past the closing quote, or -1 when there is none; a doubled quote is an escaped one. */
function findClosingQuote(source: string, start: number, quote: string): number {
  for (let index = start + 1; ;) {
    const at = source.indexOf(quote, index);
    if (at === -1 || source[at + 1] !== quote) return at === -1 ? -1 : at + 1;
    index = at + 2;
  }
}

/**
 * SQLite's tokeniser and statement splitter, with no PostgreSQL rules: what a SQLite-only runtime
 * (the Cloudflare drivers' statement splitting) imports, so its bundle carries no PostgreSQL lexer.
 * `sql-tokens.ts` is the entry point that takes a dialect and dispatches here or to `postgres-tokens.ts`.
 */
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

/**
 * Splits SQLite source into tokens, whitespace and comments included, so the texts of the tokens
 * concatenate back to the source. A line comment's text stops before its line break (and before a
 * `\r` of a CRLF line ending).
 *
 * @example
 * tokenizeSqliteSql("SELECT 'a;b'; -- x").filter((t) => t.kind !== "whitespace").map((t) => t.text);
 * // ["SELECT", "'a;b'", ";", "-- x"]
 */
export function tokenizeSqliteSql(source: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let line = 1;
  let lineStart = 0;
  let index = 0;
  const length = source.length;
  const push = (kind: SqlTokenKind, end: number, unterminated = false) => {
    tokens.push({ kind, text: source.slice(index, end), offset: index, line, column: index - lineStart + 1, unterminated });
    // Line breaks inside the token move the position of the next one. Only the token's own characters
    // are read: searching on from its start would scan the rest of a long line once per token.
    for (let at = index; at < end; at++) {
      if (source.charCodeAt(at) === 10) {
        line++;
        lineStart = at + 1;
      }
    }
    index = end;
  };

  while (index < length) {
    const char = source[index]!;
    const next = source[index + 1];
    if (isWhitespace(char)) {
      let end = index + 1;
      while (end < length && isWhitespace(source[end]!)) end++;
      push("whitespace", end);
    } else if (char === "-" && next === "-") {
      let end = source.indexOf("\n", index);
      if (end === -1) end = length;
      if (end > index && source[end - 1] === "\r") end--;
      push("line-comment", end);
    } else if (char === "/" && next === "*") {
      const close = source.indexOf("*/", index + 2);
      push("block-comment", close === -1 ? length : close + 2, close === -1);
    } else if (char === "'" || char === '"' || char === "`") {
      const end = findClosingQuote(source, index, char);
      push(char === "'" ? "string" : "quoted-identifier", end === -1 ? length : end, end === -1);
    } else if (char === "[") {
      const close = source.indexOf("]", index + 1);
      push("quoted-identifier", close === -1 ? length : close + 1, close === -1);
    } else if (isWordChar(char)) {
      let end = index + 1;
      while (end < length && isWordChar(source[end]!)) end++;
      push("word", end);
    } else {
      push("punctuation", index + 1);
    }
  }
  return tokens;
}

/** Tokens that SQLite reads as code: everything but whitespace and comments. */
export function significantTokens(tokens: readonly SqlToken[]): SqlToken[] {
  return tokens.filter((token) => token.kind !== "whitespace" && token.kind !== "line-comment" && token.kind !== "block-comment");
}

/** One statement: its significant tokens, the first of which decides what kind of statement it is. */
export interface SqlStatement {
  readonly tokens: readonly SqlToken[];
}

/**
 * Groups significant tokens into statements at each `;`, except the `;`s inside the
 * `BEGIN … END` body of a `CREATE TRIGGER`, which belong to the trigger. A `CASE … END` inside the
 * body does not end it; the body's own `END` is the one that follows a `;`.
 *
 * SQLite lets `TRIGGER`, `BEGIN` and `END` be bare identifiers, so a trigger is recognised only by
 * grammar position: `CREATE [TEMP|TEMPORARY] TRIGGER`, and its body's `BEGIN` only after the
 * header's `ON`, where a statement of the body follows it.
 */
export function splitSqliteStatements(tokens: readonly SqlToken[]): SqlStatement[] {
  const statements: SqlStatement[] = [];
  const significant = significantTokens(tokens);
  let current: SqlToken[] = [];
  let isTrigger = false;
  let afterOn = false;
  let inTriggerBody = false;
  for (let index = 0; index < significant.length; index++) {
    const token = significant[index]!;
    const previous = current.at(-1);
    const keyword = keywordAt(token, previous);
    if (token.text === ";" && token.kind === "punctuation" && !inTriggerBody) {
      if (current.length > 0) statements.push({ tokens: current });
      current = [];
      isTrigger = false;
      afterOn = false;
      continue;
    }
    if (keyword === "TRIGGER" && isTriggerPosition(current)) isTrigger = true;
    else if (keyword === "ON" && isTrigger && !inTriggerBody) afterOn = true;
    else if (keyword === "BEGIN" && afterOn && !inTriggerBody && startsBodyStatement(significant[index + 1])) inTriggerBody = true;
    else if (keyword === "END" && inTriggerBody && previous?.text === ";" && previous.kind === "punctuation") inTriggerBody = false;
    current.push(token);
  }
  if (current.length > 0) statements.push({ tokens: current });
  return statements;
}

/** A bare word's uppercase text, unless it follows a `.` (then it names a column or table). */
function keywordAt(token: SqlToken, previous: SqlToken | undefined): string | null {
  return token.kind === "word" && previous?.text !== "." ? token.text.toUpperCase() : null;
}

/** Whether `TRIGGER` would be the statement's third keyword of `CREATE [TEMP|TEMPORARY] TRIGGER`. */
function isTriggerPosition(current: readonly SqlToken[]): boolean {
  const words = current.map((token) => (token.kind === "word" ? token.text.toUpperCase() : null));
  if (words[0] !== "CREATE") return false;
  return current.length === 1 || (current.length === 2 && (words[1] === "TEMP" || words[1] === "TEMPORARY"));
}

/** The statements a trigger body may hold, so a `BEGIN` followed by one opens the body. */
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
  let index = start + 1;
  for (;;) {
    const at = source.indexOf(quote, index);
    if (at === -1) return -1;
    if (source[at + 1] === quote) {
      index = at + 2;
      continue;
    }
    return at + 1;
  }
}

/** JavaScript source read without its comments, for checks that read a TypeScript migration's compiled body: tsc keeps comments there, esbuild and tsx drop them. */

const BEFORE_EXPRESSION = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await"]);
const CONTROL = new Set(["if", "while", "for", "with"]);
const isWordChar = (char: string) => /[\w$]/.test(char) || char >= "\u0080";

/**
 * `source` with each comment replaced by a space (a line comment's line break stays), and strings, template literals and regular expressions kept whole: SQL in a string still counts.
 * A `/` starts a regular expression where what comes before allows one (an operator, `(`, `return`, `if (…)`), else it divides. A wrong guess only keeps text: a division read as a regular
 * expression keeps its line up to the next `/`, and a block comment that never closes, or a string, is kept to its end.
 */
export function withoutJsComments(source: string): string {
  let out = "";
  let at = 0;
  // Per open bracket: for `(`, whether a regular expression may follow its `)` (`if (a) /b/`); `${` resumes a template literal at its `}`.
  const open: Array<boolean | "{" | "${"> = [];
  let regexAllowed = true;
  let word = "";
  let inTemplate = false;
  while (at < source.length) {
    if (inTemplate) {
      const end = scanTemplate(source, at);
      if (end.opens) open.push("${");
      out += source.slice(at, end.at);
      [at, inTemplate, regexAllowed, word] = [end.at, false, end.opens, ""];
      continue;
    }
    const char = source[at]!;
    const next = source[at + 1];
    if (char === "/" && next === "/") {
      while (at < source.length && !"\n\r\u2028\u2029".includes(source[at]!)) at++;
      out += " ";
      continue;
    }
    if (char === "/" && next === "*") {
      const close = source.indexOf("*/", at + 2);
      if (close === -1) return out + source.slice(at);
      out += " ";
      at = close + 2;
      continue;
    }
    let end = at + 1;
    if (/\s/.test(char)) {
      out += char;
      at = end;
      continue;
    }
    if (isWordChar(char)) {
      while (end < source.length && isWordChar(source[end]!)) end++;
      word = source.slice(at, end);
      regexAllowed = BEFORE_EXPRESSION.has(word);
      out += word;
      at = end;
      continue;
    }
    if (char === "'" || char === '"' || (char === "/" && regexAllowed)) {
      end = char === "/" ? scanRegex(source, end) : scanString(source, end, char);
      regexAllowed = false;
    } else if (char === "}" || char === ")") {
      const closed = open.pop();
      inTemplate = closed === "${";
      regexAllowed = char === "}" || closed === true;
    } else {
      if (char === "(" || char === "{") open.push(char === "{" ? "{" : CONTROL.has(word));
      inTemplate = char === "`";
      regexAllowed = char !== "]";
    }
    word = "";
    out += source.slice(at, end);
    at = end;
  }
  return out;
}

/** Past a string's closing quote, or at the line break where it runs on (SQL in a string is kept either way). */
function scanString(source: string, at: number, quote: string): number {
  for (; at < source.length; at++) {
    if (source[at] === "\\") at++;
    else if (source[at] === quote) return at + 1;
    else if (source[at] === "\n") return at;
  }
  return at;
}

/** Past a regular expression's closing `/` (not one in a `[…]` class), or at the line break where a misread division ends. */
function scanRegex(source: string, at: number): number {
  let inClass = false;
  for (; at < source.length && source[at] !== "\n"; at++) {
    const char = source[at];
    if (char === "\\") at++;
    else if (char === "[") inClass = true;
    else if (char === "]") inClass = false;
    else if (char === "/" && !inClass) return at + 1;
  }
  return at;
}

/** Where a template literal's text from `at` ends: past its closing backtick, or past a `${` (`opens`), after which code runs until the matching `}`. */
function scanTemplate(source: string, at: number): { at: number; opens: boolean } {
  for (; at < source.length; at++) {
    if (source[at] === "\\") at++;
    else if (source[at] === "`") return { at: at + 1, opens: false };
    else if (source[at] === "$" && source[at + 1] === "{") return { at: at + 2, opens: true };
  }
  return { at, opens: false };
}

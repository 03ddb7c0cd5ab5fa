/**
 * Whether text can be appended to a SQLite script and still be read as statements of its own: what
 * `sqlite-script-with-history.ts` asks before it sends a SQL migration and its history writes as one
 * `exec`. SQLite reads a script to its end or to its first NUL, so a script that ends inside a string,
 * a quoted name or a block comment would take in the history `INSERT` appended to it (as text, or as
 * a comment nobody runs), and a NUL would end the script before it: the migration would commit
 * without its row. Such a script is sent the usual way instead, statement by statement.
 *
 * A scan of SQLite's own lexical rules (`tokenize.c`), not a tokenizer: it allocates nothing, since it
 * runs on every SQL migration of a fresh apply. Where it is unsure it answers "no", which only costs
 * that migration the usual path.
 */

const NUL = "\u0000";

/**
 * Whether `script` ends outside every string, quoted name and block comment, holds no NUL, and has no
 * Tcl-style variable (`$name(…)`, whose parenthesised part SQLite reads past quotes): so a line break
 * and a `;` after it end its last statement, whatever that statement is. A trailing `--` comment is
 * fine: the line break ends it.
 *
 * @example
 * canAppendToSqliteScript("CREATE TABLE t (a TEXT DEFAULT 'x'); -- done"); // true
 * canAppendToSqliteScript("SELECT 'open"); // false
 */
export function canAppendToSqliteScript(script: string): boolean {
  if (script.includes(NUL)) return false;
  const length = script.length;
  let index = 0;
  while (index < length) {
    const char = script.charCodeAt(index);
    if (char === 0x2d /* - */ && script.charCodeAt(index + 1) === 0x2d) {
      const end = script.indexOf("\n", index + 2);
      if (end === -1) return true;
      index = end + 1;
    } else if (char === 0x2f /* / */ && script.charCodeAt(index + 1) === 0x2a /* * */) {
      const end = script.indexOf("*/", index + 2);
      if (end === -1) return false;
      index = end + 2;
    } else if (char === 0x27 /* ' */ || char === 0x22 /* " */ || char === 0x60 /* ` */) {
      const end = closingQuote(script, index);
      if (end === -1) return false;
      index = end + 1;
    } else if (char === 0x5b /* [ */) {
      const end = script.indexOf("]", index + 1);
      if (end === -1) return false;
      index = end + 1;
    } else if (char === 0x24 /* $ */ || char === 0x40 /* @ */ || char === 0x3a /* : */ || char === 0x23 /* # */) {
      const end = variableEnd(script, index + 1);
      if (end === -1) return false;
      index = end;
    } else {
      index++;
    }
  }
  return true;
}

/** Where the quote opened at `start` closes (a doubled quote stays inside), or -1. */
function closingQuote(script: string, start: number): number {
  const quote = script[start]!;
  let from = start + 1;
  for (;;) {
    const end = script.indexOf(quote, from);
    if (end === -1 || script[end + 1] !== quote) return end;
    from = end + 2;
  }
}

/**
 * Where a bound-parameter name that starts at `from` ends (its identifier characters, and `::`
 * pairs), or -1 when a `(` follows it: SQLite's Tcl variable syntax then reads on to the next space
 * or `)`, past any quote, where this scan would see a string.
 */
function variableEnd(script: string, from: number): number {
  let index = from;
  for (;;) {
    const char = script.charCodeAt(index);
    if (isIdentifierChar(char)) index++;
    else if (char === 0x3a && script.charCodeAt(index + 1) === 0x3a) index += 2;
    else return char === 0x28 /* ( */ ? -1 : index;
  }
}

/** SQLite's `IdChar`: ASCII letters, digits, `_`, `$`, and every character past ASCII. */
function isIdentifierChar(char: number): boolean {
  return (char >= 0x61 && char <= 0x7a) || (char >= 0x41 && char <= 0x5a) || (char >= 0x30 && char <= 0x39) || char === 0x5f || char === 0x24 || char >= 0x80;
}

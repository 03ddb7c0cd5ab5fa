/**
 * SQLite names an unaliased result column of a view, or of a `CREATE TABLE … AS SELECT` table, after
 * the expression's source text, spaces and comments included: `SELECT a + 1` makes a column called
 * `a + 1`, `SELECT a  +  1` one called `a  +  1`. The token-level canonical SQL form cannot see that,
 * so this finds those columns and their exact text.
 */

/** One token of SQL as the canonicaliser saw it. */
export interface SqlToken {
  readonly text: string;
  /** Offsets into the SQL: the token is `sql.slice(start, end)`. */
  readonly start: number;
  readonly end: number;
  /** Whether the canonical form puts a space before it. */
  readonly spaceBefore: boolean;
}

/** A result column whose name is its source text: the index of its first token, and that text. */
export type NamedByText = readonly [tokenIndex: number, text: string];

const ENDS_RESULT_COLUMNS = new Set(["FROM", "WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT", "UNION", "INTERSECT", "EXCEPT"]);

/**
 * The outermost result columns of `CREATE VIEW` (without a column list) and `CREATE TABLE … AS`
 * whose source text differs from their canonical rendering: the only places where the exact spacing
 * and comments reach the schema, plus the first select lists of FROM subqueries and CTEs, whose
 * names `SELECT *` passes on. Columns written as their canonical rendering are left out, so the
 * checksum of such SQL does not move. Only the first select of a compound names the columns.
 */
export function resultColumnsNamedByText(sql: string, tokens: readonly SqlToken[]): NamedByText[] {
  const found: NamedByText[] = [];
  let statementStart = 0;
  for (let index = 0; index <= tokens.length; index++) {
    if (index === tokens.length || tokens[index]!.text === ";") {
      collectFromStatement(sql, tokens, statementStart, index, found);
      statementStart = index + 1;
    }
  }
  return found;
}

function collectFromStatement(sql: string, tokens: readonly SqlToken[], from: number, to: number, found: NamedByText[]): void {
  const word = (index: number) => (index >= from && index < to ? tokens[index]!.text.toUpperCase() : "");
  let index = from;
  if (word(index) !== "CREATE") return;
  index++;
  if (word(index) === "TEMP" || word(index) === "TEMPORARY") index++;
  const isView = word(index) === "VIEW";
  if (!isView && word(index) !== "TABLE") return;
  index++;
  if (word(index) === "IF" && word(index + 1) === "NOT" && word(index + 2) === "EXISTS") index += 3;
  index++; // the name
  if (word(index) === ".") index += 2; // schema.name
  // A view's own column list names its columns.
  if (word(index) !== "AS") return;
  index++;
  const body = index;
  if (word(index) === "WITH") {
    let depth = 0;
    while (index < to && !(depth === 0 && (word(index) === "SELECT" || word(index) === "VALUES"))) {
      if (tokens[index]!.text === "(") depth++;
      else if (tokens[index]!.text === ")") depth--;
      index++;
    }
  }
  if (word(index) === "SELECT") collectSelectList(sql, tokens, index + 1, to, found);
  // `SELECT *` passes on the names of a subquery in FROM or of a CTE (one without its own column
  // list), so their first select lists name columns too. A scalar subquery's never does, though one
  // in a function's arguments is counted as well: telling it from a FROM list would need a parser.
  for (let select = body + 1; select < to; select++) {
    if (word(select) !== "SELECT" || tokens[select - 1]!.text !== "(") continue;
    const before = word(select - 2);
    const feedsStar = before === "FROM" || before === "JOIN" || before === "," || (before === "AS" && tokens[select - 3]?.text !== ")");
    if (feedsStar) collectSelectList(sql, tokens, select + 1, to, found);
  }
}

/** The result columns of the select list starting at `index` (just past SELECT). */
function collectSelectList(sql: string, tokens: readonly SqlToken[], index: number, to: number, found: NamedByText[]): void {
  if (index < to && ["DISTINCT", "ALL"].includes(tokens[index]!.text.toUpperCase())) index++;
  let depth = 0;
  let columnStart = index;
  for (; index <= to; index++) {
    const text = index < to ? tokens[index]!.text : ";";
    if (text === "(") depth++;
    else if (text === ")") depth--;
    // A subquery's list also ends at its closing parenthesis.
    const ends = index === to || depth < 0 || (depth === 0 && ENDS_RESULT_COLUMNS.has(text.toUpperCase()));
    if (ends || (depth === 0 && text === ",")) {
      const column = tokens.slice(columnStart, index);
      if (isNamedByText(column)) {
        const exact = sql.slice(column[0]!.start, column[column.length - 1]!.end);
        if (exact !== canonicalRendering(column)) found.push([columnStart, exact]);
      }
      columnStart = index + 1;
      if (ends) return;
    }
  }
}

/** An expression of more than one token without `AS alias`; a single token is already kept exactly. */
function isNamedByText(whole: readonly SqlToken[]): boolean {
  if (whole.length < 2) return false;
  if (whole[whole.length - 2]!.text.toUpperCase() === "AS") return false;
  // `t.a`, `s.t.a` and `(a)` are named after the column, `t.*` names nothing.
  let column = whole;
  while (column.length > 2 && wrapsWhole(column)) column = column.slice(1, -1);
  const isReference = column.every((token, i) => (i % 2 === 1 ? token.text === "." : token.text !== "." && token.text !== "(" && token.text !== ")"));
  return !isReference;
}

/** Whether the first token is a `(` whose `)` is the last token. */
function wrapsWhole(column: readonly SqlToken[]): boolean {
  if (column[0]!.text !== "(") return false;
  let depth = 0;
  for (let i = 0; i < column.length; i++) {
    if (column[i]!.text === "(") depth++;
    else if (column[i]!.text === ")" && --depth === 0) return i === column.length - 1;
  }
  return false;
}

function canonicalRendering(column: readonly SqlToken[]): string {
  return column.map((token, i) => (i > 0 && token.spaceBefore ? ` ${token.text}` : token.text)).join("");
}

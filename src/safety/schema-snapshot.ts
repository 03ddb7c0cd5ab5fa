/**
 * A schema as plain data, what differs between two ({@link diffSchemas}, shared by every net), and SQLite's reader. SQLite's columns and foreign keys come from the pragmas; what they do not show
 * (AUTOINCREMENT, ON CONFLICT, DEFERRABLE...) is caught by comparing each `CREATE TABLE` text, tokenised so that comments, whitespace, keyword case and quoting are ignored.
 */
import { quoteIdentifier } from "../core/batch-walk.js";
import type { SchemaAspectChange, SchemaDifference, SchemaObjectType } from "../core/errors.js";
import { readSchemaObjects } from "../core/schema-objects.js";
import { query, queryValue, type Step } from "../core/step.js";
import { significantTokens, tokenizeSqliteSql } from "../shared/sqlite-tokens.js";

/** One column, as it behaves rather than as it was spelled. */
export interface ColumnSnapshot {
  readonly name: string;
  /** The declared type, upper-cased; `""` when none was declared. */
  readonly type: string;
  readonly notNull: boolean;
  readonly defaultValue: string | null;
  /** 1-based position in the primary key, 0 when not part of it. */
  readonly primaryKeyPosition: number;
  /** The COLLATE clause, upper-cased; `null` for the default. */
  readonly collation: string | null;
  readonly checks: readonly string[];
  readonly generated: "virtual" | "stored" | null;
}

/** A foreign key. */
export interface ForeignKeySnapshot {
  readonly columns: readonly string[];
  readonly referencedTable: string;
  readonly referencedColumns: readonly string[];
  readonly onUpdate: string;
  readonly onDelete: string;
}

/** A table with its columns and table-level constraints. */
export interface TableSnapshot {
  readonly name: string;
  readonly columns: readonly ColumnSnapshot[];
  readonly withoutRowid: boolean;
  readonly strict: boolean;
  readonly foreignKeys: readonly ForeignKeySnapshot[];
  /** Column lists of UNIQUE constraints (a CREATE UNIQUE INDEX is an index). */
  readonly uniqueConstraints: readonly (readonly string[])[];
  readonly checks: readonly string[];
  /** The whole `CREATE TABLE`, normalised, so a difference the fields above miss still counts. */
  readonly sql: string;
}

/** An index, trigger, view (or PostgreSQL sequence, function, aggregate, operator, type): compared by its normalised SQL. */
export interface SqlObjectSnapshot {
  readonly name: string;
  /** The table it belongs to (for a view, itself). */
  readonly table: string;
  readonly sql: string;
}

/** Everything stepwise compares about a schema, as plain data sorted by name. */
export interface SchemaSnapshot {
  readonly tables: readonly TableSnapshot[];
  readonly indexes: readonly SqlObjectSnapshot[];
  readonly triggers: readonly SqlObjectSnapshot[];
  readonly views: readonly SqlObjectSnapshot[];
  /** PostgreSQL's sequences (never their current value). */
  readonly sequences?: readonly SqlObjectSnapshot[];
  /** PostgreSQL's functions and procedures, named with their argument types. */
  readonly functions?: readonly SqlObjectSnapshot[];
  /** PostgreSQL's aggregates, named with their argument types. */
  readonly aggregates?: readonly SqlObjectSnapshot[];
  /** PostgreSQL's operators, named with their operand types: `===(integer, integer)`. */
  readonly operators?: readonly SqlObjectSnapshot[];
  /** PostgreSQL's enum, domain, composite and range types. */
  readonly types?: readonly SqlObjectSnapshot[];
}

/** Options for `readSchemaSnapshot`. */
export interface ReadSchemaOptions {
  /** Tables to leave out (their indexes and triggers are still read): the history table, typically. */
  readonly excludeTables?: readonly string[];
}

/** SQLite's `main` schema as a {@link SchemaSnapshot}. Never writes. */
export function* readSchema(options: ReadSchemaOptions = {}): Step<SchemaSnapshot> {
  const kept = (yield* readSchemaObjects({ excludeTables: options.excludeTables })).filter((row) => row.sql !== null);
  const flags = new Map((yield* query<{ schema: string; name: string; wr: number; strict: number }>("PRAGMA table_list")).filter((row) => row.schema === "main").map((row) => [row.name, row]));
  const sqlObjects = (type: string): SqlObjectSnapshot[] =>
    kept.filter((row) => row.type === type).map((row) => ({ name: row.name, table: row.tblName, sql: normalizeSql(row.sql!, type === "index" || type === "trigger") }));
  const tables: TableSnapshot[] = [];
  for (const row of kept) if (row.type === "table") tables.push(yield* readTable(row.name, row.sql!, flags.get(row.name)));
  return { tables, indexes: sqlObjects("index"), triggers: sqlObjects("trigger"), views: sqlObjects("view") };
}

function* readTable(name: string, sql: string, flags: { wr: number; strict: number } | undefined): Step<TableSnapshot> {
  const parsed = parseCreateTable(sql);
  const pragma = <T>(what: string, of = name) => query<T>(`PRAGMA ${what}(${quoteIdentifier(of)})`);
  let described: Array<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number; hidden: number }>;
  try {
    described = yield* pragma("table_xinfo");
  } catch (error) {
    // A virtual table whose module this connection has not loaded (sql.js has no FTS5) cannot be described: it is known by its CREATE text alone.
    if (!/no such module/i.test(error instanceof Error ? error.message : "")) throw error;
    return { name, columns: [], withoutRowid: false, strict: false, foreignKeys: [], uniqueConstraints: [], checks: [], sql: parsed.sql };
  }
  const columns = described
    .filter((column) => column.hidden !== 1)
    .map(({ name, type, notnull, dflt_value, pk, hidden }): ColumnSnapshot => ({
      name,
      type: normalizeColumnType(type),
      notNull: notnull === 1,
      defaultValue: dflt_value === null ? null : normalizeSql(dflt_value),
      primaryKeyPosition: pk,
      collation: parsed.columns.get(name.toLowerCase())?.collation ?? null,
      checks: parsed.columns.get(name.toLowerCase())?.checks ?? [],
      generated: hidden === 2 ? "virtual" : hidden === 3 ? "stored" : null,
    }));
  const foreignKeys = new Map<number, { columns: string[]; referencedTable: string; referencedColumns: string[]; onUpdate: string; onDelete: string }>();
  const keys = yield* pragma<{ id: number; seq: number; table: string; from: string; to: string | null; on_update: string; on_delete: string }>("foreign_key_list");
  for (const key of keys.sort((a, b) => a.id - b.id || a.seq - b.seq)) {
    const entry = foreignKeys.get(key.id) ?? { columns: [], referencedTable: key.table, referencedColumns: [], onUpdate: key.on_update, onDelete: key.on_delete };
    foreignKeys.set(key.id, entry);
    entry.columns.push(key.from);
    entry.referencedColumns.push(key.to ?? "");
  }
  const uniqueConstraints: string[][] = [];
  for (const index of yield* pragma<{ name: string; origin: string }>("index_list")) {
    if (index.origin === "u")
      uniqueConstraints.push((yield* pragma<{ seqno: number; name: string | null }>("index_info", index.name)).sort((a, b) => a.seqno - b.seqno).map((column) => column.name ?? "<expression>"));
  }
  return {
    name,
    columns,
    withoutRowid: flags ? flags.wr === 1 : parsed.withoutRowid,
    strict: flags?.strict === 1,
    foreignKeys: [...foreignKeys.values()].sort((a, b) => renderForeignKey(a).localeCompare(renderForeignKey(b))),
    uniqueConstraints: uniqueConstraints.sort((a, b) => a.join(",").localeCompare(b.join(","))),
    checks: [...parsed.tableChecks].sort(),
    sql: parsed.sql,
  };
}

/** Rows per table of `snapshot`. With `schema` (PostgreSQL), each table is qualified and counted by `pg_catalog.count`, whatever the `search_path`. */
export function* countRows(snapshot: SchemaSnapshot, schema?: string): Step<Record<string, number>> {
  const counts: Record<string, number> = {};
  const from = schema === undefined ? "count(*) AS n FROM " : `pg_catalog.count(*) AS n FROM ${quoteIdentifier(schema)}.`;
  for (const table of snapshot.tables) counts[table.name] = Number(yield* queryValue(`SELECT ${from}${quoteIdentifier(table.name)}`));
  return counts;
}

const SQL_OBJECT_KINDS = Object.entries({
  index: "indexes",
  trigger: "triggers",
  view: "views",
  sequence: "sequences",
  function: "functions",
  aggregate: "aggregates",
  operator: "operators",
  type: "types",
}) as Array<[SchemaObjectType, Exclude<keyof SchemaSnapshot, "tables">]>;

/** Lists what differs between two snapshots, tables first, then indexes, triggers and views. */
export function diffSchemas(before: SchemaSnapshot, after: SchemaSnapshot): SchemaDifference[] {
  const differences: SchemaDifference[] = [];
  const pair = <T extends { name: string; table?: string }>(objectType: SchemaObjectType, a: readonly T[] = [], b: readonly T[] = [], diff: (x: T, y: T) => SchemaDifference[]) => {
    const [left, right] = [a, b].map((items) => new Map(items.map((item) => [item.name.toLowerCase(), item])));
    for (const key of [...new Set([...left!.keys(), ...right!.keys()])].sort()) {
      const [x, y] = [left!.get(key), right!.get(key)];
      const { name, table = name } = (y ?? x)!;
      differences.push(...(x && y ? diff(x, y) : [{ objectType, name, table, change: x ? ("removed" as const) : ("added" as const), details: [] }]));
    }
  };
  // A column's default collation is what each database calls it: SQLite's BINARY, PostgreSQL's "default" (only its snapshots hold types).
  const defaultCollation = before.types || after.types ? "default" : "BINARY";
  pair("table", before.tables, after.tables, (x, y) => diffTable(x, y, defaultCollation));
  for (const [objectType, key] of SQL_OBJECT_KINDS) {
    pair(objectType, before[key], after[key], (x, y) =>
      x.sql === y.sql ? [] : [{ objectType, name: y.name, table: y.table, change: "changed", details: [{ aspect: "definition", before: x.sql, after: y.sql }] }],
    );
  }
  return differences;
}

/** The aspects that differ among `[aspect, before, after]`. */
const compareAspects = (aspects: ReadonlyArray<readonly [string, string, string]>): SchemaAspectChange[] =>
  aspects.filter(([, before, after]) => before !== after).map(([aspect, before, after]) => ({ aspect, before, after }));

function diffTable(before: TableSnapshot, after: TableSnapshot, defaultCollation: string): SchemaDifference[] {
  const table = after.name;
  const differences: SchemaDifference[] = [];
  const column = (name: string, change: SchemaDifference["change"], details: SchemaAspectChange[] = []) => differences.push({ objectType: "column", name: `${table}.${name}`, table, change, details });
  const [beforeColumns, afterColumns] = [before, after].map((side) => new Map(side.columns.map((c) => [c.name.toLowerCase(), c])));
  for (const old of before.columns) if (!afterColumns!.has(old.name.toLowerCase())) column(old.name, "removed");
  for (const now of after.columns) {
    const old = beforeColumns!.get(now.name.toLowerCase());
    const none = (value: string | null | undefined, empty = "(none)") => value || empty;
    const details =
      old &&
      compareAspects([
        ["type", none(old.type), none(now.type)],
        ["not null", String(old.notNull), String(now.notNull)],
        ["default", none(old.defaultValue), none(now.defaultValue)],
        ["primary key position", String(old.primaryKeyPosition), String(now.primaryKeyPosition)],
        ["collation", none(old.collation, defaultCollation), none(now.collation, defaultCollation)],
        ["check", none(old.checks.join(" AND ")), none(now.checks.join(" AND "))],
        ["generated", none(old.generated, "no"), none(now.generated, "no")],
      ]);
    if (!details) column(now.name, "added");
    else if (details.length > 0) column(now.name, "changed", details);
  }
  const shared = (columns: readonly ColumnSnapshot[], other: Map<string, ColumnSnapshot>) => columns.flatMap((c) => (other.has(c.name.toLowerCase()) ? [c.name] : [])).join(", ");
  const list = <T>(items: readonly T[], render: (item: T) => string, separator: string) => items.map(render).join(separator) || "(none)";
  const unique = (columns: readonly string[]) => `(${columns.join(", ")})`;
  const tableDetails = compareAspects([
    ["column order", shared(before.columns, afterColumns!), shared(after.columns, beforeColumns!)],
    ["without rowid", String(before.withoutRowid), String(after.withoutRowid)],
    ["strict", String(before.strict), String(after.strict)],
    ["foreign keys", list(before.foreignKeys, renderForeignKey, "; "), list(after.foreignKeys, renderForeignKey, "; ")],
    ["unique constraints", list(before.uniqueConstraints, unique, ", "), list(after.uniqueConstraints, unique, ", ")],
    ["check constraints", list(before.checks, String, "; "), list(after.checks, String, "; ")],
  ]);
  if (tableDetails.length > 0) differences.unshift({ objectType: "table", name: table, table, change: "changed", details: tableDetails });
  // The text only when nothing above explains it.
  if (differences.length === 0 && before.sql !== after.sql)
    differences.push({ objectType: "table", name: table, table, change: "changed", details: [{ aspect: "definition", before: before.sql, after: after.sql }] });
  return differences;
}

function renderForeignKey(key: ForeignKeySnapshot): string {
  const actions = (key.onDelete !== "NO ACTION" ? ` ON DELETE ${key.onDelete}` : "") + (key.onUpdate !== "NO ACTION" ? ` ON UPDATE ${key.onUpdate}` : "");
  return `(${key.columns.join(", ")}) \u2192 ${key.referencedTable}(${key.referencedColumns.join(", ")})${actions}`;
}

/** How a difference reads. `change` words a rehearsal's before -> after ("column contacts.status added"); `drift` words the live schema against the migrations ("index idx_x missing"). */
export function describeSchemaDifference(difference: SchemaDifference, wording: "change" | "drift"): string {
  const subject = `${difference.objectType} ${difference.name}`;
  const details = difference.details
    .map(({ aspect, before, after }) => {
      if (aspect !== "definition") return wording === "change" ? `${aspect} ${before} \u2192 ${after}` : `${aspect} is ${after}, migrations have ${before}`;
      const [a, b] = describeTextChange(before, after);
      return wording === "change" ? `definition changed: "${a}" \u2192 "${b}"` : `its definition was changed: "${b}", migrations have "${a}"`;
    })
    .join("; ");
  if (wording === "change") return difference.change === "changed" ? `${subject} changed: ${details}` : `${subject} ${difference.change}`;
  return { added: `${subject} added outside migrations`, removed: `${subject} missing`, changed: `${subject} differs from the migrations: ${details}` }[difference.change];
}

/** One drift sentence per difference. */
export const describeDrift = (differences: readonly SchemaDifference[]): string[] => differences.map((difference) => describeSchemaDifference(difference, "drift"));

/** Where two normalised statements differ, three tokens either side: `… integer primary key autoincrement , a …`. */
function describeTextChange(before: string | null, after: string | null): [string, string] {
  const [a, b] = [before, after].map((text) => (text ?? "").split(" ")) as [string[], string[]];
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  const excerpt = (tokens: string[]) => {
    const [from, to] = [Math.max(0, start - 3), Math.min(tokens.length, tokens.length - end + 3)];
    return `${from > 0 ? "\u2026 " : ""}${tokens.slice(from, to).join(" ")}${to < tokens.length ? " \u2026" : ""}`;
  };
  return [excerpt(a), excerpt(b)];
}

type Token = { readonly text: string; readonly kind: "word" | "string" | "punct"; readonly quoted: boolean };

/** SQLite's keywords, plus the bare words whose case it ignores although they are not keywords. */
const CASE_FREE_WORDS = new Set(
  (
    "abort action add after all alter always analyze and as asc attach autoincrement before begin between by cascade case cast check collate column commit conflict constraint create " +
    "cross current current_date current_time current_timestamp database default deferrable deferred delete desc detach distinct do drop each else end escape except exclude exclusive " +
    "exists explain fail filter first following for foreign from full generated glob group groups having if ignore immediate in index indexed initially inner insert instead intersect " +
    "into is isnull join key last left like limit match materialized natural no not nothing notnull null nulls of offset on or order others outer over partition plan pragma preceding " +
    "primary query raise range recursive references regexp reindex release rename replace restrict returning right rollback row rows savepoint select set table temp temporary then ties " +
    "to transaction trigger unbounded union unique update using vacuum values view virtual when where window with without true false rowid strict stored"
  ).split(" "),
);

const OPERATOR = /^[<>=!|]+$/;

/** SQLite's tokens as compared: names unquoted, a blob's hex digits lower-cased, operators such as `<=` whole. */
function tokenize(sql: string, foldBareNames = false): Token[] {
  const tokens: Token[] = [];
  let end = -1;
  for (const { kind, text, offset, unterminated } of significantTokens(tokenizeSqliteSql(sql))) {
    const last = tokens.at(-1);
    const adjacent = end === offset;
    end = offset + text.length;
    if (kind === "string" && adjacent && last?.kind === "word" && !last.quoted && /^x$/i.test(last.text)) tokens[tokens.length - 1] = { text: `x${text.toLowerCase()}`, kind: "string", quoted: true };
    else if (kind === "string") tokens.push({ text, kind, quoted: true });
    else if (kind === "quoted-identifier") {
      const close = text[0] === "[" ? "]" : text[0]!;
      const name = text.slice(1, unterminated ? undefined : -1);
      tokens.push({ text: close === "]" ? name : name.replaceAll(close + close, close), kind: "word", quoted: true });
    } else if (kind === "word") tokens.push({ text, kind, quoted: false });
    else if (adjacent && last?.kind === "punct" && OPERATOR.test(last.text) && OPERATOR.test(text)) tokens[tokens.length - 1] = { ...last, text: last.text + text };
    else tokens.push({ text, kind: "punct", quoted: false });
  }
  return foldCase(tokens, foldBareNames);
}

/**
 * Lower-cases only the words whose case SQLite ignores wherever they stand: keywords, a name before `(` or `.`, a collation, the type in `CAST(… AS type)`, and with `foldBareNames` (indexes and
 * triggers) every bare word. Elsewhere case can change behaviour (`DEFAULT Active` is a string), so it is kept.
 */
function foldCase(tokens: Token[], foldBareNames: boolean): Token[] {
  const lower = (token: Token): Token => ({ ...token, text: token.text.toLowerCase() });
  const folded = tokens.map((token, index) => {
    if (token.kind !== "word") return token;
    if (!token.quoted && (foldBareNames || CASE_FREE_WORDS.has(token.text.toLowerCase()))) return lower(token);
    const next = tokens[index + 1]?.text;
    return next === "(" || next === "." || tokens[index - 1]?.text.toLowerCase() === "collate" ? lower(token) : token;
  });
  for (let i = 0; i + 1 < folded.length; i++) {
    if (folded[i]!.text !== "cast" || folded[i + 1]!.text !== "(") continue;
    let inType = false;
    forEachAtDepth(folded, i + 1, (token, j, depth) => {
      if (depth === 1 && token.text === "as") inType = true;
      else if (inType && depth === 1 && token.kind === "word") folded[j] = lower(token);
    });
  }
  return folded;
}

/** Calls `visit` with each token inside the parenthesis that opens at `open`, and its depth there (1 directly inside); returns the index of the closing one. */
function forEachAtDepth(tokens: readonly Token[], open: number, visit: (token: Token, index: number, depth: number) => void = () => undefined): number {
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    const text = tokens[j]!.text;
    if (text === "(" && ++depth === 1) continue;
    if (text === ")" && --depth === 0) return j;
    visit(tokens[j]!, j, depth);
  }
  return tokens.length;
}

const join = (tokens: readonly Token[]) => tokens.map((token) => token.text).join(" ");

/** SQL for comparison: no comments, trailing `;` or `IF NOT EXISTS`, case folded (see foldCase), names unquoted, one space between tokens. */
function normalizeSql(sql: string, foldBareNames = false): string {
  return normalizeTokens(tokenize(sql, foldBareNames));
}

function normalizeTokens(tokens: Token[]): string {
  while (tokens.at(-1)?.text === ";") tokens.pop();
  const at = tokens.findIndex((token, i) => i < 5 && token.text === "if" && tokens[i + 1]?.text === "not" && tokens[i + 2]?.text === "exists");
  if (at !== -1) tokens.splice(at, 3);
  return join(tokens);
}

/** A declared type as SQLite reads it: upper-cased words, no space around punctuation (`DECIMAL(10,2)`). */
function normalizeColumnType(type: string): string {
  return tokenize(type)
    .map((token, i, all) => (token.kind === "word" ? `${all[i - 1]?.kind === "word" ? " " : ""}${token.text.toUpperCase()}` : token.text))
    .join("");
}

const TABLE_CONSTRAINT_STARTS = new Set(["constraint", "primary", "unique", "check", "foreign"]);

/** A `CREATE TABLE` read for comparison: its normalised text (declared types folded too), each column's collation and CHECKs, and the table's CHECKs. */
function parseCreateTable(sql: string) {
  const tokens = tokenize(sql);
  const columns = new Map<string, { collation: string | null; checks: string[] }>();
  const tableChecks: string[] = [];
  const open = tokens.findIndex((token) => token.text === "(");
  const part: number[] = [];
  const end =
    open === -1
      ? tokens.length
      : forEachAtDepth(tokens, open, (token, index, depth) => {
          if (depth > 1 || token.text !== ",") part.push(index);
          else readDefinition(tokens, part.splice(0), columns, tableChecks);
        });
  readDefinition(tokens, part, columns, tableChecks);
  return { columns, tableChecks, withoutRowid: open !== -1 && /\bwithout rowid\b/.test(join(tokens.slice(end + 1))), sql: normalizeTokens(tokens) };
}

/** Reads one definition of a `CREATE TABLE` (the tokens at `indexes`): a table constraint's CHECKs, or a column's collation and CHECKs, its declared type folded in `tokens`. */
function readDefinition(tokens: Token[], indexes: readonly number[], columns: Map<string, { collation: string | null; checks: string[] }>, tableChecks: string[]): void {
  const items = indexes.map((at) => tokens[at]!);
  if (items.length === 0) return;
  const checks = items.flatMap((token, i) => (token.text === "check" && items[i + 1]?.text === "(" ? [join(items.slice(i + 2, forEachAtDepth(items, i + 1)))] : []));
  if (items[0]!.kind === "word" && !items[0]!.quoted && TABLE_CONSTRAINT_STARTS.has(items[0]!.text)) return void tableChecks.push(...checks);
  const collateAt = items.findIndex((token) => token.text === "collate");
  columns.set(items[0]!.text.toLowerCase(), { collation: collateAt === -1 ? null : (items[collateAt + 1]?.text.toUpperCase() ?? null), checks });
  // The declared type: the words after the name, up to the first keyword at the definition's own depth.
  let depth = 0;
  for (let k = 1; k < items.length; k++) {
    const token = items[k]!;
    if (token.text === "(" || token.text === ")") depth += token.text === "(" ? 1 : -1;
    else if (token.kind === "word") {
      if (depth === 0 && !token.quoted && CASE_FREE_WORDS.has(token.text)) break;
      tokens[indexes[k]!] = { ...token, text: token.text.toLowerCase() };
    }
  }
}

/**
 * Reads a database's schema into plain data and compares two such snapshots. Rehearsals (what a run
 * would change), baselines (does a legacy database match the migrations) and verification (was the
 * schema changed by hand) all go through these two functions, so they agree on what "the same schema"
 * means.
 *
 * Columns come from `PRAGMA table_xinfo` and foreign keys from `PRAGMA foreign_key_list`, which give
 * readable, per-column differences. The pragmas do not show everything that changes behaviour
 * (AUTOINCREMENT, primary key order, ON CONFLICT, DEFERRABLE, generated column expressions...), so
 * every table is also compared by its whole `CREATE TABLE` text, tokenised: comments, whitespace,
 * keyword case and identifier quoting are ignored, anything else counts. `ALTER TABLE ADD COLUMN`
 * inserts the column after the last column definition and `RENAME` quotes names, so a replay of the
 * same migrations writes the same text, and a table written in one statement reads the same too.
 * Indexes, triggers and views are compared by their SQL, normalised the same way.
 */
import { readSchemaObjects, type SchemaObject } from "../core/schema-objects.js";
import { query, queryValue, type Step } from "../core/step.js";
import type { SchemaObjectType, SchemaAspectChange, SchemaDifference } from "../core/schema-difference.js";

/** One column, as it behaves rather than as it was spelled. */
export interface ColumnSnapshot {
  readonly name: string;
  /** The declared type, upper-cased, spaced as `normalizeColumnType` does; `""` when none was declared. */
  readonly type: string;
  readonly notNull: boolean;
  /** The default expression as SQLite stores it, normalised; `null` when there is none. */
  readonly defaultValue: string | null;
  /** 1-based position in the primary key, 0 when not part of it. */
  readonly primaryKeyPosition: number;
  /** The COLLATE clause, upper-cased; `null` for the default (BINARY). */
  readonly collation: string | null;
  /** CHECK expressions written on the column, normalised. */
  readonly checks: readonly string[];
  /** `"virtual"` or `"stored"` for a generated column. */
  readonly generated: "virtual" | "stored" | null;
}

/** A foreign key of a table. */
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
  /** Column lists of UNIQUE constraints (not CREATE UNIQUE INDEX, which is an index). */
  readonly uniqueConstraints: readonly (readonly string[])[];
  /** Table-level CHECK expressions, normalised. */
  readonly checks: readonly string[];
  /**
   * The whole `CREATE TABLE` statement, normalised (see `normalizeSql`), so that a difference
   * the fields above do not capture still counts.
   */
  readonly sql: string;
}

/** An index, trigger or view: compared by its normalised SQL. */
export interface SqlObjectSnapshot {
  readonly name: string;
  /** The table it belongs to (for a view, itself). */
  readonly table: string;
  /** The `CREATE ...` text, normalised: no comments, one space between tokens, identifiers unquoted. */
  readonly sql: string;
}

/** Everything stepwise compares about a schema, as plain data sorted by name. */
export interface SchemaSnapshot {
  readonly tables: readonly TableSnapshot[];
  readonly indexes: readonly SqlObjectSnapshot[];
  readonly triggers: readonly SqlObjectSnapshot[];
  readonly views: readonly SqlObjectSnapshot[];
  /** PostgreSQL's sequences (definition and owning column, never their current value); absent on SQLite. */
  readonly sequences?: readonly SqlObjectSnapshot[];
  /** PostgreSQL's functions and procedures, named with their argument types; absent on SQLite. */
  readonly functions?: readonly SqlObjectSnapshot[];
  /** PostgreSQL's enum and domain types; absent on SQLite. */
  readonly types?: readonly SqlObjectSnapshot[];
}

/** Options for {@link readSchemaSnapshot}. */
export interface ReadSchemaOptions {
  /** Tables to leave out (only the tables: their indexes and triggers are still read): the history table, typically. */
  readonly excludeTables?: readonly string[];
}

/** Double-quotes an identifier, doubling any quote inside it. */
export const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * {@link readSchemaSnapshot} as an executor step, so a safety net can read the schema inside its own
 * read transaction, or on a copy's driver (`runSync(readSchema(), copy)`).
 */
export function* readSchema(options: ReadSchemaOptions = {}): Step<SchemaSnapshot> {
  const kept = (yield* readSchemaObjects({ excludeTables: options.excludeTables })).filter((row): row is SchemaObject & { sql: string } => row.sql !== null);
  const tableFlags = new Map((yield* query<{ schema: string; name: string; wr: number; strict: number }>("PRAGMA table_list")).filter((row) => row.schema === "main").map((row) => [row.name, row]));
  const sqlObjects = (type: string): SqlObjectSnapshot[] =>
    kept.filter((row) => row.type === type).map((row) => ({ name: row.name, table: row.tblName, sql: normalizeSql(row.sql, { foldBareNames: type === "index" || type === "trigger" }) }));
  const tables: TableSnapshot[] = [];
  for (const row of kept) {
    if (row.type === "table") tables.push(yield* readTable(row.name, row.sql, tableFlags.get(row.name)));
  }
  return { tables, indexes: sqlObjects("index"), triggers: sqlObjects("trigger"), views: sqlObjects("view") };
}

function* readTable(name: string, sql: string, flags: { wr: number; strict: number } | undefined): Step<TableSnapshot> {
  const parsed = parseCreateTable(sql);
  const info = yield* query<{
    name: string;
    type: string;
    notnull: number;
    dflt_value: string | null;
    pk: number;
    hidden: number;
  }>(`PRAGMA table_xinfo(${quoteIdentifier(name)})`);
  const columns = info
    .filter((column) => column.hidden !== 1)
    .map((column): ColumnSnapshot => {
      const definition = parsed.columns.get(column.name.toLowerCase());
      return {
        name: column.name,
        type: normalizeColumnType(column.type),
        notNull: column.notnull === 1,
        defaultValue: column.dflt_value === null ? null : normalizeSql(column.dflt_value),
        primaryKeyPosition: column.pk,
        collation: definition?.collation ?? null,
        checks: definition?.checks ?? [],
        generated: column.hidden === 2 ? "virtual" : column.hidden === 3 ? "stored" : null,
      };
    });
  const keys = yield* query<{
    id: number;
    seq: number;
    table: string;
    from: string;
    to: string | null;
    on_update: string;
    on_delete: string;
  }>(`PRAGMA foreign_key_list(${quoteIdentifier(name)})`);
  const byId = new Map<number, { columns: string[]; referencedTable: string; referencedColumns: string[]; onUpdate: string; onDelete: string }>();
  for (const key of [...keys].sort((a, b) => a.id - b.id || a.seq - b.seq)) {
    let entry = byId.get(key.id);
    if (!entry) {
      entry = { columns: [], referencedTable: key.table, referencedColumns: [], onUpdate: key.on_update, onDelete: key.on_delete };
      byId.set(key.id, entry);
    }
    entry.columns.push(key.from);
    entry.referencedColumns.push(key.to ?? "");
  }
  const foreignKeys = [...byId.values()].sort((a, b) => renderForeignKey(a).localeCompare(renderForeignKey(b)));
  const uniqueConstraints: string[][] = [];
  for (const index of yield* query<{ name: string; origin: string }>(`PRAGMA index_list(${quoteIdentifier(name)})`)) {
    if (index.origin !== "u") continue;
    const indexColumns = yield* query<{ seqno: number; name: string | null }>(`PRAGMA index_info(${quoteIdentifier(index.name)})`);
    uniqueConstraints.push([...indexColumns].sort((a, b) => a.seqno - b.seqno).map((column) => column.name ?? "<expression>"));
  }
  uniqueConstraints.sort((a, b) => a.join(",").localeCompare(b.join(",")));
  return {
    name,
    columns,
    withoutRowid: flags ? flags.wr === 1 : parsed.withoutRowid,
    strict: flags ? flags.strict === 1 : false,
    foreignKeys,
    uniqueConstraints,
    checks: [...parsed.tableChecks].sort(),
    sql: normalizeCreateTable(sql),
  };
}

/**
 * Rows per table, for the tables of a snapshot, as an executor step. Never writes. With `schema`
 * (PostgreSQL), each table is qualified and counted by `pg_catalog.count`, so the app's `search_path`
 * redirects neither.
 */
export function* countRows(snapshot: SchemaSnapshot, schema?: string): Step<Record<string, number>> {
  const counts: Record<string, number> = {};
  const from = schema === undefined ? "count(*) AS n FROM " : `pg_catalog.count(*) AS n FROM ${quoteIdentifier(schema)}.`;
  for (const table of snapshot.tables) {
    counts[table.name] = Number(yield* queryValue(`SELECT ${from}${quoteIdentifier(table.name)}`));
  }
  return counts;
}

/** Lists what differs between two snapshots, tables first, then indexes, triggers and views. */
export function diffSchemas(before: SchemaSnapshot, after: SchemaSnapshot): SchemaDifference[] {
  const differences: SchemaDifference[] = [];
  const pair = <T extends { name: string }>(a: readonly T[], b: readonly T[], visit: (name: string, x: T | undefined, y: T | undefined) => void) => {
    const left = new Map(a.map((item) => [item.name.toLowerCase(), item]));
    const right = new Map(b.map((item) => [item.name.toLowerCase(), item]));
    for (const key of [...new Set([...left.keys(), ...right.keys()])].sort()) {
      const x = left.get(key);
      const y = right.get(key);
      visit((y ?? x)!.name, x, y);
    }
  };

  pair(before.tables, after.tables, (name, x, y) => {
    if (!x) differences.push({ objectType: "table", name, table: name, change: "added", details: [] });
    else if (!y) differences.push({ objectType: "table", name, table: name, change: "removed", details: [] });
    else differences.push(...diffTable(x, y));
  });
  const sqlObjects = (objectType: Exclude<SchemaObjectType, "table" | "column">, a: readonly SqlObjectSnapshot[], b: readonly SqlObjectSnapshot[]) =>
    pair(a, b, (name, x, y) => {
      const table = (y ?? x)!.table;
      if (!x) differences.push({ objectType, name, table, change: "added", details: [] });
      else if (!y) differences.push({ objectType, name, table, change: "removed", details: [] });
      else if (x.sql !== y.sql) {
        differences.push({ objectType, name, table, change: "changed", details: [{ aspect: "definition", before: x.sql, after: y.sql }] });
      }
    });
  sqlObjects("index", before.indexes, after.indexes);
  sqlObjects("trigger", before.triggers, after.triggers);
  sqlObjects("view", before.views, after.views);
  sqlObjects("sequence", before.sequences ?? [], after.sequences ?? []);
  sqlObjects("function", before.functions ?? [], after.functions ?? []);
  sqlObjects("type", before.types ?? [], after.types ?? []);
  return differences;
}

function diffTable(before: TableSnapshot, after: TableSnapshot): SchemaDifference[] {
  const differences: SchemaDifference[] = [];
  const table = after.name;
  const beforeColumns = new Map(before.columns.map((column) => [column.name.toLowerCase(), column]));
  const afterColumns = new Map(after.columns.map((column) => [column.name.toLowerCase(), column]));
  for (const column of before.columns) {
    if (!afterColumns.has(column.name.toLowerCase())) {
      differences.push({ objectType: "column", name: `${table}.${column.name}`, table, change: "removed", details: [] });
    }
  }
  for (const column of after.columns) {
    const old = beforeColumns.get(column.name.toLowerCase());
    if (!old) {
      differences.push({ objectType: "column", name: `${table}.${column.name}`, table, change: "added", details: [] });
      continue;
    }
    const details = compareAspects([
      ["type", old.type || "(none)", column.type || "(none)"],
      ["not null", String(old.notNull), String(column.notNull)],
      ["default", old.defaultValue ?? "(none)", column.defaultValue ?? "(none)"],
      ["primary key position", String(old.primaryKeyPosition), String(column.primaryKeyPosition)],
      ["collation", old.collation ?? "BINARY", column.collation ?? "BINARY"],
      ["check", old.checks.join(" AND ") || "(none)", column.checks.join(" AND ") || "(none)"],
      ["generated", old.generated ?? "no", column.generated ?? "no"],
    ]);
    if (details.length > 0) differences.push({ objectType: "column", name: `${table}.${column.name}`, table, change: "changed", details });
  }
  const shared = (columns: readonly ColumnSnapshot[], other: Map<string, ColumnSnapshot>) =>
    columns
      .filter((column) => other.has(column.name.toLowerCase()))
      .map((column) => column.name)
      .join(", ");
  const tableDetails = compareAspects([
    ["column order", shared(before.columns, afterColumns), shared(after.columns, beforeColumns)],
    ["without rowid", String(before.withoutRowid), String(after.withoutRowid)],
    ["strict", String(before.strict), String(after.strict)],
    ["foreign keys", before.foreignKeys.map(renderForeignKey).join("; ") || "(none)", after.foreignKeys.map(renderForeignKey).join("; ") || "(none)"],
    ["unique constraints", before.uniqueConstraints.map((c) => `(${c.join(", ")})`).join(", ") || "(none)", after.uniqueConstraints.map((c) => `(${c.join(", ")})`).join(", ") || "(none)"],
    ["check constraints", before.checks.join("; ") || "(none)", after.checks.join("; ") || "(none)"],
  ]);
  if (tableDetails.length > 0) differences.unshift({ objectType: "table", name: table, table, change: "changed", details: tableDetails });
  // The text catches what the pragmas cannot show; reported only when nothing above explains it, so a
  // column added by a migration does not also read as a rewritten table.
  if (differences.length === 0 && before.sql !== after.sql) {
    differences.push({ objectType: "table", name: table, table, change: "changed", details: [{ aspect: "definition", before: before.sql, after: after.sql }] });
  }
  return differences;
}

function compareAspects(aspects: ReadonlyArray<readonly [string, string, string]>): SchemaAspectChange[] {
  return aspects.filter(([, before, after]) => before !== after).map(([aspect, before, after]) => ({ aspect, before, after }));
}

function renderForeignKey(key: { columns: readonly string[]; referencedTable: string; referencedColumns: readonly string[]; onUpdate: string; onDelete: string }): string {
  return (
    `(${key.columns.join(", ")}) \u2192 ${key.referencedTable}(${key.referencedColumns.join(", ")})` +
    (key.onDelete !== "NO ACTION" ? ` ON DELETE ${key.onDelete}` : "") +
    (key.onUpdate !== "NO ACTION" ? ` ON UPDATE ${key.onUpdate}` : "")
  );
}

/**
 * How a difference reads. `change` words a rehearsal's before -> after ("column contacts.status
 * added"); `drift` words the live schema against the migrations ("index idx_x missing", "column
 * contacts.nick added outside migrations"), where `before` is the migrations' schema.
 */
export function describeSchemaDifference(difference: SchemaDifference, wording: "change" | "drift"): string {
  const subject = `${difference.objectType} ${difference.name}`;
  // A whole statement does not fit in a sentence; the SQL stays in `details` for --json.
  const isDefinition = (d: SchemaAspectChange) => d.aspect === "definition";
  const detail = difference.details.map((d) => (isDefinition(d) ? `definition changed: ${describeTextChange(d.before, d.after, "\u2192")}` : `${d.aspect} ${d.before} \u2192 ${d.after}`)).join("; ");
  if (wording === "change") {
    return difference.change === "changed" ? `${subject} changed: ${detail}` : `${subject} ${difference.change}`;
  }
  switch (difference.change) {
    case "added":
      return `${subject} added outside migrations`;
    case "removed":
      return `${subject} missing`;
    case "changed":
      return `${subject} differs from the migrations: ${difference.details
        .map((d) => (isDefinition(d) ? `its definition was changed: ${describeTextChange(d.before, d.after, "migrations have")}` : `${d.aspect} is ${d.after}, migrations have ${d.before}`))
        .join("; ")}`;
  }
}

const CONTEXT_TOKENS = 3;

/**
 * Where two normalised statements differ, in a few tokens either side, so a line says which clause
 * changed rather than that something did: `... integer primary key autoincrement , a ...`.
 */
function describeTextChange(before: string | null, after: string | null, joiner: "\u2192" | "migrations have"): string {
  const a = (before ?? "").split(" ");
  const b = (after ?? "").split(" ");
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  const excerpt = (tokens: string[]) => {
    const from = Math.max(0, start - CONTEXT_TOKENS);
    const to = Math.min(tokens.length, tokens.length - end + CONTEXT_TOKENS);
    return `${from > 0 ? "\u2026 " : ""}${tokens.slice(from, to).join(" ")}${to < tokens.length ? " \u2026" : ""}`;
  };
  return joiner === "\u2192" ? `"${excerpt(a)}" \u2192 "${excerpt(b)}"` : `"${excerpt(b)}", migrations have "${excerpt(a)}"`;
}

// ---------------------------------------------------------------------------------------------
// SQL text normalisation: just enough tokenising to compare statements and split a CREATE TABLE.

type Token = { readonly text: string; readonly kind: "word" | "string" | "punct"; readonly quoted: boolean };

/**
 * SQLite's keywords, plus the few bare words whose case SQLite ignores although they are not
 * keywords (`TRUE`, `FALSE`, `ROWID`, `STRICT`, `STORED`): their case is formatting.
 */
const CASE_FREE_WORDS = new Set(
  (
    "abort action add after all alter always analyze and as asc attach autoincrement before begin between by cascade case cast " +
    "check collate column commit conflict constraint create cross current current_date current_time current_timestamp database " +
    "default deferrable deferred delete desc detach distinct do drop each else end escape except exclude exclusive exists explain " +
    "fail filter first following for foreign from full generated glob group groups having if ignore immediate in index indexed " +
    "initially inner insert instead intersect into is isnull join key last left like limit match materialized natural no not " +
    "nothing notnull null nulls of offset on or order others outer over partition plan pragma preceding primary query raise range " +
    "recursive references regexp reindex release rename replace restrict returning right rollback row rows savepoint select set " +
    "table temp temporary then ties to transaction trigger unbounded union unique update using vacuum values view virtual when " +
    "where window with without true false rowid strict stored"
  ).split(" "),
);

function tokenize(sql: string, foldBareNames = false): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const char = sql[i]!;
    if (/\s/.test(char)) {
      i++;
    } else if (char === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (char === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (char === "'" || ((char === "x" || char === "X") && sql[i + 1] === "'")) {
      const open = char === "'" ? i : i + 1;
      let j = open + 1;
      while (j < sql.length && !(sql[j] === "'" && sql[j + 1] !== "'")) j += sql[j] === "'" ? 2 : 1;
      // A blob literal's hex digits are a value, the same in either case; a string's letters are not.
      const text = sql.slice(i, j + 1);
      tokens.push({ text: char === "'" ? text : text.toLowerCase(), kind: "string", quoted: true });
      i = j + 1;
    } else if (char === '"' || char === "`" || char === "[") {
      const close = char === "[" ? "]" : char;
      let j = i + 1;
      let text = "";
      while (j < sql.length) {
        if (sql[j] === close) {
          if (close !== "]" && sql[j + 1] === close) {
            text += close;
            j += 2;
            continue;
          }
          break;
        }
        text += sql[j];
        j++;
      }
      // Quoting style does not change what a name means, so quoted and bare names compare equal; their
      // case is kept (see foldCase).
      tokens.push({ text, kind: "word", quoted: true });
      i = j + 1;
    } else if (/[A-Za-z0-9_$]/.test(char)) {
      let j = i;
      // A dot is its own token, so `"t"."c"` and `t.c` read the same.
      while (j < sql.length && /[A-Za-z0-9_$]/.test(sql[j]!)) j++;
      tokens.push({ text: sql.slice(i, j), kind: "word", quoted: false });
      i = j;
    } else {
      let j = i + 1;
      if ("<>=!|".includes(char)) while (j < sql.length && "<>=!|".includes(sql[j]!)) j++;
      tokens.push({ text: sql.slice(i, j), kind: "punct", quoted: false });
      i = j;
    }
  }
  return foldCase(tokens, foldBareNames);
}

/**
 * Lower-cases only the words whose case SQLite ignores everywhere they can stand: keywords, the name
 * before `(` (a function, type, table or CTE) or before `.` (a qualifier such as `NEW.id`), a
 * collation name, and the type in `CAST(... AS type)`.
 * Every other word keeps its case, because case there can change behaviour: a view's column is named
 * after its alias or expression as written (`AS Status`), and a word SQLite cannot resolve as a name
 * is a string (`DEFAULT Active`, `DEFAULT "Hello"`). A name that differs only in case is therefore
 * reported; that errs towards drift, never away from it.
 */
function foldCase(tokens: Token[], foldBareNames: boolean): Token[] {
  const lower = (token: Token): Token => ({ ...token, text: token.text.toLowerCase() });
  const folded = tokens.map((token, index) => {
    if (token.kind !== "word") return token;
    if (!token.quoted && (foldBareNames || CASE_FREE_WORDS.has(token.text.toLowerCase()))) return lower(token);
    // A name before "(" is a function, type, table or CTE; before "." a table, alias or schema (NEW.id).
    if (tokens[index + 1]?.text === "(" || tokens[index + 1]?.text === ".") return lower(token);
    if (tokens[index - 1]?.text.toLowerCase() === "collate") return lower(token);
    return token;
  });
  // CAST(expr AS type): the words after the AS at the CAST's own depth are a type name.
  for (let i = 0; i + 1 < folded.length; i++) {
    if (folded[i]!.text !== "cast" || folded[i + 1]!.text !== "(") continue;
    let depth = 0;
    let inType = false;
    for (let j = i + 1; j < folded.length; j++) {
      const text = folded[j]!.text;
      if (text === "(") depth++;
      else if (text === ")" && --depth === 0) break;
      else if (depth === 1 && text === "as") inType = true;
      else if (inType && depth === 1 && folded[j]!.kind === "word") folded[j] = lower(folded[j]!);
    }
  }
  return folded;
}

const join = (tokens: readonly Token[]) => tokens.map((token) => token.text).join(" ");

/** Options for `normalizeSql`. */
export interface NormalizeSqlOptions {
  /**
   * Also fold the case of every bare (unquoted) word. Right for indexes and triggers, where a bare
   * word can only name a table, column or function (case-insensitive in SQLite) and only a quoted
   * one can fall back to a string; wrong for views (column names follow the text) and tables
   * (column names, `DEFAULT Active`). Default `false`.
   */
  readonly foldBareNames?: boolean;
}

/**
 * Normalises SQL for comparison: drops comments, a trailing `;` and `IF NOT EXISTS`, lower-cases
 * keywords and other words whose case SQLite ignores (see foldCase), unquotes identifiers, and puts
 * one space between tokens. String literals, aliases and other names keep their case.
 */
export function normalizeSql(sql: string, options: NormalizeSqlOptions = {}): string {
  return normalizeTokens(tokenize(sql, options.foldBareNames ?? false));
}

function normalizeTokens(tokens: Token[]): string {
  while (tokens.length > 0 && tokens[tokens.length - 1]!.text === ";") tokens.pop();
  for (let i = 0; i + 2 < tokens.length; i++) {
    if (tokens[i]!.text === "if" && tokens[i + 1]!.text === "not" && tokens[i + 2]!.text === "exists" && i < 5) {
      tokens.splice(i, 3);
      break;
    }
  }
  return join(tokens);
}

/**
 * A declared column type as SQLite reads it: upper-cased, comments dropped, one space between words
 * and none around punctuation, so `DECIMAL(10, 2)`, `decimal (10,2)` and `DOUBLE   PRECISION` compare
 * by what they declare. SQLite derives the affinity from the words alone.
 */
export function normalizeColumnType(type: string): string {
  let text = "";
  let previous: Token | null = null;
  for (const token of tokenize(type)) {
    if (previous?.kind === "word" && token.kind === "word") text += " ";
    text += token.kind === "word" ? token.text.toUpperCase() : token.text;
    previous = token;
  }
  return text;
}

/**
 * A `CREATE TABLE` statement normalised like `normalizeSql`, with each column's declared type
 * also folded to lower case: `name TEXT` and `name text` declare the same column.
 */
function normalizeCreateTable(sql: string): string {
  const tokens = tokenize(sql);
  const open = tokens.findIndex((token) => token.text === "(");
  if (open !== -1) {
    let depth = 0;
    let atColumnStart = true;
    let inType = false;
    for (let i = open + 1; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token.text === "(") depth++;
      else if (token.text === ")" && depth-- === 0) break;
      if (depth === 0 && token.text === ",") {
        atColumnStart = true;
        inType = false;
        continue;
      }
      if (depth === 0 && atColumnStart) {
        atColumnStart = false;
        inType = !(token.kind === "word" && !token.quoted && TABLE_CONSTRAINT_STARTS.has(token.text));
        continue;
      }
      if (inType && depth === 0 && token.kind === "word" && !token.quoted && CASE_FREE_WORDS.has(token.text)) inType = false;
      if (inType && token.kind === "word") tokens[i] = { ...token, text: token.text.toLowerCase() };
    }
  }
  return normalizeTokens(tokens);
}

interface ParsedTable {
  readonly columns: Map<string, { collation: string | null; checks: string[] }>;
  readonly tableChecks: string[];
  readonly withoutRowid: boolean;
}

const TABLE_CONSTRAINT_STARTS = new Set(["constraint", "primary", "unique", "check", "foreign"]);

/** Splits a CREATE TABLE into column definitions and table constraints; tolerant of what it skips. */
function parseCreateTable(sql: string): ParsedTable {
  const tokens = tokenize(sql);
  const open = tokens.findIndex((token) => token.text === "(");
  const columns = new Map<string, { collation: string | null; checks: string[] }>();
  const tableChecks: string[] = [];
  if (open === -1) return { columns, tableChecks, withoutRowid: false };
  const parts: Token[][] = [[]];
  let depth = 0;
  let end = tokens.length;
  for (let i = open + 1; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.text === "(") depth++;
    if (token.text === ")") {
      if (depth === 0) {
        end = i;
        break;
      }
      depth--;
    }
    if (token.text === "," && depth === 0) parts.push([]);
    else parts[parts.length - 1]!.push(token);
  }
  const trailer = join(tokens.slice(end + 1));
  for (const part of parts) {
    if (part.length === 0) continue;
    const checks = extractChecks(part);
    if (part[0]!.kind === "word" && !part[0]!.quoted && TABLE_CONSTRAINT_STARTS.has(part[0]!.text)) {
      tableChecks.push(...checks);
      continue;
    }
    const collateAt = part.findIndex((token) => token.text === "collate");
    columns.set(part[0]!.text.toLowerCase(), { collation: collateAt === -1 ? null : (part[collateAt + 1]?.text.toUpperCase() ?? null), checks });
  }
  return { columns, tableChecks, withoutRowid: /\bwithout rowid\b/.test(trailer) };
}

function extractChecks(part: readonly Token[]): string[] {
  const checks: string[] = [];
  for (let i = 0; i < part.length; i++) {
    if (part[i]!.text !== "check" || part[i + 1]?.text !== "(") continue;
    let depth = 0;
    let j = i + 1;
    for (; j < part.length; j++) {
      if (part[j]!.text === "(") depth++;
      if (part[j]!.text === ")" && --depth === 0) break;
    }
    checks.push(join(part.slice(i + 2, j)));
    i = j;
  }
  return checks;
}

export type { SchemaObjectType, SchemaAspectChange, SchemaDifference } from "../core/schema-difference.js";

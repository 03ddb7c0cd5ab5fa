/** SQLite's schema as the DDL that rebuilds it, and its rows as INSERTs, read from a database the squashed migrations were replayed on. */
import { quoteIdentifier } from "../../src/core/batch-walk.js";
import { query, type Step } from "../../src/core/step.js";
import { tokenizeSql } from "../../src/shared/postgres-tokens.js";
import { orderViews, readSeeds, type DdlStatement, type SchemaDdl } from "./squash-ddl.js";

type MasterRow = { type: string; name: string; tblName: string; sql: string };

/** The order a fresh database needs: tables (a foreign key may name a table made later), then, after the rows, indexes, views, and triggers (which may be on a view, and fire on none of the rows). */
const KIND_ORDER = ["table", "index", "view", "trigger"];

/**
 * Every object of `main` but SQLite's own, stepwise's (`exclude`) and a virtual table's shadow tables (its `CREATE VIRTUAL TABLE` makes them), each as the `CREATE` statement SQLite stored, in
 * creation order within its kind; and each table's rows.
 */
export function* readSqliteDdl(exclude: readonly string[]): Step<SchemaDdl> {
  const excluded = new Set(exclude.map((name) => name.toLowerCase()));
  const list = (yield* query<{ schema: string; name: string; type: string; wr: number }>("PRAGMA table_list")).filter((row) => row.schema === "main");
  const shadow = new Set(list.filter((row) => row.type === "shadow").map((row) => row.name.toLowerCase()));
  const withoutRowid = new Set(list.filter((row) => row.wr).map((row) => row.name.toLowerCase()));
  const rows = (yield* query<MasterRow>(
    `SELECT type, name, tbl_name AS tblName, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'stepwise\\_guard\\_%' ESCAPE '\\' ORDER BY rowid`,
  )).filter((row) => !excluded.has(row.tblName.toLowerCase()) && !shadow.has(row.name.toLowerCase()) && !shadow.has(row.tblName.toLowerCase()));
  const ordered = KIND_ORDER.flatMap((kind) => rows.filter((row) => row.type === kind));
  const tables = ordered.filter((row) => row.type === "table");
  const seeds = yield* readSeeds(tables, (table) => readInserts(table.name, carriesRowid(table, withoutRowid)));
  const statement = (row: MasterRow) => ({ kind: row.type, name: row.name, sql: endStatement(row.sql.trim()) });
  const of = (kind: string) => ordered.filter((row) => row.type === kind).map(statement);
  const made: DdlStatement[] = [];
  for (const table of of("table")) made.push(table, ...(yield* readFts5Settings(table)), ...(yield* readFts4Automerge(table)));
  return {
    statements: made,
    seeds,
    after: [...of("index"), ...orderViews(of("view"), "sqlite"), ...of("trigger"), ...(yield* readSequences(excluded)), ...(yield* readApplicationId())],
  };
}

/**
 * `sql` ended by a `;`: on a line of its own when the text SQLite stored ends in a line comment (`CREATE VIEW v AS SELECT … -- note`, its `;` written on the next line), which would
 * otherwise hold the `;` and run the next statement into this one.
 */
function endStatement(sql: string): string {
  return tokenizeSql(sql, "sqlite").at(-1)?.kind === "line-comment" ? `${sql}\n;` : `${sql};`;
}

/**
 * Whether the table's rows keep their rowid: an ordinary table's (one with no INTEGER PRIMARY KEY still has one, and apps read it; with one, SQLite takes the key's value), and a full-text
 * table's, which is how its rows name the rows they index. Another virtual table's module decides what a rowid means, so it is left to the module.
 */
function carriesRowid(table: MasterRow, withoutRowid: ReadonlySet<string>): boolean {
  if (withoutRowid.has(table.name.toLowerCase())) return false;
  return !/^\s*CREATE\s+VIRTUAL\b/i.test(table.sql) || /\bUSING\s+fts[345]\b/i.test(table.sql);
}

/**
 * A full-text table's settings (`rank`, `pgsz`, `automerge`, `secure-delete`...), which FTS5 keeps in its `_config` shadow table rather than in its `CREATE`: each as the command that set it,
 * right after the table and before its rows, whose layout some of them decide.
 */
function* readFts5Settings(table: DdlStatement): Step<DdlStatement[]> {
  if (!/^\s*CREATE\s+VIRTUAL\s+TABLE\b[\s\S]*?\bUSING\s+fts5\s*\(/i.test(table.sql)) return [];
  const name = quoteIdentifier(table.name);
  const settings = yield* query<{ k: string; v: string }>(`SELECT quote(k) AS k, quote(v) AS v FROM ${quoteIdentifier(`${table.name}_config`)} WHERE k <> 'version' ORDER BY k`);
  return settings.map(({ k, v }) => ({ kind: "setting", name: "", sql: `INSERT INTO ${name} (${name}, rank) VALUES (${k}, ${v});` }));
}

/** An FTS4 table's `automerge`, which it keeps in its `_stat` shadow table (row 2) rather than in its `CREATE`, as the command that set it. */
function* readFts4Automerge(table: DdlStatement): Step<DdlStatement[]> {
  if (!/^\s*CREATE\s+VIRTUAL\s+TABLE\b[\s\S]*?\bUSING\s+fts4\s*\(/i.test(table.sql)) return [];
  const stat = `${table.name}_stat`;
  // Made by the first setting or row that needs it: a table with neither has none.
  if ((yield* query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [stat])).length === 0) return [];
  const [row] = yield* query<{ n: number | null }>(`SELECT CAST(value AS INTEGER) AS n FROM ${quoteIdentifier(stat)} WHERE id = 2`);
  const name = quoteIdentifier(table.name);
  return row?.n ? [{ kind: "setting", name: "", sql: `INSERT INTO ${name} (${name}) VALUES ('automerge=${Number(row.n)}');` }] : [];
}

/** The file's `application_id`, which a migration may set to mark its format (stepwise keeps `user_version` itself). */
function* readApplicationId(): Step<DdlStatement[]> {
  const [row] = yield* query<{ id: number }>("SELECT application_id AS id FROM pragma_application_id");
  return row?.id ? [{ kind: "setting", name: "", sql: `PRAGMA application_id = ${Number(row.id)};` }] : [];
}

/** Where each AUTOINCREMENT counter stands, which rows deleted since left above the largest id: the next id a fresh database gives is the one the migrated one gives. */
function* readSequences(excluded: ReadonlySet<string>): Step<DdlStatement[]> {
  const exists = yield* query<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'sqlite_sequence'");
  if (!exists[0]?.n) return [];
  // As text: a counter past 2^53 would lose its last digits as a JavaScript number.
  const rows = (yield* query<{ name: string; seq: string }>(`SELECT name, CAST(seq AS TEXT) AS seq FROM sqlite_sequence ORDER BY name`)).filter((row) => !excluded.has(row.name.toLowerCase()));
  return rows.map((row) => ({
    kind: "autoincrement counter",
    name: "",
    sql: `DELETE FROM sqlite_sequence WHERE name = ${quoteText(row.name)}; INSERT INTO sqlite_sequence (name, seq) VALUES (${quoteText(row.name)}, ${/^-?\d+$/.test(row.seq) ? row.seq : 0});`,
  }));
}

const quoteText = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * The table's rows as INSERTs of its stored columns (and its rowid where it keeps one), each value as SQLite's `quote()` writes it, so blobs, reals and text come back exactly; text with a
 * carriage return or a control character other than tab and newline is written as its bytes instead, since `quote()` stops at a NUL and a migration's line ends are read as newlines.
 */
function* readInserts(table: string, rowid: boolean): Step<string[]> {
  const columns = (yield* query<{ name: string; hidden: number }>(`PRAGMA table_xinfo(${quoteIdentifier(table)})`)).filter((column) => column.hidden === 0).map((column) => column.name);
  if (columns.length === 0) return [];
  // A column may itself be named rowid: SQLite's other names for it then.
  const rowidName = rowid ? ["rowid", "_rowid_", "oid"].find((name) => !columns.some((column) => column.toLowerCase() === name)) : undefined;
  const names = rowidName ? [rowidName, ...columns] : columns;
  const values = names.map((column) => quoteValue(rowidName === column ? column : quoteIdentifier(column))).join(` || ', ' || `);
  const rows = yield* query<{ v: string }>(`SELECT ${values} AS v FROM ${quoteIdentifier(table)}${rowidName ? ` ORDER BY ${rowidName}` : ""}`);
  const into = `INSERT INTO ${quoteIdentifier(table)} (${names.map((name) => (name === rowidName ? name : quoteIdentifier(name))).join(", ")}) VALUES`;
  return rows.map((row) => `${into} (${row.v});`);
}

/**
 * SQL that writes `expression`'s value as a literal: text holding a byte below 0x20 other than tab and newline, or a line that starts with `-- stepwise:` (which gen would read as one of the
 * squash's own marks, a review note or a record line, inside the literal), as `CAST(X'...' AS TEXT)`; the rest as `quote()` writes it.
 */
function quoteValue(expression: string): string {
  const bytes = `CAST(${expression} AS BLOB)`;
  const mark = Buffer.from("\n-- stepwise:").toString("hex");
  const control = [
    ...Array.from({ length: 32 }, (_, code) => code)
      .filter((code) => code !== 9 && code !== 10)
      .map((code) => `instr(${bytes}, X'${code.toString(16).padStart(2, "0")}') > 0`),
    `instr(${bytes}, X'${mark}') > 0`,
  ].join(" OR ");
  return `CASE WHEN typeof(${expression}) = 'text' AND (${control}) THEN 'CAST(' || quote(${bytes}) || ' AS TEXT)' ELSE quote(${expression}) END`;
}

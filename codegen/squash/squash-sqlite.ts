/** SQLite's schema as the DDL that rebuilds it, and its rows as INSERTs, read from a database the squashed migrations were replayed on. */
import { quoteIdentifier } from "../../src/core/batch-walk.js";
import { query, type Step } from "../../src/core/step.js";
import { orderViews, type DdlStatement, type SchemaDdl } from "./squash-ddl.js";

type MasterRow = { type: string; name: string; tblName: string; sql: string };

/** The order a fresh database needs: tables (a foreign key may name a table made later), then, after the rows, indexes, views, and triggers (which may be on a view, and fire on none of the rows). */
const KIND_ORDER = ["table", "index", "view", "trigger"];

/**
 * Every object of `main` but SQLite's own, stepwise's (`exclude`) and a virtual table's shadow tables (its `CREATE VIRTUAL TABLE` makes them), each as the `CREATE` statement SQLite stored, in
 * creation order within its kind; and each table's rows.
 */
export function* readSqliteDdl(exclude: readonly string[]): Step<SchemaDdl> {
  const excluded = new Set(exclude.map((name) => name.toLowerCase()));
  const shadow = new Set(
    (yield* query<{ schema: string; name: string; type: string }>("PRAGMA table_list")).filter((row) => row.schema === "main" && row.type === "shadow").map((row) => row.name.toLowerCase()),
  );
  const rows = (yield* query<MasterRow>(
    `SELECT type, name, tbl_name AS tblName, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'stepwise\\_guard\\_%' ESCAPE '\\' ORDER BY rowid`,
  )).filter((row) => !excluded.has(row.tblName.toLowerCase()) && !shadow.has(row.name.toLowerCase()) && !shadow.has(row.tblName.toLowerCase()));
  const ordered = KIND_ORDER.flatMap((kind) => rows.filter((row) => row.type === kind));
  const tables = ordered.filter((row) => row.type === "table");
  const seeds: SchemaDdl["seeds"][number][] = [];
  for (const table of tables) {
    const inserts = yield* readInserts(table.name);
    if (inserts.length > 0) seeds.push({ table: table.name, statements: inserts });
  }
  const statement = (row: MasterRow) => ({ kind: row.type, name: row.name, sql: `${row.sql.trim()};` });
  const of = (kind: string) => ordered.filter((row) => row.type === kind).map(statement);
  return { statements: of("table"), seeds, after: [...of("index"), ...orderViews(of("view"), "sqlite"), ...of("trigger"), ...(yield* readSequences(excluded))] };
}

/** Where each AUTOINCREMENT counter stands, which rows deleted since left above the largest id: the next id a fresh database gives is the one the migrated one gives. */
function* readSequences(excluded: ReadonlySet<string>): Step<DdlStatement[]> {
  const exists = yield* query<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'sqlite_sequence'");
  if (!exists[0]?.n) return [];
  const rows = (yield* query<{ name: string; seq: number }>("SELECT name, seq FROM sqlite_sequence ORDER BY name")).filter((row) => !excluded.has(row.name.toLowerCase()));
  return rows.map((row) => ({
    kind: "autoincrement counter",
    name: "",
    sql: `DELETE FROM sqlite_sequence WHERE name = ${quoteText(row.name)}; INSERT INTO sqlite_sequence (name, seq) VALUES (${quoteText(row.name)}, ${Number(row.seq)});`,
  }));
}

const quoteText = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The table's rows as INSERTs of its stored columns, each value as SQLite's `quote()` writes it, so blobs, reals and text come back exactly. */
function* readInserts(table: string): Step<string[]> {
  const columns = (yield* query<{ name: string; hidden: number }>(`PRAGMA table_xinfo(${quoteIdentifier(table)})`)).filter((column) => column.hidden === 0).map((column) => column.name);
  if (columns.length === 0) return [];
  const values = columns.map((column) => `quote(${quoteIdentifier(column)})`).join(` || ', ' || `);
  const rows = yield* query<{ v: string }>(`SELECT ${values} AS v FROM ${quoteIdentifier(table)}`);
  const into = `INSERT INTO ${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(", ")}) VALUES`;
  return rows.map((row) => `${into} (${row.v});`);
}

/**
 * A fingerprint of the rows a database holds, table by table, which `stepwise squash` compares between the replay of the migrations it replaces and the squash it wrote, before it writes
 * anything: a value a literal cannot carry (a rowid, a NUL, a counter past 2^53) shows as `rows "<table>" differ` rather than as a fresh database with other rows.
 */
import { createHash } from "node:crypto";
import { quoteIdentifier } from "../../src/core/batch-walk.js";
import { CONCAT, EQ, TEXT } from "../../src/core/dialects/postgres.js";
import { exec, query, type Step } from "../../src/core/step.js";
import type { SqlDialect } from "../../src/core/types.js";
import type { ObjectPrint } from "./squash-record.js";

/** One print per table holding rows (kind `rows`), plus the file's settings squash carries; stepwise's own tables (`exclude`) are left out. */
export function* readRowPrints(dialect: SqlDialect, schema: string, exclude: readonly string[]): Step<ObjectPrint[]> {
  const excluded = new Set(exclude.map((name) => name.toLowerCase()));
  const texts = dialect === "postgres" ? yield* readPostgresRows(schema, excluded) : yield* readSqliteRows(excluded);
  return [...texts].filter(([, text]) => text !== "").map(([name, text]) => ({ kind: "rows", name, hash: createHash("sha256").update(text).digest("hex").slice(0, 12) }));
}

/**
 * Each table's rows with their rowid where it has one, as exact text (`hex()` for text, which `quote()` would cut at a NUL), and `sqlite_sequence`. Of a full-text table's shadow tables
 * only `_docsize` (the size of each row it indexed, which shows an index left empty, as a contentless table's would be), FTS5's `_config` (its settings) and FTS4's `automerge` in `_stat`: how it lays out its index
 * depends on how the rows came in; the index itself is read term by term with the table's rows.
 */
function* readSqliteRows(excluded: ReadonlySet<string>): Step<Map<string, string>> {
  const tables = (yield* query<{ name: string; type: string; wr: number }>("SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main'")).filter(
    (table) =>
      (table.type !== "shadow" || /_(docsize|config|stat)$/i.test(table.name)) &&
      table.type !== "view" &&
      !excluded.has(table.name.toLowerCase()) &&
      !/^sqlite_stat/i.test(table.name) &&
      !/^sqlite_(master|schema)$/i.test(table.name),
  );
  const found = new Map<string, string>();
  for (const table of tables) {
    const columns = (yield* query<{ name: string; hidden: number }>(`PRAGMA table_xinfo(${quoteIdentifier(table.name)})`))
      .filter((column) => column.hidden === 0)
      .map((column) => quoteIdentifier(column.name));
    // sqlite_sequence's rowids are only the order its counters were first used in, which squash writes by name.
    const rowid = table.wr || table.type === "virtual" || /^sqlite_sequence$/i.test(table.name) ? [] : ["_rowid_"];
    const values = [...rowid, ...columns].map((column) => `CASE typeof(${column}) WHEN 'text' THEN 'x' || hex(${column}) ELSE quote(${column}) END`).join(` || ',' || `);
    if (values === "") continue;
    // stepwise's own tables count their rows there too; of FTS4's _stat only its automerge (row 2), since its totals and merge hint follow how the rows came in.
    const stepwiseOwn = ` WHERE lower(name) NOT IN (${[...excluded].map((name) => `'${name.replace(/'/g, "''")}'`).join(", ") || "''"})`;
    const own = /^sqlite_sequence$/i.test(table.name) ? stepwiseOwn : table.type === "shadow" && /_stat$/i.test(table.name) ? " WHERE id = 2" : "";
    const rows = yield* query<{ v: string }>(`SELECT ${values} AS v FROM ${quoteIdentifier(table.name)}${own} ORDER BY 1`);
    const index = table.type === "virtual" ? yield* readFullTextIndex(table.name) : "";
    found.set(table.name, rows.map((row) => row.v).join("\n") + index);
  }
  const [setting] = yield* query<{ id: number }>("SELECT application_id AS id FROM pragma_application_id");
  found.set("application_id", setting?.id ? String(setting.id) : "");
  return found;
}

/**
 * A full-text table's index, term by term, through `fts5vocab` or `fts4aux` (which read it whatever its layout); `""` for another virtual table. An external-content table reads its rows from
 * the content table, so its rows alone cannot show an index that holds only some of them, nor can `_docsize` where `columnsize=0` or `matchinfo=fts3` leaves it out.
 */
function* readFullTextIndex(name: string): Step<string> {
  const [virtual] = yield* query<{ sql: string | null }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [name]);
  const kind = /\busing\s+(fts5|fts4|fts3)\b/i.exec(virtual?.sql ?? "")?.[1]?.toLowerCase();
  if (kind === undefined) return "";
  const terms = "temp.stepwise_squash_terms";
  const [reader, columns] =
    kind === "fts5" ? [`fts5vocab(main, ${quoteIdentifier(name)}, 'instance')`, `term, doc, col, "offset"`] : [`fts4aux(main, ${quoteIdentifier(name)})`, "term, col, documents, occurrences"];
  yield* exec(`CREATE VIRTUAL TABLE ${terms} USING ${reader}`);
  const rows = yield* query<{ v: string }>(
    `SELECT ${columns
      .split(", ")
      .map((column) => `quote(${column})`)
      .join(` || ',' || `)} AS v FROM ${terms} ORDER BY ${columns}`,
  );
  yield* exec(`DROP TABLE ${terms}`);
  return `\nindex:\n${rows.map((row) => row.v).join("\n")}`;
}

/** Each table's rows as the server writes them as text, sorted, and where each sequence stands. Materialized views are made from the rows, so they are left out. */
function* readPostgresRows(schema: string, excluded: ReadonlySet<string>): Step<Map<string, string>> {
  const relations = yield* query<{ name: string; kind: string }>(
    `SELECT c.relname::${TEXT} AS name, c.relkind::${TEXT} AS kind FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid ${EQ} c.relnamespace
     WHERE n.nspname ${EQ} ? AND (c.relkind ${EQ} 'r' OR c.relkind ${EQ} 'S') ORDER BY c.relname`,
    [schema],
  );
  const found = new Map<string, string>();
  for (const relation of relations.filter((each) => !excluded.has(each.name.toLowerCase()))) {
    const name = `${quoteIdentifier(schema)}.${quoteIdentifier(relation.name)}`;
    const sql =
      relation.kind === "S"
        ? `SELECT last_value::${TEXT} ${CONCAT} ' ' ${CONCAT} is_called::${TEXT} AS v FROM ${name}`
        : // The row's own text, not its JSON: JSON reads a json 'null' as SQL NULL and drops an array's lower bound, so a seed row that lost either would pass.
          // record_out of `t.*`: a bare `t` would be a column of that name where the table has one.
          `SELECT pg_catalog.textin(pg_catalog.record_out(t.*)) AS v FROM ONLY ${name} AS t ORDER BY 1`;
    found.set(relation.name, (yield* query<{ v: string }>(sql)).map((row) => row.v).join("\n"));
  }
  return found;
}

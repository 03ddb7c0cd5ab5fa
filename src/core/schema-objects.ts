/** A database's own schema objects from `sqlite_master`, without SQLite's internal ones, which no migration creates. */
import { query, type Step } from "./step.js";

/** The kinds of object `sqlite_master` lists. */
export type SchemaObjectKind = "table" | "index" | "view" | "trigger";

/** One row of `sqlite_master`, for an object a user (or a migration) made. */
export interface SchemaObject {
  readonly type: SchemaObjectKind;
  readonly name: string;
  /** The table an index or trigger belongs to; a table's or view's own name. */
  readonly tblName: string;
  /** The `CREATE` statement as stored, or `null` for objects SQLite made implicitly. */
  readonly sql: string | null;
}

/** Options for {@link readSchemaObjects}. */
export interface ListSchemaObjectsOptions {
  /** Only these kinds. Default: all. */
  readonly types?: readonly SchemaObjectKind[];
  /** Leave out these tables (case-insensitively); objects on them stay listed, since stepwise makes none. */
  readonly excludeTables?: readonly string[];
}

/**
 * The shadow tables of the virtual table modules SQLite ships, by suffix, as each module's `xShadowName` names them: a connection that lacks the module (sql.js has neither FTS5 nor R*Tree) does
 * not mark them `shadow` in `pragma_table_list`.
 */
const SHIPPED_SHADOW_SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  fts3: ["content", "segments", "segdir", "docsize", "stat"],
  fts4: ["content", "segments", "segdir", "docsize", "stat"],
  fts5: ["data", "idx", "content", "docsize", "config"],
  rtree: ["node", "parent", "rowid"],
  rtree_i32: ["node", "parent", "rowid"],
  geopoly: ["node", "parent", "rowid"],
};

/** The user's schema objects in `main`, ordered by name, from one read; a virtual table is listed once, without the shadow tables its module made for it. */
export function* readSchemaObjects(options: ListSchemaObjectsOptions = {}): Step<SchemaObject[]> {
  // Cloudflare's storage keeps _cf_KV (and _cf_METADATA) in a Durable Object's or D1's file: no migration's, also when a local copy is read with a SQLite driver.
  // The escape guard's witness is stepwise's own, even where a killed run on a libSQL server left it in `main`. pragma_table_list (SQLite 3.37; every driver's SQLite is newer) marks the shadow tables of the modules loaded.
  const sql = `SELECT type, name, tbl_name AS tblName, sql, name IN (SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow') AS shadow
       FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'stepwise\\_guard\\_%' ESCAPE '\\' AND lower(tbl_name) NOT IN ('_cf_kv', '_cf_metadata') ORDER BY name`;
  const rows = yield* query<SchemaObject & { readonly shadow: unknown }>(sql);
  const virtual = rows.filter((row) => row.type === "table" && /^\s*CREATE\s+VIRTUAL\s+TABLE\b/i.test(row.sql ?? ""));
  const shadows = new Set(
    virtual.flatMap((row) => {
      const module = /\bUSING\s+(\w+)/i.exec(row.sql!)?.[1]?.toLowerCase() ?? "";
      return (SHIPPED_SHADOW_SUFFIXES[module] ?? []).map((suffix) => `${row.name}_${suffix}`.toLowerCase());
    }),
  );
  // A table a full-text index reads its rows from (content='docs_content') is the app's, though SQLite names it like a shadow.
  const contents = new Set(virtual.flatMap((row) => /\bcontent\s*=\s*(['"]?)([^'"\s,)]+)\1/i.exec(row.sql!)?.[2]?.toLowerCase() ?? []));
  const isShadow = (row: (typeof rows)[number]) => row.type === "table" && !contents.has(row.name.toLowerCase()) && (Boolean(row.shadow) || shadows.has(row.name.toLowerCase()));
  const types = options.types ? new Set<string>(options.types) : null;
  const excluded = new Set((options.excludeTables ?? []).map((name) => name.toLowerCase()));
  return rows
    .filter((row) => (types === null || types.has(row.type)) && !isShadow(row) && !(row.type === "table" && excluded.has(row.name.toLowerCase())))
    .map(({ shadow: _shadow, ...object }) => object);
}

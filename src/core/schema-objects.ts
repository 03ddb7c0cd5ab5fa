/** A database's own schema objects from `sqlite_master`, without SQLite's internal ones, which no migration creates. */
import { query, type Step } from "./step.js";

/** The part of a connection {@link listSchemaObjects} uses (better-sqlite3 and node:sqlite both fit). */
interface Database {
  prepare(sql: string): { all(): unknown[] };
}

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

/** Options for {@link listSchemaObjects}. */
export interface ListSchemaObjectsOptions {
  /** Only these kinds. Default: all. */
  readonly types?: readonly SchemaObjectKind[];
  /** Leave out these tables (case-insensitively); objects on them stay listed, since stepwise makes none. */
  readonly excludeTables?: readonly string[];
}

/** The user's schema objects in `main`, ordered by name, from one read. */
export function listSchemaObjects(db: Database, options: ListSchemaObjectsOptions = {}): SchemaObject[] {
  return filterSchemaObjects(db.prepare(SCHEMA_OBJECTS_SQL).all() as SchemaObject[], options);
}

/** {@link listSchemaObjects} as an executor step, over any driver. */
export function* readSchemaObjects(options: ListSchemaObjectsOptions = {}): Step<SchemaObject[]> {
  return filterSchemaObjects(yield* query<SchemaObject>(SCHEMA_OBJECTS_SQL), options);
}

// The escape guard's witness is stepwise's own, even where a killed run on a libSQL server left it in `main`.
const SCHEMA_OBJECTS_SQL = `SELECT type, name, tbl_name AS tblName, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'stepwise\\_guard\\_%' ESCAPE '\\' ORDER BY name`;

function filterSchemaObjects(rows: SchemaObject[], options: ListSchemaObjectsOptions): SchemaObject[] {
  const types = options.types ? new Set<string>(options.types) : null;
  const excluded = new Set((options.excludeTables ?? []).map((name) => name.toLowerCase()));
  return rows.filter((row) => (types === null || types.has(row.type)) && !(row.type === "table" && excluded.has(row.name.toLowerCase())));
}

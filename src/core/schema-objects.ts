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

/** The user's schema objects in `main`, ordered by name, from one read. */
export function* readSchemaObjects(options: ListSchemaObjectsOptions = {}): Step<SchemaObject[]> {
  // The escape guard's witness is stepwise's own, even where a killed run on a libSQL server left it in `main`.
  const rows = yield* query<SchemaObject>(
    `SELECT type, name, tbl_name AS tblName, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'stepwise\\_guard\\_%' ESCAPE '\\' ORDER BY name`,
  );
  const types = options.types ? new Set<string>(options.types) : null;
  const excluded = new Set((options.excludeTables ?? []).map((name) => name.toLowerCase()));
  return rows.filter((row) => (types === null || types.has(row.type)) && !(row.type === "table" && excluded.has(row.name.toLowerCase())));
}

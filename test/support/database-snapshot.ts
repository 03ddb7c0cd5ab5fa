/**
 * Test support: everything observable about a database, as plain data, for "nothing changed"
 * assertions. Compare two snapshots with `assert.deepEqual`.
 */
import type { Database } from "better-sqlite3";

/** The schema, every table's rows, and `PRAGMA user_version`. */
export interface DatabaseSnapshot {
  readonly schema: readonly unknown[];
  readonly rows: Readonly<Record<string, readonly unknown[]>>;
  readonly userVersion: number;
}

/** Reads the full schema (sqlite_master) and the contents of every table, history included. */
export function snapshotDatabase(db: Database): DatabaseSnapshot {
  const schema = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").all();
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all() as Array<{ name: string }>;
  const rows: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    // ORDER BY every column: WITHOUT ROWID tables have no rowid to sort by.
    const columns = (db.prepare(`PRAGMA table_info("${name}")`).all() as Array<{ name: string }>).map((c) => `"${c.name}"`);
    rows[name] = db.prepare(`SELECT * FROM "${name}" ORDER BY ${columns.join(", ")}`).all();
  }
  return { schema, rows, userVersion: db.pragma("user_version", { simple: true }) as number };
}

/** Names of the user tables, sorted, excluding SQLite's own. */
export function tableNames(db: Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all() as Array<{ name: string }>).map((row) => row.name);
}

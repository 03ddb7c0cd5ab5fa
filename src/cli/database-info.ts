/**
 * The facts `stepwise info` shows, gathered as plain data so `--json` is a plain `JSON.stringify`.
 */
import { statSync } from "node:fs";
import type { MigrationManager } from "../drivers/better-sqlite3.js";
import { listSchemaObjects, type SchemaObjectKind } from "../core/schema-objects.js";

/** Counts of schema objects, excluding SQLite's internal ones and the history table. */
export interface SchemaObjectCounts {
  readonly tables: number;
  readonly indexes: number;
  readonly triggers: number;
  readonly views: number;
}

/** Everything `info` reports. */
export interface DatabaseInfo {
  readonly path: string;
  readonly sizeBytes: number;
  readonly currentVersion: number;
  readonly latestVersion: number;
  readonly pendingCount: number;
  /** `PRAGMA user_version`, which stepwise keeps equal to the current version. */
  readonly userVersion: number;
  readonly objects: SchemaObjectCounts;
  readonly lastMigration: { readonly version: number; readonly name: string; readonly appliedAt: string } | null;
  readonly journalMode: string;
  readonly historyTable: string;
}

/** Reads {@link DatabaseInfo} without writing. `path` is what the user passed, shown as given. */
export function collectDatabaseInfo(manager: MigrationManager, path: string): DatabaseInfo {
  const db = manager.db;
  const status = manager.status();
  const objects = listSchemaObjects(db, { excludeTables: [manager.tableName] });
  const count = (type: SchemaObjectKind) => objects.filter((object) => object.type === type).length;
  // From the history, not the status rows: those leave out versions the registry lacks and edited files.
  const last = manager.history().filter((row) => row.state === "applied").at(-1);
  return {
    path,
    sizeBytes: db.memory ? 0 : statSync(db.name).size,
    currentVersion: status.currentVersion,
    latestVersion: status.latestVersion,
    pendingCount: status.pendingCount,
    userVersion: db.pragma("user_version", { simple: true }) as number,
    objects: { tables: count("table"), indexes: count("index"), triggers: count("trigger"), views: count("view") },
    lastMigration: last ? { version: last.version, name: last.name, appliedAt: last.appliedAt } : null,
    journalMode: String(db.pragma("journal_mode", { simple: true })),
    historyTable: manager.tableName,
  };
}

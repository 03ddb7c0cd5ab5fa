/**
 * The facts `stepwise info` shows, gathered as plain data so `--json` is a plain `JSON.stringify`.
 */
import { existsSync, statSync } from "node:fs";
import type { SyncMigrationManager } from "../core/manager.js";
import { readSchemaObjects, type SchemaObjectKind } from "../core/schema-objects.js";
import { queryValue } from "../core/step.js";

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

/**
 * Reads {@link DatabaseInfo} without writing, through the manager's driver (any of them). `path` is
 * what the user passed, shown as given; the size is the file's, which for sql.js (no file of its
 * own) is read at `path`.
 */
export function collectDatabaseInfo(manager: SyncMigrationManager<unknown>, path: string): DatabaseInfo {
  const status = manager.status();
  const objects = manager.run(readSchemaObjects({ excludeTables: [manager.tableName] }));
  const pragma = (name: string): unknown => manager.run(queryValue(`PRAGMA ${name}`));
  const file = manager.driver.filePath ?? (path !== ":memory:" && existsSync(path) ? path : null);
  const count = (type: SchemaObjectKind) => objects.filter((object) => object.type === type).length;
  // From the history, not the status rows: those leave out versions the registry lacks and edited files.
  const last = manager
    .history()
    .filter((row) => row.state === "applied")
    .at(-1);
  return {
    path,
    sizeBytes: file === null ? 0 : statSync(file).size,
    currentVersion: status.currentVersion,
    latestVersion: status.latestVersion,
    pendingCount: status.pendingCount,
    userVersion: Number(pragma("user_version")),
    objects: { tables: count("table"), indexes: count("index"), triggers: count("trigger"), views: count("view") },
    lastMigration: last ? { version: last.version, name: last.name, appliedAt: last.appliedAt } : null,
    journalMode: String(pragma("journal_mode")),
    historyTable: manager.tableName,
  };
}

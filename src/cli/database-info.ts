/**
 * The facts `stepwise info` shows, gathered as plain data so `--json` is a plain `JSON.stringify`.
 */
import { stepwiseTableNames } from "../core/checksum-repair-log.js";
import { existsSync, statSync } from "node:fs";
import type { MigrationManagerBase, DriverIdentity } from "../core/manager-base.js";
import type { SchemaObjectKind } from "../core/schema-objects.js";
import { queryValue } from "../core/step.js";
import type { MigrationRegistry } from "../core/types.js";
import type { StatusProblem } from "../core/plain-error.js";

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
  /** Why `up` would refuse, as `status` reports it; `null` when it would run. */
  readonly problem: StatusProblem | null;
  /**
   * `PRAGMA user_version`, which stepwise keeps equal to the current version; `null` on a database
   * without one (PostgreSQL), where the history table is the only record.
   */
  readonly userVersion: number | null;
  readonly objects: SchemaObjectCounts;
  readonly lastMigration: { readonly version: number; readonly name: string; readonly appliedAt: string } | null;
  /** SQLite's journal mode; `null` on a database without one (PostgreSQL). */
  readonly journalMode: string | null;
  /** The history table's name; on PostgreSQL qualified by its schema (`public.schema_migrations`). */
  readonly historyTable: string;
}

/**
 * Reads {@link DatabaseInfo} without writing, through the manager's driver (any of them, sync or
 * async). `path` is what the user passed, shown as given (for a server, its URL with the password
 * hidden); the size is the file's, which for sql.js (no file of its own) is read at `path`, or on
 * PostgreSQL the database's (`pg_database_size`).
 */
export async function collectDatabaseInfo<R extends MigrationRegistry>(manager: MigrationManagerBase<unknown, R, boolean, DriverIdentity<unknown>>, path: string): Promise<DatabaseInfo> {
  const status = await manager.status();
  // The dialect's catalog: sqlite_master on SQLite, pg_catalog (the history table's schema) on PostgreSQL.
  const objects = await manager.run(manager.executor.dialect.readSchemaObjects({ excludeTables: stepwiseTableNames(manager.tableName) }));
  const count = (type: SchemaObjectKind) => objects.filter((object) => object.type === type).length;
  // From the history, not the status rows: those leave out versions the registry lacks and edited files.
  // A history table stepwise cannot read has no last migration to show; the problem says why.
  const history = status.problem?.code === "HISTORY_TABLE_INVALID" ? [] : await manager.history();
  const last = history.filter((row) => row.state === "applied").at(-1);
  const common = {
    path,
    currentVersion: status.currentVersion,
    latestVersion: status.latestVersion,
    pendingCount: status.pendingCount,
    problem: status.problem,
    objects: { tables: count("table"), indexes: count("index"), triggers: count("trigger"), views: count("view") },
    lastMigration: last ? { version: last.version, name: last.name, appliedAt: last.appliedAt } : null,
  };
  if (manager.driver.dialect === "postgres") {
    const size = await manager.run(queryValue("SELECT pg_catalog.pg_database_size(pg_catalog.current_database()) AS size"));
    const schema = (manager.executor.store as { readonly schema?: string }).schema;
    return { ...common, sizeBytes: Number(size), userVersion: null, journalMode: null, historyTable: schema === undefined ? manager.tableName : `${schema}.${manager.tableName}` };
  }
  const pragma = async (name: string): Promise<unknown> => manager.run(queryValue(`PRAGMA ${name}`));
  const filePath = (manager.driver as { filePath?: string | null }).filePath ?? null;
  const file = filePath ?? (path !== ":memory:" && existsSync(path) ? path : null);
  return {
    ...common,
    sizeBytes: file === null ? 0 : statSync(file).size,
    // A libSQL server (Turso) refuses the pragma; the history table is the record there.
    userVersion: manager.driver.capabilities.userVersion ? Number(await pragma("user_version")) : null,
    journalMode: String(await pragma("journal_mode")),
    historyTable: manager.tableName,
  };
}

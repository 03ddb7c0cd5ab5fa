/** What `stepwise info` shows: gathered as plain data (what `--json` prints), and as text. */
import { existsSync, statSync } from "node:fs";
import { stepwiseTableNames } from "../core/checksum-repair-log.js";
import { formatVersion } from "../core/migration-label.js";
import type { StatusProblem } from "../core/plain-error.js";
import type { SchemaObjectKind } from "../core/schema-objects.js";
import { queryValue } from "../core/step.js";
import type { MigrationRegistry } from "../core/types.js";
import { formatTimestamp, type Palette } from "./format.js";
import type { CliManager } from "./open-database.js";

/** Everything `info` reports. */
export interface DatabaseInfo {
  readonly path: string;
  readonly sizeBytes: number;
  readonly currentVersion: number;
  readonly latestVersion: number;
  readonly pendingCount: number;
  /** Why `up` would refuse, as `status` reports it; `null` when it would run. */
  readonly problem: StatusProblem | null;
  /** `PRAGMA user_version`, which stepwise keeps equal to the current version; `null` where there is none (PostgreSQL, a libSQL server). */
  readonly userVersion: number | null;
  /** Schema objects, SQLite's internal ones and stepwise's tables not counted. */
  readonly objects: { readonly tables: number; readonly indexes: number; readonly triggers: number; readonly views: number };
  readonly lastMigration: { readonly version: number; readonly name: string; readonly appliedAt: string } | null;
  /** SQLite's journal mode; `null` on PostgreSQL. */
  readonly journalMode: string | null;
  /** The history table's name; on PostgreSQL qualified by its schema (`public.schema_migrations`). */
  readonly historyTable: string;
}

/** Reads {@link DatabaseInfo} without writing. `path` is shown as given (a URL without its password); the size is the file's, or on PostgreSQL the database's. */
export async function collectDatabaseInfo<R extends MigrationRegistry>(manager: CliManager<R>, path: string): Promise<DatabaseInfo> {
  const status = await manager.status();
  const objects = await manager.run(manager.executor.dialect.readSchemaObjects({ excludeTables: stepwiseTableNames(manager.tableName) }));
  const count = (type: SchemaObjectKind) => objects.filter((object) => object.type === type).length;
  // From the history, not the status rows, which leave out versions the registry lacks.
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
  const file = (manager.driver as { filePath?: string | null }).filePath ?? (path !== ":memory:" && existsSync(path) ? path : null);
  return {
    ...common,
    sizeBytes: file === null ? 0 : statSync(file).size,
    // A libSQL server (Turso) refuses the pragma; the history table is the record there.
    userVersion: manager.driver.capabilities.userVersion ? Number(await pragma("user_version")) : null,
    journalMode: String(await pragma("journal_mode")),
    historyTable: manager.tableName,
  };
}

/** `info` as aligned key/value lines; a row the database has no such thing for (PostgreSQL: user_version, journal mode) is left out. */
export function formatInfo(info: DatabaseInfo, palette: Palette): string {
  const size = info.sizeBytes < 1024 ? `${info.sizeBytes} B` : info.sizeBytes < 1024 * 1024 ? `${(info.sizeBytes / 1024).toFixed(1)} KiB` : `${(info.sizeBytes / 1024 / 1024).toFixed(1)} MiB`;
  const last = info.lastMigration;
  const all: Array<[string, string | null]> = [
    ["Path", info.path],
    ["Size", size],
    ["Schema version", `${info.currentVersion} of ${info.latestVersion}${info.problem ? ` (up refuses: ${info.problem.code})` : info.pendingCount > 0 ? ` (${info.pendingCount} pending)` : ""}`],
    ["user_version", info.userVersion === null ? null : String(info.userVersion)],
    ["Tables", String(info.objects.tables)],
    ["Indexes", String(info.objects.indexes)],
    ["Triggers", String(info.objects.triggers)],
    ["Views", String(info.objects.views)],
    ["Last migration", last ? `${formatVersion(last.version)} ${last.name} at ${formatTimestamp(last.appliedAt)}` : "none"],
    ["Journal mode", info.journalMode],
    ["History table", info.historyTable],
  ];
  const rows = all.filter((row): row is [string, string] => row[1] !== null);
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${palette.bold(key.padEnd(width))}  ${value}`).join("\n");
}

/**
 * Backups of a database that lives on a server (PostgreSQL) are the server's tools' job: `pg_dump`
 * takes a consistent copy without stopping writers, `pg_restore` (or `psql` for a plain dump) puts one
 * back, and both know roles, extensions, large objects and everything else a copy has to carry.
 * stepwise's backups copy a SQLite file; on a server they are refused by capability, before anything
 * is read, written or created, with the tool to use named.
 */
import { UsageError } from "../core/errors.js";
import { DriverCapabilityError, requireCapabilities, type Driver, type DriverCapability } from "../core/driver.js";
import type { MigrationResult } from "../core/options.js";
import type { BackupOptions, BackupRecord } from "./backup.js";
import type { RestoreResult } from "./restore.js";
import type { UpWithBackupOptions } from "./up-with-backup.js";

/** The server tool that does what was asked. */
export type ServerBackupTool = "pg_dump" | "pg_restore";

/**
 * A backup or restore was asked of a driver whose database lives on a server. Same code and fields
 * as every {@link DriverCapabilityError} (`driver`, `capability`, `operation`), plus the `tool` to use.
 * Nothing was read, written or created.
 */
export class ServerBackupUnsupportedError extends DriverCapabilityError {
  override readonly name: string = "ServerBackupUnsupportedError";
  /** What to use instead: `pg_dump` to back up, `pg_restore` to restore. */
  readonly tool: ServerBackupTool;

  constructor(fields: { driver: string; capability: DriverCapability; operation: string; tool: ServerBackupTool }) {
    super(fields);
    this.tool = fields.tool;
    this.message =
      `${fields.operation} is not available on the ${fields.driver} driver: stepwise's backups copy a SQLite file (capability "${fields.capability}"), ` +
      `and a PostgreSQL database lives on its server. Nothing was changed. ` +
      (fields.tool === "pg_restore"
        ? `Restore a dump with pg_restore (or psql for a plain-SQL dump), then run "up".`
        : `Back it up with pg_dump (for example pg_dump --format=custom --file=app.dump "$DATABASE_URL") before running "up", and restore it with pg_restore.`);
  }
}

/** What the server-side refusals read of a manager: its driver's name, dialect and capabilities. */
export interface ServerManager {
  readonly driver: Pick<Driver, "name" | "dialect" | "capabilities">;
}

/**
 * Throws {@link ServerBackupUnsupportedError} for a PostgreSQL driver, else `DRIVER_CAPABILITY_MISSING`
 * unless `driver` declares every one of `capabilities`. Called first by every backup and restore net.
 */
export function requireBackupCapabilities(driver: Pick<Driver, "name" | "dialect" | "capabilities">, operation: string, ...capabilities: DriverCapability[]): void {
  if (driver.dialect === "postgres") {
    const missing = capabilities.find((capability) => !driver.capabilities[capability]) ?? capabilities[0] ?? "openFile";
    const tool: ServerBackupTool = /restore|inspect/i.test(operation) ? "pg_restore" : "pg_dump";
    throw new ServerBackupUnsupportedError({ driver: driver.name, capability: missing, operation, tool });
  }
  requireCapabilities(driver, operation, ...capabilities);
}

/**
 * `upWithBackup` on a server database: refused with {@link ServerBackupUnsupportedError} (naming
 * `pg_dump`) before anything runs; no migration is applied. Take the dump first, then call `up`.
 *
 * @example
 * // in a deploy script: pg_dump --format=custom --file=before.dump "$DATABASE_URL" && node migrate.js
 */
export async function upWithBackupOnServer(manager: ServerManager, _options: UpWithBackupOptions): Promise<MigrationResult> {
  requireBackupCapabilities(manager.driver, "upWithBackup", "openFile");
  throw new UsageError(`upWithBackup here is for server databases; for a SQLite database import upWithBackup from its driver's entry (such as "stepwise-migrate/better-sqlite3").`);
}

/** `upWithOnlineBackup` on a server database: refused as {@link upWithBackupOnServer} is. */
export async function upWithOnlineBackupOnServer(manager: ServerManager, _options: UpWithBackupOptions): Promise<MigrationResult> {
  requireBackupCapabilities(manager.driver, "upWithOnlineBackup", "onlineBackup", "openFile");
  throw new UsageError(`upWithOnlineBackup here is for server databases; for a SQLite database import upWithOnlineBackup from its driver's entry (such as "stepwise-migrate/better-sqlite3").`);
}

/** `takeBackup` on a server database: refused with {@link ServerBackupUnsupportedError} (naming `pg_dump`); no folder or file is created. */
export async function takeBackupOnServer(manager: ServerManager, _options: BackupOptions & { readonly version: number }): Promise<BackupRecord> {
  requireBackupCapabilities(manager.driver, "takeBackup", "onlineBackup", "openFile");
  throw new UsageError(`takeBackup here is for server databases; for a SQLite database import takeBackup from its driver's entry (such as "stepwise-migrate/better-sqlite3").`);
}

/** `restoreBackup` on a server database: refused with {@link ServerBackupUnsupportedError} (naming `pg_restore`); nothing is read or changed. */
export async function restoreBackupOnServer(manager: ServerManager, _options: { readonly backupFile: string }): Promise<RestoreResult> {
  requireBackupCapabilities(manager.driver, "restoreBackup", "openFile", "onlineBackup");
  throw new UsageError(`restoreBackup here is for server databases; for a SQLite database import restoreBackup from its driver's entry (such as "stepwise-migrate/better-sqlite3").`);
}

/**
 * What `up --backup` and `restore` refuse. Both copy a SQLite file through the sync API: on a server
 * (pg) the server's tools do that job, and a registry holding async migrations is run by an
 * `AsyncMigrationManager`, for which `upWithBackup` has no async form yet. Each refusal is typed and
 * comes before anything is created.
 */
import { asyncMigrationsNeedAsyncRunnerError, findAsyncMigrations } from "../core/async-migrations.js";
import { SyncMigrationManager } from "../core/manager.js";
import type { MigrationRegistry } from "../core/types.js";
import { type ServerBackupTool, serverBackupUnsupportedError } from "../safety/backup-capabilities.js";
import type { CliManager } from "./open-database.js";
import { StepwiseError } from "../core/errors.js";

/**
 * `up --backup` on a registry with async migrations: the snapshot is taken by the sync
 * `upWithBackup`, which cannot run them. Same code and fields as `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER`
 * (`versions`, `files`, `driver`), plus the `operation` refused. Nothing was changed.
 */
export function asyncBackupUnsupportedError(fields: { versions: readonly number[]; files: readonly string[]; driver: string; operation: string }): StepwiseError<"ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER"> {
  const { details } = asyncMigrationsNeedAsyncRunnerError(fields);
  return new StepwiseError(
    "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER",
    `${fields.operation} is not available for this registry: it holds async migrations (${fields.versions.join(", ")}), which run through the ${fields.driver} driver's AsyncMigrationManager, ` +
      `and the backup is taken by upWithBackup, which has no async form. Nothing was changed. Copy the database file (or run "${fields.operation}" from a build without async migrations), then run it without --backup.`,
    // The runner's fix (migrateAsync) is not this refusal's: the runner is async already.
    { ...details, fix: `copy the database file yourself, then run ${fields.operation.replace(/ --backup$/, "")} without --backup`, operation: fields.operation },
  );
}

/** The refusal of a backup or restore on a driver whose database lives on a server, naming the tool to use. */
export function serverBackupRefusal(driver: string, operation: string, tool: ServerBackupTool): StepwiseError<"DRIVER_CAPABILITY_MISSING"> {
  return serverBackupUnsupportedError({ driver, capability: "openFile", operation, tool });
}

/**
 * The sync manager `upWithBackup` needs.
 *
 * @throws `DRIVER_CAPABILITY_MISSING` on PostgreSQL; `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER` for an async registry.
 */
export function requireBackupManager<R extends MigrationRegistry>(manager: CliManager<R>, operation: string): SyncMigrationManager<unknown, R> {
  if (manager instanceof SyncMigrationManager) return manager as SyncMigrationManager<unknown, R>;
  if (manager.driver.dialect === "postgres") throw serverBackupRefusal(manager.driver.name, operation, "pg_dump");
  const found = findAsyncMigrations(manager.migrations);
  throw asyncBackupUnsupportedError({ versions: found.map((entry) => entry.version), files: found.map((entry) => entry.file), driver: manager.driver.name, operation });
}

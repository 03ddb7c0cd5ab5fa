/**
 * The check every backup and restore net makes first: the driver can copy a database file, and is
 * not a server's (where backups are the server's tools' job, `pg_dump` and `pg_restore`). Apart from
 * the nets themselves (`backup.ts`, `restore.ts`, `up-with-backup.ts`), so that each imports this
 * and none imports another for it.
 */
import { requireCapabilities, type Driver, type DriverCapability } from "../core/driver.js";
import { StepwiseError, type ServerBackupTool } from "../core/errors.js";

/**
 * A backup or restore was asked of a driver whose database lives on a server. Same code and fields
 * as every `DRIVER_CAPABILITY_MISSING` (`driver`, `capability`, `operation`), plus the `tool` to use.
 * Nothing was read, written or created.
 */
export function serverBackupUnsupportedError(fields: { driver: string; capability: DriverCapability; operation: string; tool: ServerBackupTool }): StepwiseError<"DRIVER_CAPABILITY_MISSING"> {
  return new StepwiseError(
    "DRIVER_CAPABILITY_MISSING",
    `${fields.operation} is not available on the ${fields.driver} driver: stepwise's backups copy a SQLite file (capability "${fields.capability}"), ` +
      `and a PostgreSQL database lives on its server. Nothing was changed. ` +
      (fields.tool === "pg_restore"
        ? `Restore a dump with pg_restore (or psql for a plain-SQL dump), then run "up".`
        : `Back it up with pg_dump (for example pg_dump --format=custom --file=app.dump "$DATABASE_URL") before running "up", and restore it with pg_restore.`),
    { driver: fields.driver, capability: fields.capability, operation: fields.operation, file: null, fix: null, tool: fields.tool },
  );
}

/**
 * Throws `DRIVER_CAPABILITY_MISSING` for a PostgreSQL driver, else `DRIVER_CAPABILITY_MISSING`
 * unless `driver` declares every one of `capabilities`. Called first by every backup and restore net.
 */
export function requireBackupCapabilities(driver: Pick<Driver, "name" | "dialect" | "capabilities">, operation: string, ...capabilities: DriverCapability[]): void {
  if (driver.dialect === "postgres") {
    const missing = capabilities.find((capability) => !driver.capabilities[capability]) ?? capabilities[0] ?? "openFile";
    const tool: ServerBackupTool = /restore|inspect/i.test(operation) ? "pg_restore" : "pg_dump";
    throw serverBackupUnsupportedError({ driver: driver.name, capability: missing, operation, tool });
  }
  requireCapabilities(driver, operation, ...capabilities);
}

export type { ServerBackupTool } from "../core/errors.js";

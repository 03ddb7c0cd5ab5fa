/**
 * How the backup and restore nets are handed a database library: a driver, or a `MigrationManager`
 * (which carries one). They read and write only through its primitives, so they run on every driver
 * that declares what they need, and refuse the others by capability before touching anything.
 */
import type { DriverCapability, SyncDriver } from "../core/driver.js";
import { requireBackupCapabilities } from "./backup-capabilities.js";
import { sqliteCodeOf } from "../core/sqlite-errors.js";

/** A driver, or anything that carries one, such as a `MigrationManager`. */
export type DriverSource = SyncDriver | { readonly driver: SyncDriver };

/** The driver of `source`. */
export function driverOf(source: DriverSource): SyncDriver {
  return "driver" in source ? source.driver : source;
}

/**
 * `source`'s driver, after refusing with `DRIVER_CAPABILITY_MISSING` unless it declares every one of
 * `capabilities`. Called first, so a refusal leaves no file, folder or row behind.
 */
export function driverWith(source: DriverSource, operation: string, ...capabilities: DriverCapability[]): SyncDriver {
  const driver = driverOf(source);
  // A server database (PostgreSQL) is refused naming pg_dump/pg_restore, whatever it declares.
  requireBackupCapabilities(driver, operation, ...capabilities);
  return driver;
}

/**
 * The `SQLITE_*` code of an error a driver threw: the `code` most libraries set, else the driver's
 * own reading of it.
 */
export function sqliteCodeFrom(driver: SyncDriver, error: unknown): string | null {
  const code = sqliteCodeOf(error) ?? driver.classifyError(error).nativeCode;
  return code !== null && code.startsWith("SQLITE_") ? code : null;
}

/** Whether `error` is another connection's lock (busy or locked), which waiting may cure. */
export function isLockError(driver: SyncDriver, error: unknown): boolean {
  const code = sqliteCodeFrom(driver, error);
  if (code !== null) return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
  return driver.classifyError(error).kind === "locked";
}

/** Closes a connection the net opened itself; a failure to close cannot hide the outcome. */
export function closeQuietly(driver: SyncDriver): void {
  try {
    driver.close?.();
  } catch {
    // Nothing useful is left to do with a connection that will not close.
  }
}

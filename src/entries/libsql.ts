/**
 * `stepwise/libsql`: migrate a local database through the `libsql` package (Turso's embedded
 * libSQL). `migrate` and `MigrationManager` take libsql's own `Database`. libsql has no
 * `serialize()` or `backup()`, so the safety nets that need them (rehearsal, schema replay and
 * verification) are not exported here; given a libsql manager they refuse with
 * `DRIVER_CAPABILITY_MISSING`. Backups, restore and `upWithBackup` are exported as from every entry
 * (`safety-nets.ts`): `takeBackupSync`/`upWithBackup` work, the online backup and restore refuse. Importing this entry loads no other driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, createLibsqlDriver, LIBSQL_CAPABILITIES } from "../drivers/libsql.js";
export type { Database } from "../drivers/libsql.js";
export * from "./safety-nets.js";
export { defineMigration } from "../drivers/libsql.js";

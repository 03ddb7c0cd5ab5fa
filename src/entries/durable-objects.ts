/**
 * `stepwise-migrate/durable-objects`: migrate a Durable Object's SQLite storage (`ctx.storage`) from
 * a registry bundled into the Worker. Synchronous; each migration commits with its history row in
 * one `transactionSync`. Of the safety nets, only the repairs run: the storage has no file to copy.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, defineMigration } from "../drivers/durable-objects.js";
export type { DurableObjectSql, DurableObjectStorageLike } from "../drivers/durable-objects.js";

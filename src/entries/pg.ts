/**
 * `stepwise-migrate/pg`: migrate PostgreSQL through `pg` (node-postgres), from a connected `pg.Client`
 * or a `pg.Pool`. Every method returns a promise. The safety nets, imported from `stepwise-migrate`,
 * take this entry's manager: verify and baseline replay in a scratch database on the same server,
 * rehearsal rolls back, and the file backups are refused (use `pg_dump`). Loads no SQLite driver.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, defineMigration } from "../drivers/pg.js";
export type { PgConnection, PgMigrationManagerProps } from "../drivers/pg.js";
export type { AsyncBatchHandler, AsyncMigrationContext } from "../core/async-batches.js";

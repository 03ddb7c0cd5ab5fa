/**
 * `stepwise-migrate/pg`: migrate a PostgreSQL database through the `pg` package (node-postgres), from a
 * connected `pg.Client` or a `pg.Pool`. Every method returns a promise. Importing this entry loads
 * `pg` and no SQLite driver.
 *
 * The safety nets are imported from `stepwise-migrate` and take this entry's manager: `verifySchema`
 * and `baselineDatabase` replay the migrations in a scratch database on the same server (dropped
 * after), `rehearseUp` runs the plan in a transaction rolled back at the end, and the repairs hold the
 * run lock. The file backups refuse a server database by capability, naming `pg_dump` and `pg_restore`.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, defineMigration } from "../drivers/pg.js";
export type { PgConnection, PgMigrationManagerProps } from "../drivers/pg.js";
export type { AsyncBatchHandler, AsyncMigrationContext } from "../core/async-batches.js";

/**
 * `stepwise-migrate/d1`: migrate a Cloudflare D1 database (`env.DB`) from a registry bundled into the
 * Worker. Every method returns a promise; each SQL migration is one atomic `batch()` with its history
 * row; transactional TypeScript migrations are refused. Of the safety nets, only the repairs run.
 *
 * @packageDocumentation
 */
export { MigrationManager, migrate, defineMigration } from "../drivers/d1.js";
export type { D1DatabaseLike } from "../drivers/d1.js";

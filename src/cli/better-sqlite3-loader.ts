/**
 * `stepwise-migrate/cli`'s default driver: better-sqlite3, imported statically, as an app that bundles its
 * own CLI needs (its bundler resolves the import; nothing is imported at run time). The stepwise bin
 * does not use this module: it loads every library, better-sqlite3 included, only when chosen.
 */
import Database from "better-sqlite3";
import { AsyncMigrationManager, MigrationManager } from "../drivers/better-sqlite3.js";
import { connectBetterSqlite3, type DriverLoader } from "./open-database.js";

/** Opens databases with better-sqlite3. */
export const betterSqlite3Loader: DriverLoader = async (_operation, mode) => connectBetterSqlite3({ Database, MigrationManager, AsyncMigrationManager }, mode);

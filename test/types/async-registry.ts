/**
 * Type-level test, checked by `npm run typecheck` and never run: a registry that `gen` wrote with
 * async migrations in it (its entries typed `readonly async: boolean`, exactly as `codegen/render.ts`
 * writes them, which `test/codegen-async.test.ts` checks) does not type-check with the sync
 * `migrate`/`MigrationManager` of any SQLite entry, and does with their `migrateAsync` and
 * `AsyncMigrationManager`. A registry without async migrations (this repo's own) still fits both.
 * Each `@ts-expect-error` fails the type check if the line below it stops being an error.
 */
import type { Database as BetterSqlite3Database } from "better-sqlite3";
import * as betterSqlite3 from "stepwise-migrate/better-sqlite3";
import * as bunSqlite from "stepwise-migrate/bun-sqlite";
import * as libsql from "stepwise-migrate/libsql";
import * as nodeSqlite from "stepwise-migrate/node-sqlite";
import * as sqlJs from "stepwise-migrate/sql-js";
import type { MigrationResult, ModuleMigrationEntry, SqlMigrationEntry } from "stepwise-migrate";
import { migrations as syncMigrations } from "../../generated/registry.js";

/** What `gen` declares for a registry with async migrations (see `renderRegistry`). */
type MigrationVersion = 1 | 2;
type RegistryEntry = (SqlMigrationEntry | ModuleMigrationEntry) & { readonly version: MigrationVersion; readonly async: boolean };
declare const asyncMigrations: readonly RegistryEntry[];

declare const betterDb: BetterSqlite3Database;
declare const nodeDb: nodeSqlite.DatabaseSync;
declare const bunDb: bunSqlite.Database;
declare const libsqlDb: libsql.Database;
declare const sqlJsDb: sqlJs.Database;

// @ts-expect-error the sync API refuses a registry with async migrations
betterSqlite3.migrate(betterDb, asyncMigrations);
// @ts-expect-error the sync API refuses a registry with async migrations
new betterSqlite3.MigrationManager(betterDb, asyncMigrations);
// @ts-expect-error the sync API refuses a registry with async migrations
nodeSqlite.migrate(nodeDb, asyncMigrations);
// @ts-expect-error the sync API refuses a registry with async migrations
new nodeSqlite.MigrationManager(nodeDb, asyncMigrations);
// @ts-expect-error the sync API refuses a registry with async migrations
bunSqlite.migrate(bunDb, asyncMigrations);
// @ts-expect-error the sync API refuses a registry with async migrations
new bunSqlite.MigrationManager(bunDb, asyncMigrations);
// @ts-expect-error the sync API refuses a registry with async migrations
libsql.migrate(libsqlDb, asyncMigrations);
// @ts-expect-error the sync API refuses a registry with async migrations
new libsql.MigrationManager(libsqlDb, asyncMigrations);
// @ts-expect-error the sync API refuses a registry with async migrations
sqlJs.migrate(sqlJsDb, asyncMigrations);
// @ts-expect-error the sync API refuses a registry with async migrations
new sqlJs.MigrationManager(sqlJsDb, asyncMigrations);

// The async API takes it, returns promises, and checks versions as the sync one does.
export const applied: Promise<MigrationResult> = betterSqlite3.migrateAsync(betterDb, asyncMigrations, { to: 2 });
// @ts-expect-error 3 is not a version of the registry
void betterSqlite3.migrateAsync(betterDb, asyncMigrations, { to: 3 });
const manager = new betterSqlite3.AsyncMigrationManager(betterDb, asyncMigrations);
export const up: Promise<MigrationResult> = manager.up({ to: 1 });
export const version: Promise<number> = manager.currentVersion();
// @ts-expect-error an async manager's results are promises, not values
export const notAValue: number = manager.currentVersion();
// @ts-expect-error 3 is not a version of the registry
void manager.down({ to: 3 });
void nodeSqlite.migrateAsync(nodeDb, asyncMigrations);
void new bunSqlite.AsyncMigrationManager(bunDb, asyncMigrations).up();
void libsql.migrateAsync(libsqlDb, asyncMigrations);
void new sqlJs.AsyncMigrationManager(sqlJsDb, asyncMigrations).status();

// A registry without async migrations fits both APIs.
betterSqlite3.migrate(betterDb, syncMigrations);
void betterSqlite3.migrateAsync(betterDb, syncMigrations);

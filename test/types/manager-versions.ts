/**
 * Type-level tests, checked by `npm run typecheck` and never run: `up({ to })` and `down({ to })`
 * accept only versions of the registry they were given. Each `@ts-expect-error` fails the type check
 * if the line below it stops being an error.
 */
import type { Database } from "better-sqlite3";
import { migrate as migratePg, MigrationManager as PgMigrationManager } from "stepwise-migrate/pg";
import type pg from "pg";
import { MigrationManager, baselineDatabase, migrate, rehearseUp, upWithBackup, verifySchema, type MigrationRegistry } from "../support/stepwise.js";
import { migrations, type MigrationVersion } from "../../generated/registry.js";

declare const db: Database;
const manager = new MigrationManager(db, migrations);

manager.up();
manager.up({ to: 1 });
manager.up({ to: 5 });
// @ts-expect-error 9999 is not a version of the registry (far out, so new example migrations keep this true)
manager.up({ to: 9999 });
// @ts-expect-error 0 is not a version; going to 0 is what down is for
manager.up({ to: 0 });
// @ts-expect-error a plain number could be anything
manager.up({ to: 3 as number });

manager.down();
manager.down({ steps: 2 });
manager.down({ to: 0 });
manager.down({ to: 4 });
// @ts-expect-error 9998 is not a version of the registry
manager.down({ to: 9998 });
// @ts-expect-error steps and to exclude each other
manager.down({ steps: 1, to: 2 });
manager.down({ to: 0, transaction: "all" });
manager.down({ steps: 2, transaction: "each" });
manager.down({ transaction: "all" });
// @ts-expect-error the transaction mode is "each" or "all"
manager.down({ to: 0, transaction: "one" });
// @ts-expect-error steps and to exclude each other with a transaction mode too
manager.down({ steps: 1, to: 2, transaction: "all" });

const latest: MigrationVersion = 5;
manager.up({ to: latest });
manager.planUp({ to: 2 });
// @ts-expect-error planning takes the same versions as running
manager.planDown({ to: 9997 });

migrate(db, migrations, { to: 3 });
// @ts-expect-error migrate checks the target too
migrate(db, migrations, { to: 9996 });

// The safety nets are functions that take the manager, and check versions the same way.
rehearseUp(manager, { to: 2 });
// @ts-expect-error rehearsing takes the same versions as running
rehearseUp(manager, { to: 6 });
// @ts-expect-error rehearsal moved out of planUp, so apps that never rehearse do not bundle it
manager.planUp({ rehearse: true });
baselineDatabase(manager, 5);
// @ts-expect-error 6 is not a version of the registry
baselineDatabase(manager, 6);
void upWithBackup(manager, { to: 4, backup: { directory: "backups" } });
// @ts-expect-error 6 is not a version of the registry
void upWithBackup(manager, { to: 6, backup: { directory: "backups" } });
// @ts-expect-error backups moved out of up
manager.up({ backup: { directory: "backups" } });
verifySchema(manager, { refuseDrift: true });
migrate(db, migrations, { verifySchema });
// @ts-expect-error verifySchema takes the function, so apps that do not verify do not bundle it
migrate(db, migrations, { verifySchema: true });

// A registry typed only as MigrationRegistry has no literal versions, so any number is accepted.
declare const untyped: MigrationRegistry;
new MigrationManager(db, untyped).up({ to: 42 });

// One verifySchema for every entry: pg's migrate takes the same function, and its overloads hand a
// pg manager's promise back.
declare const pool: pg.Pool;
void migratePg(pool, migrations, { verifySchema });
export const pgVerification: Promise<{ ok: boolean }> = verifySchema(new PgMigrationManager(pool, migrations));

/**
 * Type-level test, checked by `npm run typecheck` (and so by `npm run lint` and CI), not by
 * `npm test`: each driver entry's `defineMigration` hands `up(db)` and `down(db)` exactly that
 * driver's native connection, even though this program imports all five entries (the case that
 * turned a merged `MigrationConnections` into a union). Each `@ts-expect-error` fails the type check
 * if the line below it stops being an error.
 */
import type { Database as BetterSqlite3Database } from "better-sqlite3";
import type { Database as LibsqlDatabase } from "libsql";
import type { Database as SqlJsDatabase } from "sql.js";
import { defineMigration as defineBetterSqlite3 } from "stepwise-migrate/better-sqlite3";
import { defineMigration as defineBunSqlite, type Database as BunDatabase } from "stepwise-migrate/bun-sqlite";
import { defineMigration as defineLibsql } from "stepwise-migrate/libsql";
import { defineMigration as defineNodeSqlite, type DatabaseSync } from "stepwise-migrate/node-sqlite";
import { defineMigration as defineSqlJs } from "stepwise-migrate/sql-js";
import { defineMigration, type Database } from "stepwise-migrate";

/** True only when A and B are the same type; a plain mutual `extends` would accept `any` or a union member. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when `actual` is exactly `Expected`. */
declare function expectExactly<Expected>(): <Actual>(actual: Actual & (Equal<Actual, Expected> extends true ? unknown : never)) => void;

export const onBetterSqlite3 = defineBetterSqlite3({
  up(db) {
    expectExactly<BetterSqlite3Database>()(db);
  },
  down(db) {
    expectExactly<BetterSqlite3Database>()(db);
  },
});

export const onNodeSqlite = defineNodeSqlite({
  up(db) {
    expectExactly<DatabaseSync>()(db);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    // @ts-expect-error pragma() is better-sqlite3's; node:sqlite's DatabaseSync has none
    db.pragma("user_version");
  },
});

export const onBunSqlite = defineBunSqlite({
  up(db) {
    expectExactly<BunDatabase>()(db);
  },
});

export const onLibsql = defineLibsql({
  up(db) {
    expectExactly<LibsqlDatabase>()(db);
  },
});

export const onSqlJs = defineSqlJs({
  up(db) {
    expectExactly<SqlJsDatabase>()(db);
    // sql.js runs statements with run(); exec() returns result sets.
    db.run("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  },
  down(db) {
    // @ts-expect-error an sql.js connection is not node:sqlite's
    expectExactly<DatabaseSync>()(db);
  },
});

// The root entry stays generic: `db` is the connection the merged `MigrationConnections` names
// (better-sqlite3's here, whose entry this program imports), not a union of every driver.
export const onRoot = defineMigration({
  up(db) {
    expectExactly<Database>()(db);
    expectExactly<BetterSqlite3Database>()(db);
  },
});

// An async body is accepted on every entry (it runs through the async API, `migrateAsync`), with
// the same exact connection type as a sync one.
export const asyncOnNodeSqlite = defineNodeSqlite({
  async up(db) {
    expectExactly<DatabaseSync>()(db);
    await Promise.resolve();
  },
});
export const asyncOnLibsql = defineLibsql({ up: async (db) => expectExactly<LibsqlDatabase>()(db) });
export const asyncDownOnSqlJs = defineSqlJs({
  up() {},
  async down(db) {
    expectExactly<SqlJsDatabase>()(db);
  },
});
// A sync arrow that returns the connection (better-sqlite3's exec returns `this`) is still a sync body.
export const returnsConnection = defineBetterSqlite3({ up: (db) => db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)") });

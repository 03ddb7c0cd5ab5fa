/**
 * The physical floor: the same work as stepwise, written by hand against better-sqlite3. Same SQL, same
 * connection pragmas, the same history table, one transaction per migration with one tracking-row
 * insert (or one transaction for everything, to compare with `transaction: "all"`). Each side ends
 * with the same database, so the loop also keeps `PRAGMA user_version` equal to the newest version,
 * as stepwise does (DESIGN.md: "user_version mirrors the current version").
 */
import type BetterSqlite3 from "better-sqlite3";
import type { WorkloadMigration } from "./workload.js";

type Database = BetterSqlite3.Database;

/** A migration plus the checksum the registry gives it, so both sides store identical rows. */
export interface RawMigration extends WorkloadMigration {
  readonly checksum: string;
}

/** The history table, as stepwise creates it. */
export const CREATE_HISTORY = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  duration_ms INTEGER,
  state TEXT NOT NULL DEFAULT 'applied' CHECK (state IN ('applied', 'started'))
)`;

/** Applies every migration, each in its own transaction with its history row. */
export function applyRawPerMigration(db: Database, migrations: readonly RawMigration[]): void {
  db.exec(CREATE_HISTORY);
  const insert = db.prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms) VALUES (?, ?, ?, ?, ?)");
  for (const migration of migrations) {
    db.exec("BEGIN IMMEDIATE");
    db.exec(migration.upSql);
    insert.run(migration.version, migration.name, migration.checksum, new Date().toISOString(), 0);
    db.exec(`PRAGMA user_version = ${migration.version}`);
    db.exec("COMMIT");
  }
}

/** Applies every migration in one transaction. */
export function applyRawInOneTransaction(db: Database, migrations: readonly RawMigration[]): void {
  db.exec("BEGIN IMMEDIATE");
  db.exec(CREATE_HISTORY);
  const insert = db.prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms) VALUES (?, ?, ?, ?, ?)");
  for (const migration of migrations) {
    db.exec(migration.upSql);
    insert.run(migration.version, migration.name, migration.checksum, new Date().toISOString(), 0);
  }
  db.exec(`PRAGMA user_version = ${migrations.at(-1)?.version ?? 0}`);
  db.exec("COMMIT");
}

/** Reverts every migration, newest first, each in its own transaction with its history row. */
export function rollbackRawPerMigration(db: Database, migrations: readonly RawMigration[]): void {
  const remove = db.prepare("DELETE FROM schema_migrations WHERE version = ?");
  for (let i = migrations.length - 1; i >= 0; i--) {
    const migration = migrations[i]!;
    db.exec("BEGIN IMMEDIATE");
    db.exec(migration.downSql);
    remove.run(migration.version);
    db.exec(`PRAGMA user_version = ${migration.version - 1}`);
    db.exec("COMMIT");
  }
}

/** What an app that checks nothing would do at start-up: read the history once. */
export function readRawHistory(db: Database): unknown[] {
  return db.prepare("SELECT version, checksum FROM schema_migrations").all();
}

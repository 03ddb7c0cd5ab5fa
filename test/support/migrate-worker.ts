/**
 * A child process for crash tests: imports a generated registry, opens the database as an app would
 * (foreign keys on, the chosen journal mode), says "ready" and applies everything, announcing each
 * migration as it starts ("migrating N"). The parent kills it with SIGKILL at a random moment chosen
 * relative to those announcements, so kills land mid-series however fast this machine is.
 *
 * Usage: migrate-worker.ts <registry.ts> <database> <delete|wal>
 */
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { MigrationManager, type MigrationEvent } from "./stepwise.js";
import type { MigrationRegistry } from "../../src/core/types.js";

const [registryFile, databasePath, journalMode] = process.argv.slice(2);
const { migrations } = (await import(pathToFileURL(registryFile!).href)) as { migrations: MigrationRegistry };
const db = new Database(databasePath!);
db.pragma(`journal_mode = ${journalMode === "wal" ? "WAL" : "DELETE"}`);
db.pragma("foreign_keys = ON");
process.stdout.write("ready\n");
// Writes to a pipe are synchronous on Linux, so the parent sees the line before the migration runs.
const onEvent = (event: MigrationEvent) => {
  if (event.type === "migrating") process.stdout.write(`migrating ${event.version}\n`);
};
const result = new MigrationManager(db, migrations, { onEvent }).up();
db.close();
process.stdout.write(`done ${result.toVersion}\n`);

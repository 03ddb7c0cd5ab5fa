/**
 * A child process for crash tests: imports a generated registry, opens the database as an app would
 * (foreign keys on, the chosen journal mode), says "ready" and applies everything. The parent kills
 * it with SIGKILL at a random moment.
 *
 * Usage: migrate-worker.ts <registry.ts> <database> <delete|wal>
 */
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { MigrationManager } from "../../src/index.js";
import type { MigrationRegistry } from "../../src/types.js";

const [registryFile, databasePath, journalMode] = process.argv.slice(2);
const { migrations } = (await import(pathToFileURL(registryFile!).href)) as { migrations: MigrationRegistry };
const db = new Database(databasePath!);
db.pragma(`journal_mode = ${journalMode === "wal" ? "WAL" : "DELETE"}`);
db.pragma("foreign_keys = ON");
process.stdout.write("ready\n");
const result = new MigrationManager(db, migrations).up();
db.close();
process.stdout.write(`done ${result.toVersion}\n`);

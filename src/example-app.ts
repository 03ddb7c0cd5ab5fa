/**
 * This repo's example app: what `npm start` runs. It is the one file in `src/` that imports the
 * generated registry, and it is excluded from the published package.
 *
 * It does what an app does at start-up: open its database, apply pending migrations, go on. Here
 * "go on" means printing the status.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { migrations } from "../generated/registry.js";
import { createPalette, formatStatus } from "./cli/format.js";
import { migrate, MigrationManager } from "./entries/better-sqlite3.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const databasePath = path.join(repoRoot, "data", "app.db");
mkdirSync(path.dirname(databasePath), { recursive: true });

const db = new Database(databasePath);
db.pragma("journal_mode = WAL");
db.pragma("foreign_keys = ON");
try {
  migrate(db, migrations, { logger: console });
  const palette = createPalette(process.env, Boolean(process.stdout.isTTY));
  console.log("");
  console.log(formatStatus(new MigrationManager(db, migrations).status(), path.relative(repoRoot, databasePath), palette));
} finally {
  db.close();
}

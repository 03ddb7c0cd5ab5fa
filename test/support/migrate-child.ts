/**
 * Test support, run as a child process: `migrate-child.ts <registry.ts> <database> <barrier-dir> <id>`.
 * Loads the registry as an app would, signals that it is ready, waits until the parent releases every
 * child at once, then opens the database and calls `migrate`. Prints the versions it applied as JSON.
 */
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { migrate, type MigrationRegistry } from "./stepwise.js";

const [registryFile, databasePath, barrierDir, id] = process.argv.slice(2);
if (!registryFile || !databasePath || !barrierDir || !id) {
  process.stderr.write("usage: migrate-child.ts <registry.ts> <database> <barrier-dir> <id>\n");
  process.exit(2);
}

const { migrations } = (await import(pathToFileURL(registryFile).href)) as { migrations: MigrationRegistry };

writeFileSync(path.join(barrierDir, `ready-${id}`), "");
const releaseFile = path.join(barrierDir, "go");
const giveUpAt = Date.now() + 60_000;
const pause = new Int32Array(new SharedArrayBuffer(4));
while (!existsSync(releaseFile)) {
  if (Date.now() > giveUpAt) {
    process.stderr.write("the parent never released the barrier\n");
    process.exit(3);
  }
  Atomics.wait(pause, 0, 0, 2);
}

const db = new Database(databasePath);
try {
  const result = migrate(db, migrations);
  process.stdout.write(`${JSON.stringify(result.steps.map((step) => step.version))}\n`);
} finally {
  db.close();
}

/**
 * Test support, run as a child process: `libsql-migrate-child.ts <database> <go-file>`. Waits until
 * the parent creates `<go-file>`, so every child starts at once, then migrates `<database>` through
 * `stepwise/libsql` and prints the versions it applied as JSON.
 */
import { existsSync } from "node:fs";
import Database from "libsql";
import { migrate } from "../../src/entries/libsql.js";
import type { MigrationEntry } from "../../src/core/types.js";

const [databasePath, goFile] = process.argv.slice(2);
if (!databasePath || !goFile) throw new Error("usage: libsql-migrate-child.ts <database> <go-file>");

const base = { description: null, reversible: false, transaction: true, disableForeignKeys: false } as const;
/** Two SQL migrations around a slow one, so the children overlap while a write transaction is open. */
const registry: MigrationEntry[] = [
  { ...base, kind: "sql", version: 1, name: "contacts", file: "migrations/001_contacts.sql", checksum: "sha256:1", upSql: "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT);", downSql: null },
  {
    ...base,
    kind: "ts",
    version: 2,
    name: "slow",
    file: "migrations/002_slow.ts",
    checksum: "sha256:2",
    module: {
      up: (db: unknown) => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
        (db as Database.Database).exec("INSERT INTO contacts (name) VALUES ('once')");
      },
    },
  },
  { ...base, kind: "sql", version: 3, name: "notes", file: "migrations/003_notes.sql", checksum: "sha256:3", upSql: "CREATE TABLE notes (id INTEGER PRIMARY KEY);", downSql: null },
];

const giveUpAt = Date.now() + 30_000;
while (!existsSync(goFile)) {
  if (Date.now() > giveUpAt) throw new Error("the parent never said go");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
}
const db = new Database(databasePath);
try {
  const result = migrate(db, registry, { busyTimeoutMs: 10_000 });
  process.stdout.write(`${JSON.stringify(result.steps.map((step) => step.version))}\n`);
} finally {
  db.close();
}

/**
 * `"target": "d1"` in the config: `gen`, through the real bin, refuses a transactional TypeScript
 * migration (D1 cannot apply one atomically), naming the file, and writes no registry; SQL
 * migrations and `transaction: false` TypeScript ones pass. Without the setting nothing changes.
 */
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { buildRegistrySource } from "../codegen/generate.js";
import { createTestProject, runCli } from "./support/project.js";

const sqlMigration = "-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE notes;\n";
const tsMigration = (options: string) => `import { defineMigration } from "stepwise-migrate/d1";

export default defineMigration({${options}
  async up(db) {
    await db.prepare("UPDATE notes SET id = id").run();
  },
});
`;

test('gen refuses a transactional TypeScript migration for a D1 registry ("target": "d1"), naming the file, and writes nothing', { timeout: 120_000 }, async (t) => {
  const project = createTestProject(t);
  writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ target: "d1" }));
  project.writeMigration("001_notes.sql", sqlMigration);
  project.writeMigration("002_backfill.ts", tsMigration(""));
  const result = await runCli(["gen"], { cwd: project.root });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(result.stderr, /migrations\/002_backfill\.ts:1:1/);
  assert.match(result.stderr, /TS_MIGRATION_ON_D1/);
  assert.equal(existsSync(project.registryFile), false);
  // gen --check refuses it the same way (the cache must not hide it).
  const check = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(check.code, 1);
  assert.match(check.stderr, /TS_MIGRATION_ON_D1/);
});

test("gen for a D1 registry accepts SQL migrations and a TypeScript one marked transaction: false; without the target a TypeScript one passes", { timeout: 120_000 }, async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_notes.sql", sqlMigration);
  project.writeMigration("002_backfill.ts", tsMigration("\n  transaction: false,"));
  writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ target: "d1" }));
  const accepted = await runCli(["gen"], { cwd: project.root });
  assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
  assert.ok(existsSync(project.registryFile));

  const plain = createTestProject(t);
  plain.writeMigration("001_notes.sql", sqlMigration);
  plain.writeMigration("002_backfill.ts", tsMigration(""));
  const untargeted = await runCli(["gen"], { cwd: plain.root });
  assert.equal(untargeted.code, 0, untargeted.stdout + untargeted.stderr);
});

test("for a D1 registry, BEGIN and COMMIT in a transaction: false SQL migration are SQL_TRANSACTION_CONTROL at gen, since D1 refuses transaction control in any migration; without the target they pass", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_notes.sql", "-- migrate:up transaction:false\nBEGIN;\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\nCOMMIT;\n");
  const build = (target: "d1" | null) => buildRegistrySource({ projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, target });
  const refused = await build("d1");
  assert.equal(refused.ok, false);
  assert.deepEqual(
    refused.problems.map(({ code, file, line }) => [code, file, line]),
    [
      ["SQL_TRANSACTION_CONTROL", "migrations/001_notes.sql", 2],
      ["SQL_TRANSACTION_CONTROL", "migrations/001_notes.sql", 4],
    ],
  );
  assert.equal((await build(null)).ok, true);
});

test('a config "target" other than d1 is refused with the settings it may take', { timeout: 60_000 }, async (t) => {
  const project = createTestProject(t);
  writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ target: "workers-kv" }));
  project.writeMigration("001_notes.sql", sqlMigration);
  const result = await runCli(["gen"], { cwd: project.root });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /"target".*d1/);
  assert.equal(existsSync(project.registryFile), false);
});

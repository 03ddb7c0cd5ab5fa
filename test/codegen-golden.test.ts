/**
 * The golden test: the registry for test/fixtures/codegen/golden/ (TypeScript and SQL migrations,
 * a helpers/ folder, a README) must equal test/snapshots/golden-registry.ts byte for byte, and gen
 * must give the same bytes every time. To accept an intended change, run
 * `UPDATE_SNAPSHOTS=1 node --import tsx --test test/codegen-golden.test.ts` and review the diff
 * (see test/snapshots/README.md).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { buildRegistrySource } from "../codegen/generate.js";
import { MigrationManager } from "./support/stepwise.js";
import { createTestProject, fixturesDir, readBytes, repoRoot } from "./support/project.js";

const goldenFixture = path.join(fixturesDir, "codegen", "golden");
const snapshotFile = path.join(repoRoot, "test", "snapshots", "golden-registry.ts");
const updateSnapshots = process.env.UPDATE_SNAPSHOTS === "1";

test("the registry for the golden fixture equals the committed snapshot byte for byte", async () => {
  const built = await buildRegistrySource({ projectRoot: repoRoot, migrationsDir: goldenFixture, registryFile: snapshotFile });
  assert.ok(built.ok, "the golden fixture must be valid");
  if (updateSnapshots) writeFileSync(snapshotFile, built.source);
  const expected = readFileSync(snapshotFile);
  // The string comparison shows a readable diff; the byte comparison is the actual contract.
  assert.equal(built.source, expected.toString("utf8"), "gen's output changed; if intended, update the snapshot (test/snapshots/README.md)");
  assert.ok(Buffer.from(built.source, "utf8").equals(expected));

  const again = await buildRegistrySource({ projectRoot: repoRoot, migrationsDir: goldenFixture, registryFile: snapshotFile });
  assert.ok(again.ok);
  assert.equal(again.source, built.source);
});

test("gen twice gives identical bytes, and two projects with the same migrations get identical registries", async (t) => {
  const first = createTestProject(t, { fixture: "codegen/golden" });
  const second = createTestProject(t, { fixture: "codegen/golden" });

  assert.equal((await first.generate()).status, "written");
  const bytes = readBytes(first.registryFile);
  assert.equal((await first.generate()).status, "unchanged");
  assert.ok(readBytes(first.registryFile).equals(bytes));

  assert.equal((await second.generate()).status, "written");
  assert.ok(readBytes(second.registryFile).equals(bytes), "the registry must not depend on where the project lives");
});

test("the golden registry loads as an app imports it, keeps SQL text exact, and migrates a real database", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const migrations = await project.load();
  assert.deepEqual(
    migrations.map((m) => [m.version, m.name, m.kind, m.reversible, m.transaction, m.disableForeignKeys]),
    [
      [1, "create_contacts", "sql", true, true, false],
      [2, "add_preferences", "ts", true, true, false],
      [3, "vacuum", "sql", false, false, false],
      [4, "normalize_phones", "ts", false, true, false],
      [5, "escaping_in_sql", "sql", true, true, true],
    ],
  );
  const escaping = migrations[4]!;
  assert.ok(escaping.kind === "sql");
  const source = readFileSync(path.join(goldenFixture, "005_escaping_in_sql.sql"), "utf8");
  assert.equal(escaping.upSql, source.split("\n").slice(2, 4).join("\n"));
  assert.equal(escaping.description, "SQL that a template literal must escape: `backticks`, ${braces} and \\backslashes");

  const db = new Database(project.databasePath());
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);
  assert.equal(manager.up().steps.length, 5);
  assert.deepEqual(db.prepare("SELECT body FROM notes ORDER BY rowid").pluck().all(), ["a `quoted` word", "C:\\temp\\new"]);
});

test("the golden registry's entries give the exact SQL text and copy as plain objects", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const migrations = await project.load();
  for (const entry of migrations) {
    if (entry.kind !== "sql") {
      assert.equal(typeof entry.module.up, "function", `${entry.file}: a TypeScript entry carries its module`);
      continue;
    }
    const source = readFileSync(path.join(project.root, entry.file), "utf8");
    assert.ok(source.includes(entry.upSql), `${entry.file}: up SQL is the file's text`);
    assert.equal(entry.downSql === null, !entry.reversible);
    // Code that copies an entry (tests that tamper with one, tools that serialise it) gets the text.
    const copy = { ...entry };
    assert.equal(Object.getOwnPropertyDescriptor(copy, "upSql")?.value, entry.upSql);
    assert.equal(JSON.parse(JSON.stringify(entry)).downSql, entry.downSql);
  }
});

test("a no-op start reads no SQL text: migrate on an up-to-date database never calls a getter, and a plain entry that lies about its down is still refused", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  const migrations = await project.load();
  const db = new Database(project.databasePath());
  t.after(() => db.close());
  new MigrationManager(db, migrations).up();

  // The same entries, their SQL behind getters that fail the test when read.
  const reads: string[] = [];
  const trapped = migrations.map((entry) => {
    if (entry.kind !== "sql") return entry;
    const { upSql: _up, downSql: _down, ...hot } = entry;
    const trap = (field: string) => ({ enumerable: true, get: () => (reads.push(`${entry.version}.${field}`), null) });
    return Object.defineProperties(hot, { upSql: trap("upSql"), downSql: trap("downSql") }) as typeof entry;
  });
  const result = new MigrationManager(db, trapped).up();
  assert.equal(result.steps.length, 0);
  assert.deepEqual(reads, [], "the no-op start read SQL it never runs");

  // Plain fields are checked as before: a reversible flag without a down is REGISTRY_INVALID.
  const lying = migrations.map((entry) => (entry.kind === "sql" && entry.version === 1 ? { ...entry, downSql: null } : entry));
  assert.throws(() => new MigrationManager(db, lying), { code: "REGISTRY_INVALID" });
});

/**
 * What `gen` does to the registry file: nothing at all when it fails, an atomic replace when it
 * succeeds, and with `--check` a comparison that names the migrations that differ.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createTestProject, readBytes } from "./support/project.js";

const brokenTs = `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  *up(db) {\n    db.exec("SELECT 1");\n  },\n});\n`;

test("a failed gen leaves the previous registry unchanged byte for byte, with no temp files behind", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  assert.equal((await project.generate()).status, "written");
  const before = readBytes(project.registryFile);
  const generatedDir = path.dirname(project.registryFile);

  const failures: Array<[string, () => void]> = [
    ["an invalid new migration", () => project.writeMigration("006_broken.ts", brokenTs)],
    ["a duplicated version", () => project.writeMigration("005_again.sql", "-- migrate:up\nSELECT 1;\n")],
    ["a gap", () => project.writeMigration("009_later.sql", "-- migrate:up\nSELECT 1;\n")],
  ];
  for (const [what, breakIt] of failures) {
    breakIt();
    const result = await project.generate();
    assert.equal(result.status, "invalid", what);
    assert.equal(result.ok, false);
    assert.ok(readBytes(project.registryFile).equals(before), `${what}: the registry changed`);
    assert.deepEqual(readdirSync(generatedDir), ["registry.ts"], `${what}: files left in generated/`);
    for (const file of readdirSync(project.migrationsDir)) {
      if (/^(006_broken|005_again|009_later)/.test(file)) rmSync(path.join(project.migrationsDir, file));
    }
  }
  assert.equal((await project.generate()).status, "unchanged");
});

test("a gen whose formatter fails reports FORMATTER_FAILED and leaves the previous registry unchanged", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  await project.generate();
  const before = readBytes(project.registryFile);
  project.writeMigration("006_more.sql", "-- migrate:up\nCREATE TABLE more (id INTEGER);\n");
  writeFileSync(path.join(project.root, ".prettierrc.json"), "{ this is not json");
  // The formatter failed, not the migrations: one problem at the broken config, no exception.
  const result = await project.generate();
  assert.equal(result.ok, false);
  assert.deepEqual(
    result.problems.map((p) => [p.code, p.file]),
    [["FORMATTER_FAILED", ".prettierrc.json"]],
  );
  assert.ok(readBytes(project.registryFile).equals(before));
  assert.deepEqual(readdirSync(path.dirname(project.registryFile)), ["registry.ts"]);
});

test("a successful gen replaces the registry and leaves only it in generated/", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  await project.generate();
  const before = readBytes(project.registryFile);
  project.writeMigration("006_more.sql", "-- migrate:up\nCREATE TABLE more (id INTEGER);\n");
  const result = await project.generate();
  assert.equal(result.status, "written");
  assert.equal(result.latestVersion, 6);
  assert.ok(!readBytes(project.registryFile).equals(before));
  assert.deepEqual(readdirSync(path.dirname(project.registryFile)), ["registry.ts"]);
});

test("a registry path that cannot be read is reported, not thrown", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  mkdirSync(project.registryFile, { recursive: true });
  for (const check of [false, true]) {
    const result = await project.generate({ check });
    assert.deepEqual(
      result.problems.map((p) => [p.code, p.file, p.line, p.column]),
      [["REGISTRY_UNREADABLE", "generated/registry.ts", 1, 1]],
    );
  }
});

test("a registry path that cannot be read is reported with the migrations' own problems, so one run shows everything to fix", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  mkdirSync(project.registryFile, { recursive: true });
  project.writeMigration("009_later.sql", "-- migrate:up\nSELECT 1;\n");
  const result = await project.generate({ check: true });
  const codes = result.problems.map((p) => p.code);
  assert.equal(codes[0], "REGISTRY_UNREADABLE");
  assert.ok(codes.length > 1, codes.join(", "));
  assert.ok(
    result.problems.slice(1).every((p) => p.file !== "generated/registry.ts"),
    codes.join(", "),
  );
});

test("--check names exactly the migrations that differ, whatever quotes the project's prettier config uses", async (t) => {
  const project = createTestProject(t, { fixture: "codegen/golden" });
  writeFileSync(path.join(project.root, ".prettierrc.json"), JSON.stringify({ singleQuote: true, printWidth: 100 }));
  await project.generate();
  assert.equal((await project.generate({ check: true })).status, "unchanged");

  const stale = async () => {
    const result = await project.generate({ check: true });
    assert.equal(result.status, "stale");
    return result.problems.map((p) => [p.code, p.file]);
  };

  project.writeMigration("006_added.sql", "-- migrate:up\nCREATE TABLE added (id INTEGER);\n");
  assert.deepEqual(await stale(), [["REGISTRY_STALE", "migrations/006_added.sql"]]);
  rmSync(path.join(project.migrationsDir, "006_added.sql"));

  // Only the description comment changes: outside the checksum, yet the registry is stale.
  const first = path.join(project.migrationsDir, "001_create_contacts.sql");
  const original = readBytes(first);
  writeFileSync(first, original.toString("utf8").replace("-- description: Contacts", "-- description: People"));
  assert.deepEqual(await stale(), [["REGISTRY_STALE", "migrations/001_create_contacts.sql"]]);
  writeFileSync(first, original);

  renameSync(path.join(project.migrationsDir, "003_vacuum.sql"), path.join(project.migrationsDir, "003_compact.sql"));
  assert.deepEqual(await stale(), [
    ["REGISTRY_STALE", "generated/registry.ts"],
    ["REGISTRY_STALE", "migrations/003_compact.sql"],
  ]);
});

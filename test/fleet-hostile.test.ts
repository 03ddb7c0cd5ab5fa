/**
 * `stepwise fleet` and `migrateMany` against what a hostile fleet holds: links that make one file
 * two ids or a folder its own child, a `--concurrency` far above the number of databases, and a
 * migration that ends the worker thread it runs on. Each database is counted once, the run costs
 * what its databases cost, and one database's crash is that database's failure, not the run's.
 */
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager } from "../src/entries/better-sqlite3.js";
import { migrateMany } from "../src/index.js";
import { jsonOutput, runInProcess } from "./support/in-process-cli.js";
import { createTestProject, makeTempDir, runCli } from "./support/project.js";
import { namedSqlEntry } from "./support/registry-builders.js";

const registry = [namedSqlEntry(1, "create_items", "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT);")];

type Json = Record<string, unknown> & { targets: Array<Record<string, unknown> & { id: string; error: { code: string } | null }> };
const ids = (report: Json) => report.targets.map((target) => target.id);

test("--db counts each file once: a link to a file or to a folder above it adds no second id, and a link loop under ** ends", async (t) => {
  const cwd = makeTempDir(t);
  mkdirSync(path.join(cwd, "tenants", "eu"), { recursive: true });
  for (const file of ["tenants/a.db", "tenants/eu/b.db"]) writeFileSync(path.join(cwd, file), "");
  symlinkSync(path.join(cwd, "tenants", "a.db"), path.join(cwd, "tenants", "alias.db"));
  symlinkSync(".", path.join(cwd, "tenants", "self"));
  symlinkSync("..", path.join(cwd, "tenants", "eu", "up"));
  const status = async (pattern: string) => jsonOutput<Json>(await runInProcess({ migrations: registry, cwd }, ["fleet", "status", "--db", pattern, "--json"]));
  assert.deepEqual(ids(await status("tenants/*.db")), ["tenants/a.db"]);
  assert.deepEqual(ids(await status("tenants/**/*.db")), ["tenants/a.db", "tenants/eu/b.db"]);
  assert.deepEqual(ids(await status("**/eu/**/*.db")), ["tenants/eu/b.db", "tenants/eu/up/a.db"], "a second ** still looks where the first one went");
  const up = jsonOutput<Json>(await runInProcess({ migrations: registry, cwd }, ["fleet", "up", "--db", "tenants/**/*.db", "--json"]));
  assert.deepEqual([up.total, up.migrated, up.applied], [2, 2, 2]);
});

test("a concurrency far above the number of databases costs no more than the databases do", async (t) => {
  const dir = makeTempDir(t);
  const opened = { now: 0, most: 0 };
  const report = await migrateMany(
    ["a", "b", "c"],
    (id) => {
      opened.most = Math.max(opened.most, ++opened.now);
      return new MigrationManager(new Database(path.join(dir, `${id}.db`)), registry);
    },
    { concurrency: 2 ** 40, close: (manager) => (opened.now--, manager.db.close()) },
  );
  assert.deepEqual([report.ok, report.targets.length, opened.most <= 3], [true, 3, true]);
  mkdirSync(path.join(dir, "tenants"));
  writeFileSync(path.join(dir, "tenants", "a.db"), "");
  const cli = jsonOutput<Json>(await runInProcess({ migrations: registry, cwd: dir }, ["fleet", "up", "--db", "tenants/*.db", "--concurrency", "1000000000", "--json"]));
  assert.deepEqual([cli.ok, cli.migrated], [true, 1]);
});

test("a migration that ends its worker thread fails only its own database: the others are migrated on a fresh worker, and it is left at its last committed version", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n");
  project.writeMigration(
    "002_exits.ts",
    'import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up(db: { name: string; exec(sql: string): void }) { if (db.name.includes("exits")) process.exit(3); db.exec("ALTER TABLE items ADD COLUMN tag TEXT"); } });\n',
  );
  await project.generateAsBin();
  mkdirSync(path.join(project.root, "tenants"));
  const names = ["a", "b", "exits-1", "exits-2", "x", "y"];
  for (const name of names) writeFileSync(path.join(project.root, "tenants", `${name}.db`), "");
  const run = await runCli(["fleet", "up", "--db", "tenants/*.db", "--concurrency", "2", "--json"], { cwd: project.root });
  assert.equal(run.code, 1, run.stderr);
  const first = JSON.parse(run.stdout) as Json & { targets: Array<{ id: string; ok: boolean; toVersion: number | null; error: { code: string } | null }> };
  assert.deepEqual([first.venue, first.failed, first.stopped], ["workers", 2, null]);
  assert.deepEqual(
    first.targets.map((target) => [target.id, target.ok, target.error?.code ?? target.toVersion]),
    names.map((name) => (name.startsWith("exits") ? [`tenants/${name}.db`, false, "UNEXPECTED"] : [`tenants/${name}.db`, true, 2])),
  );
  for (const name of ["exits-1", "exits-2"]) {
    const db = new Database(path.join(project.root, "tenants", `${name}.db`));
    assert.deepEqual(db.prepare("SELECT version FROM schema_migrations").all(), [{ version: 1 }], `${name}: its first migration kept, the second not applied`);
    db.close();
  }
});

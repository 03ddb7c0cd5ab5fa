/**
 * `stepwise adopt` run again after the old tool ran again on its kept table (Knex itself, on SQLite and PostgreSQL; Umzug's history file): what it applied since is recorded, checked as the first adoption checks, so `up` never runs
 * it a second time; a rollback by the tool, or both tools migrating since, is `ADOPT_HISTORY_CHANGED` with a fix that works. The bin in-process; asserts codes and fields.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import knex from "knex";
import { migrateWithKnex, migrateWithUmzug, storageOf } from "./support/js-tool-migrators.js";
import { cliOn, jsToolProject, newTarget, type Json, type Target } from "./support/js-tool-import.js";
import { runCli } from "./support/project.js";

const FILES: Record<string, string> = {
  "20240101_accounts.cjs": `exports.up = (knex) => knex.schema.createTable("accounts", (t) => { t.increments("id"); t.integer("cents"); });
exports.down = (knex) => knex.schema.dropTable("accounts");
`,
  "20240102_seed.cjs": `exports.up = (knex) => knex("accounts").insert([{ cents: 100 }, { cents: 250 }]);
exports.down = (knex) => knex("accounts").del();
`,
  "20240103_to_millis.cjs": `exports.up = (knex) => knex("accounts").update({ cents: knex.raw("cents * 10") });
exports.down = (knex) => knex("accounts").update({ cents: knex.raw("cents / 10") });
`,
};

const knexCase = {
  tool: "knex",
  dialect: "sqlite",
  files: FILES,
  packages: ["knex"],
  toolTables: ["knex_migrations", "knex_migrations_lock"],
  migrate: migrateWithKnex,
} as const;

/** A project with the Knex folder imported and generated, and a database Knex migrated to `count`. */
async function imported(t: TestContext, count: number) {
  const { project, dir } = jsToolProject(t, knexCase);
  const target = (await newTarget(t, project, "sqlite", "app")) as Target & { file: string };
  await migrateWithKnex(target, dir, count);
  const run = await runCli(["import", "knex", "knex-migrations", "--yes"], { cwd: project.root });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  await project.generateAsBin();
  const cli = (...args: string[]) => cliOn(project, target, ...args);
  return { project, dir, target, cli };
}

/** Knex's own migrator on the database: `up` applies its next migration, `down` rolls back its newest. */
async function knexStep(target: Target & { file: string }, dir: string, step: "up" | "down"): Promise<void> {
  const db = knex({ client: "better-sqlite3", connection: { filename: target.file }, useNullAsDefault: true, migrations: { directory: dir } });
  try {
    await db.migrate[step]();
  } finally {
    await db.destroy();
  }
}

const cents = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT cents FROM accounts ORDER BY id").all() as { cents: number }[]).map((row) => row.cents);
  } finally {
    db.close();
  }
};

const stepwiseVersions = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT version FROM schema_migrations ORDER BY version").all() as { version: number }[]).map((row) => row.version);
  } finally {
    db.close();
  }
};

test("the old tool applies another migration after adopt: adopt again records it (not alreadyAdopted), up runs nothing, and the table can then be dropped", async (t) => {
  const { dir, target, cli } = await imported(t, 2);
  const first = await cli("adopt");
  assert.deepEqual([first.code, first.json.version, first.json.alreadyAdopted], [0, 2, false]);
  await knexStep(target, dir, "up");
  assert.deepEqual(cents(target.file), [1000, 2500]);

  const again = await cli("adopt");
  assert.equal(again.code, 0, JSON.stringify(again.json));
  assert.deepEqual([again.json.version, again.json.recorded, again.json.alreadyAdopted, again.json.oldTableDropped], [3, [3], false, false]);
  assert.deepEqual(stepwiseVersions(target.file), [1, 2, 3]);
  const status = await cli("status");
  assert.deepEqual([status.json.currentVersion, status.json.pendingCount], [3, 0]);
  assert.equal((await cli("up")).code, 0);
  assert.deepEqual(cents(target.file), [1000, 2500]);
  assert.equal((await cli("verify")).json.ok, true);

  const third = await cli("adopt", "--drop-old-table");
  assert.deepEqual([third.code, third.json.version, third.json.alreadyAdopted, third.json.oldTableDropped], [0, 3, true, true]);
});

test("the old tool applies more after adopt and --drop-old-table is asked: recorded, then dropped, in one run", async (t) => {
  const { dir, target, cli } = await imported(t, 1);
  assert.equal((await cli("adopt")).json.version, 1);
  await knexStep(target, dir, "up");
  await knexStep(target, dir, "up");
  const again = await cli("adopt", "--drop-old-table");
  assert.equal(again.code, 0, JSON.stringify(again.json));
  assert.deepEqual([again.json.version, again.json.recorded, again.json.oldTableDropped], [3, [2, 3], true]);
  assert.deepEqual(stepwiseVersions(target.file), [1, 2, 3]);
  assert.equal((await cli("verify")).json.ok, true);
});

test("the old tool records a migration the map lacks after adopt: ADOPT_UNKNOWN_MIGRATION, as the first adoption refuses it, nothing written", async (t) => {
  const { target, cli } = await imported(t, 2);
  assert.equal((await cli("adopt")).json.version, 2);
  const db = new Database(target.file);
  db.prepare("INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('20240109_other.cjs', 3, 0)").run();
  db.close();
  const again = await cli("adopt");
  assert.equal(again.code, 1);
  assert.deepEqual([again.json.error.code, again.json.error.ids], ["ADOPT_UNKNOWN_MIGRATION", ["20240109_other.cjs"]]);
  assert.deepEqual(stepwiseVersions(target.file), [1, 2]);
});

test("the old tool rolls back after adopt: ADOPT_HISTORY_CHANGED (not alreadyAdopted), nothing written; migrating forward with the tool, as the fix says, makes adopt agree", async (t) => {
  const { dir, target, cli } = await imported(t, 3);
  assert.equal((await cli("adopt")).json.version, 3);
  await knexStep(target, dir, "down");
  const refused = await cli("adopt");
  assert.equal(refused.code, 1);
  const error = refused.json.error as Json;
  assert.deepEqual([error.code, error.table, error.adoptedVersion, error.toolVersion, error.currentVersion], ["ADOPT_HISTORY_CHANGED", "knex_migrations", 3, 2, 3]);
  assert.match(error.fix, /forward with the old tool to version 3/);
  assert.deepEqual(stepwiseVersions(target.file), [1, 2, 3]);
  await knexStep(target, dir, "up");
  const agreed = await cli("adopt");
  assert.deepEqual([agreed.code, agreed.json.version, agreed.json.alreadyAdopted], [0, 3, true]);
  assert.deepEqual(cents(target.file), [1000, 2500]);
});

test("both stepwise and the old tool migrated after adopt: ADOPT_HISTORY_CHANGED naming all three versions, nothing written; deleting the tool's later rows, as the fix says, makes adopt agree", async (t) => {
  const { dir, target, cli } = await imported(t, 1);
  assert.equal((await cli("adopt")).json.version, 1);
  assert.equal((await cli("up", "--to", "2")).code, 0);
  await knexStep(target, dir, "up");
  const refused = await cli("adopt");
  assert.equal(refused.code, 1);
  const error = refused.json.error as Json;
  assert.deepEqual([error.code, error.adoptedVersion, error.toolVersion, error.currentVersion], ["ADOPT_HISTORY_CHANGED", 1, 2, 2]);
  assert.match(error.fix, /delete the rows the old tool recorded after the adoption/);
  assert.deepEqual(stepwiseVersions(target.file), [1, 2]);
  const db = new Database(target.file);
  db.prepare("DELETE FROM knex_migrations WHERE name = '20240102_seed.cjs'").run();
  db.close();
  assert.deepEqual((await cli("adopt")).json.alreadyAdopted, true);
});

test("a database baseline recorded leaving out Knex's tables, migrated by Knex since: adopt records what Knex applied after the baseline, so up runs nothing again", async (t) => {
  const { dir, target, cli } = await imported(t, 1);
  const baselined = await cli("baseline", "1", "--old-table", "knex_migrations", "--old-table", "knex_migrations_lock");
  assert.equal(baselined.code, 0, JSON.stringify(baselined.json));
  await knexStep(target, dir, "up");
  const adopted = await cli("adopt");
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.deepEqual([adopted.json.version, adopted.json.recorded, adopted.json.alreadyAdopted, adopted.json.oldTable], [2, [2], false, '"knex_migrations"']);
  assert.deepEqual(stepwiseVersions(target.file), [1, 2]);
  assert.equal((await cli("up", "--to", "2")).code, 0);
  assert.deepEqual(cents(target.file), [100, 250]);
  const again = await cli("adopt");
  assert.deepEqual([again.code, again.json.version, again.json.alreadyAdopted], [0, 2, true]);
  assert.equal((await cli("verify")).json.ok, true);
});

test("adopt on a database whose stepwise history no adoption from the tool recorded (a forced baseline): ALREADY_MANAGED naming the tool, with no advice to run up blindly", async (t) => {
  const { dir, target, cli } = await imported(t, 1);
  assert.equal((await cli("baseline", "1", "--force")).code, 0);
  await knexStep(target, dir, "up");
  const refused = await cli("adopt");
  assert.equal(refused.code, 1);
  const error = refused.json.error as Json;
  assert.deepEqual([error.code, error.adoptFrom, error.currentVersion], ["ALREADY_MANAGED", "knex", 1]);
  assert.doesNotMatch(error.message, /baseline only adopts/);
  assert.match(error.fix, /"stepwise verify[^"]*" first/);
  assert.deepEqual(stepwiseVersions(target.file), [1]);
});

test("Umzug's JSONStorage file, named again with --history-file after Umzug ran once more: adopt records what it applied since", async (t) => {
  const files = {
    "1_accounts.cjs": `exports.up = async ({ context }) => context.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, cents INTEGER)");
exports.down = async ({ context }) => context.exec("DROP TABLE accounts");
`,
    "2_seed.cjs": `exports.up = async ({ context }) => context.exec("INSERT INTO accounts (cents) VALUES (100), (250)");
exports.down = async ({ context }) => context.exec("DELETE FROM accounts");
`,
    "3_to_millis.cjs": `exports.up = async ({ context }) => context.exec("UPDATE accounts SET cents = cents * 10");
exports.down = async ({ context }) => context.exec("UPDATE accounts SET cents = cents / 10");
`,
  };
  const { project, dir } = jsToolProject(t, { ...knexCase, tool: "umzug", files, packages: ["umzug"], toolTables: [], migrate: migrateWithUmzug });
  const target = (await newTarget(t, project, "sqlite", "app")) as Target & { file: string };
  await migrateWithUmzug(target, dir, 2);
  const run = await runCli(["import", "umzug", "umzug-migrations", "--yes"], { cwd: project.root });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  await project.generateAsBin();
  const adopt = () => cliOn(project, target, "adopt", "--history-file", storageOf(target));
  assert.equal((await adopt()).json.version, 2);
  await migrateWithUmzug(target, dir);
  const again = await adopt();
  assert.equal(again.code, 0, JSON.stringify(again.json));
  assert.deepEqual([again.json.version, again.json.recorded, again.json.alreadyAdopted], [3, [3], false]);
  assert.equal((await cliOn(project, target, "up")).code, 0);
  assert.deepEqual(cents(target.file), [1000, 2500]);
  assert.deepEqual([(await adopt()).json.alreadyAdopted, stepwiseVersions(target.file)], [true, [1, 2, 3]]);
});

test("on PostgreSQL: Knex applies another migration after adopt; adopt again records it under the lock on Knex's table, and up runs nothing", async (t) => {
  const { project, dir } = jsToolProject(t, { ...knexCase, dialect: "postgres" });
  const target = await newTarget(t, project, "postgres", "app");
  await migrateWithKnex(target, dir, 2);
  const run = await runCli(["import", "knex", "knex-migrations", "--yes"], { cwd: project.root });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  await project.generateAsBin();
  assert.equal((await cliOn(project, target, "adopt")).json.version, 2);
  await migrateWithKnex(target, dir);
  const again = await cliOn(project, target, "adopt");
  assert.equal(again.code, 0, JSON.stringify(again.json));
  assert.deepEqual([again.json.version, again.json.recorded, again.json.alreadyAdopted], [3, [3], false]);
  const status = await cliOn(project, target, "status");
  assert.deepEqual([status.json.currentVersion, status.json.pendingCount], [3, 0]);
  assert.equal((await cliOn(project, target, "adopt", "--drop-old-table")).json.oldTableDropped, true);
});

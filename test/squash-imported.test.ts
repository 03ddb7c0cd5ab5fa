/**
 * `stepwise squash` on a history `stepwise import` wrote, with databases the old tool migrated: `adopt` of one the tool left inside the squashed versions is `DATABASE_INSIDE_SQUASH` (at every version
 * inside, never `INVALID_TARGET`), one at K or past it is adopted and runs on; and what docs/adopting.md says may be deleted after the squash (the originals at or below K, the map once every
 * database is adopted) can be, with `gen --check` passing and a fresh and an adopted database still migrating, while the helper must stay as long as a wrapper imports it. Real files, real
 * git, Knex itself, the bin in-process; asserts codes and fields.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import knex from "knex";
import { commitAll, gitUnavailableReason, initRepository } from "./support/git-repo.js";
import { cliOn, jsToolProject, type Json, type Target } from "./support/js-tool-import.js";
import { createTestProject, fixturesDir, runCli, type TestProject } from "./support/project.js";

const skipGit = gitUnavailableReason() ?? false;

/** Deletes the `-- stepwise:review` lines, as a user does once they have read them. */
function resolveReviews(file: string): void {
  writeFileSync(
    file,
    readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => !line.startsWith("-- stepwise:review"))
      .join("\n"),
  );
}

/** Commits the import, squashes 1..`to`, reads the notes and regenerates: the squash a team commits. Returns squash's JSON. */
async function squashImported(project: TestProject, to: number, first = true): Promise<Json> {
  if (first) {
    writeFileSync(path.join(project.root, ".gitignore"), "node_modules\n*.db\n");
    initRepository(project.root);
    commitAll(project.root, "imported history");
  }
  const squashed = await runCli(["squash", "--to", String(to), "--yes", "--json"], { cwd: project.root });
  assert.equal(squashed.code, 0, squashed.stdout + squashed.stderr);
  const plan = JSON.parse(squashed.stdout) as Json;
  resolveReviews(path.join(project.root, plan.file as string));
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  await assertGenCheckPasses(project);
  return plan;
}

async function assertGenCheckPasses(project: TestProject): Promise<void> {
  const checked = await runCli(["gen", "--check", "--json"], { cwd: project.root });
  assert.equal(checked.code, 0, checked.stdout + checked.stderr);
}

/** A database Diesel migrated to its `count`th migration: each up.sql run, and its history table written as Diesel writes it. */
function buildAsDiesel(project: TestProject, imported: Json, count: number): string {
  const file = project.databasePath(`diesel-${count}.db`);
  const db = new Database(file);
  db.exec("CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)");
  for (const migration of (imported.migrations as Json[]).slice(0, count)) {
    db.exec(readFileSync(path.join(project.root, "diesel-migrations", migration.originalId as string, "up.sql"), "utf8"));
    db.prepare("INSERT INTO __diesel_schema_migrations (version) VALUES (?)").run(migration.history.version);
  }
  db.close();
  return file;
}

/** A Diesel history imported (5 migrations) and committed, before the squash. */
async function importedDiesel(t: TestContext): Promise<{ project: TestProject; imported: Json }> {
  const project = createTestProject(t);
  cpSync(path.join(fixturesDir, "import", "diesel"), path.join(project.root, "diesel-migrations"), { recursive: true });
  const run = await runCli(["import", "diesel", "diesel-migrations", "--empty-down", "no-op", "--yes", "--json"], { cwd: project.root });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  await project.generateAsBin();
  return { project, imported: JSON.parse(run.stdout) as Json };
}

const diesel = (database: string): Target => ({ dialect: "sqlite", file: database });

test("adopt of a database Diesel left inside a squash is DATABASE_INSIDE_SQUASH at every version inside, writing nothing; at K and past K it is adopted and runs on", { skip: skipGit }, async (t) => {
  const { project, imported } = await importedDiesel(t);
  // Made by the old tool before the squash, as the databases in use are.
  const databases = [1, 2, 3, 4].map((count) => buildAsDiesel(project, imported, count));
  const plan = await squashImported(project, 3);
  assert.equal(plan.file, "migrations/003_squash_1_to_3.sql");
  for (const [index, database] of databases.entries()) {
    const version = index + 1;
    const adopted = await cliOn(project, diesel(database), "adopt");
    if (version < 3) {
      assert.equal(adopted.code, 1, JSON.stringify(adopted.json));
      const error = adopted.json.error as Json;
      assert.deepEqual([error.code, error.version, error.squashVersion, error.file], ["DATABASE_INSIDE_SQUASH", version, 3, plan.file]);
      // Nothing written: no history table of stepwise's, no adoption record.
      const db = new Database(database, { readonly: true });
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'stepwise%'").all();
      db.close();
      assert.deepEqual(tables, [], `version ${version}`);
      continue;
    }
    assert.equal(adopted.code, 0, JSON.stringify(adopted.json) + adopted.stderr);
    assert.equal(adopted.json.version, version);
    assert.equal((await cliOn(project, diesel(database), "up")).code, 0);
    assert.equal((await cliOn(project, diesel(database), "verify")).json.ok, true, `version ${version}`);
  }
});

test(
  "docs/adopting.md, after squashing a SQL import: the tool's folder and, once every database is adopted, the map can be deleted; gen --check passes and databases run on",
  { skip: skipGit },
  async (t) => {
    const { project, imported } = await importedDiesel(t);
    const adopted = buildAsDiesel(project, imported, 4);
    assert.equal((await cliOn(project, diesel(adopted), "adopt")).code, 0);
    await squashImported(project, 3);
    // Import copied the SQL: nothing of stepwise's reads the tool's folder again, below K or above it.
    rmSync(path.join(project.root, "diesel-migrations"), { recursive: true });
    rmSync(path.join(project.migrationsDir, "stepwise-import-map.json"));
    await assertGenCheckPasses(project);
    assert.equal((await cliOn(project, diesel(adopted), "up")).code, 0);
    assert.equal((await cliOn(project, diesel(adopted), "verify")).json.ok, true);
    const fresh = project.databasePath("fresh.db");
    assert.equal((await cliOn(project, diesel(fresh), "up")).code, 0);
    assert.equal((await cliOn(project, diesel(fresh), "verify")).json.ok, true);
  },
);

/** Knex's folder: four migrations, which Knex runs in this order (its names sort so). */
const KNEX_FILES: Record<string, string> = {
  "1_create_users.js": `export async function up(knex) {\n  await knex.schema.createTable("users", (table) => {\n    table.increments("id");\n    table.string("name").notNullable();\n  });\n}\nexport async function down(knex) {\n  await knex.schema.dropTable("users");\n}\n`,
  "2_create_posts.js": `export async function up(knex) {\n  await knex.schema.createTable("posts", (table) => {\n    table.increments("id");\n    table.integer("user_id").references("id").inTable("users");\n  });\n}\nexport async function down(knex) {\n  await knex.schema.dropTable("posts");\n}\n`,
  "3_add_email.js": `export const up = (knex) => knex.schema.alterTable("users", (table) => table.string("email"));\nexport const down = (knex) => knex.schema.alterTable("users", (table) => table.dropColumn("email"));\n`,
  "4_create_tags.js": `export const up = (knex) => knex.schema.createTable("tags", (table) => table.increments("id"));\nexport const down = (knex) => knex.schema.dropTable("tags");\n`,
};

/** Runs gen --check with `file` deleted, asserting it fails at `wrapper` for the import it lacks; then puts the file back. */
async function assertNeededBy(project: TestProject, file: string, wrapper: string): Promise<void> {
  const bytes = readFileSync(file);
  rmSync(file);
  const broken = await runCli(["gen", "--check", "--json"], { cwd: project.root });
  writeFileSync(file, bytes);
  assert.equal(broken.code, 1, broken.stdout);
  assert.deepEqual(
    (JSON.parse(broken.stdout) as Json).problems.map((problem: Json) => [problem.code, problem.file]),
    [["TS_IMPORT_NOT_FOUND", wrapper]],
  );
}

test(
  "docs/adopting.md, after squashing a Knex import: the originals at or below K and the map can go; the originals above K and lib/stepwise-knex.ts stay while a wrapper imports them",
  { skip: skipGit },
  async (t) => {
    const { project, dir } = jsToolProject(t, { tool: "knex", dialect: "sqlite", files: KNEX_FILES, packages: ["knex"], toolTables: [], migrate: () => Promise.resolve([]) });
    const [database, other] = [project.databasePath("knex.db"), project.databasePath("other.db")];
    for (const filename of [database, other]) {
      const db = knex({ client: "better-sqlite3", connection: { filename }, useNullAsDefault: true, migrations: { directory: dir } });
      await db.migrate.latest();
      await db.destroy();
    }
    const imported = await runCli(["import", "knex", "knex-migrations", "--yes"], { cwd: project.root });
    assert.equal(imported.code, 0, imported.stdout + imported.stderr);
    await project.generateAsBin();
    const target: Target = { dialect: "sqlite", file: database };
    const map = path.join(project.migrationsDir, "stepwise-import-map.json");
    const mapText = readFileSync(map, "utf8");
    assert.equal((await cliOn(project, target, "adopt")).json.version, 4);
    await squashImported(project, 3);
    for (const file of ["1_create_users.js", "2_create_posts.js", "3_add_email.js"]) rmSync(path.join(dir, file));
    // The map's entries cannot go one by one: adopt reads it whole, so a database still to adopt needs all of it.
    const parsed = JSON.parse(mapText) as Json;
    writeFileSync(map, JSON.stringify({ ...parsed, migrations: (parsed.migrations as Json[]).slice(3) }));
    assert.equal((await cliOn(project, { dialect: "sqlite", file: other }, "adopt")).json.error.code, "ADOPT_MAP_INVALID");
    writeFileSync(map, mapText);
    assert.equal((await cliOn(project, { dialect: "sqlite", file: other }, "adopt")).json.version, 4);
    rmSync(map);
    await assertGenCheckPasses(project);
    const fresh: Target = { dialect: "sqlite", file: project.databasePath("fresh.db") };
    assert.equal((await cliOn(project, fresh, "up")).code, 0);
    assert.equal((await cliOn(project, fresh, "verify")).json.ok, true);
    assert.equal((await cliOn(project, target, "verify")).json.ok, true);
    const helper = path.join(project.migrationsDir, "lib", "stepwise-knex.ts");
    await assertNeededBy(project, helper, "migrations/004_create_tags.ts");
    await assertNeededBy(project, path.join(dir, "4_create_tags.js"), "migrations/004_create_tags.ts");
    // A squash to the newest leaves no wrapper: then the helper and the last original go too.
    commitAll(project.root, "originals 1 to 3 and the map deleted");
    await squashImported(project, 4, false);
    rmSync(helper);
    rmSync(path.join(dir, "4_create_tags.js"));
    await assertGenCheckPasses(project);
    assert.equal((await cliOn(project, target, "verify")).json.ok, true);
  },
);

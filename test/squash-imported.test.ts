/**
 * `stepwise squash` on a history `stepwise import` wrote, with databases the old tool migrated: `adopt` of one the tool left inside the squashed versions is `DATABASE_INSIDE_SQUASH` (at every version
 * inside, never `INVALID_TARGET`), one at K or past it is adopted and runs on; and what docs/adopting.md says may be deleted after the squash (the originals at or below K, the map once every
 * database is adopted) can be, with `gen --check` passing and a fresh and an adopted database still migrating, while the helper must stay as long as a wrapper imports it. Real files, real
 * git, Knex itself, the bin in-process; asserts codes and fields.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import { commitAll, gitUnavailableReason, initRepository } from "./support/git-repo.js";
import { cliOn, type Json, type Target } from "./support/js-tool-import.js";
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

/**
 * Issue 13, item 4, as a user meets it: a fresh app made from the packed tarball, in a git
 * repository where two branches each `create` a migration. The merge leaves two migrations with one
 * version; `stepwise rebase` renumbers this branch's, `gen --check` passes and `up` works. Rebase
 * refuses, changing nothing, when the migration is applied in the database it is pointed at.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createFreshApp, type FreshApp } from "./support/fresh-app.js";
import { commitAll, git, gitUnavailableReason, initRepository } from "./support/git-repo.js";
import { describeRun } from "./support/packed-app.js";
import { parseProblemLines } from "./support/problem-lines.js";

const gitMissing = gitUnavailableReason();
if (gitMissing) console.log(`# skipped: ${gitMissing}`);

const table = (name: string) => `-- migrate:up\nCREATE TABLE ${name} (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE ${name};\n`;

/** `stepwise create --sql`, then the user writes the migration into the file it made. */
async function createMigration(app: FreshApp, description: string, tableName: string): Promise<string> {
  const created = await app.stepwise(["create", description, "--sql"]);
  const file = created.stdout.trim().split("\n").at(-1)!;
  app.write(path.relative(app.dir, path.resolve(app.dir, file)), table(tableName));
  const gen = await app.stepwise(["gen"]);
  assert.equal(gen.code, 0, describeRun(gen));
  return file;
}

test("two branches each create a migration; after the merge, rebase renumbers this branch's and up works", { skip: gitMissing ?? false, timeout: 600_000 }, async (t) => {
  const app = await createFreshApp(t);
  app.write(".gitignore", "node_modules/\n*.db\n");
  app.write("migrations/001_init.sql", table("contacts"));
  assert.equal((await app.stepwise(["gen"])).code, 0);
  initRepository(app.dir);
  commitAll(app.dir, "init");

  git(app.dir, ["checkout", "-q", "-b", "feature"]);
  await createMigration(app, "add color", "colors");
  commitAll(app.dir, "feature: add color");
  // The developer migrated a local database on this branch.
  const devUp = await app.stepwise(["up", "--db", "dev.db"]);
  assert.equal(devUp.code, 0, describeRun(devUp));

  git(app.dir, ["checkout", "-q", "main"]);
  await createMigration(app, "add tags", "tags");
  commitAll(app.dir, "main: add tags");

  git(app.dir, ["checkout", "-q", "feature"]);
  // In CI on the pull request, before the merge: the collision is named.
  const ci = await app.stepwise(["gen", "--check", "--base", "main"]);
  assert.equal(ci.code, 1, describeRun(ci));
  assert.deepEqual(parseProblemLines(ci.stderr), [{ file: "migrations/002_add_color.sql", line: 1, column: 1, code: "VERSION_TAKEN_ON_BASE" }]);

  // The merge: both files land with version 2 (and the registry conflicts).
  git(app.dir, ["merge", "-q", "--no-edit", "main"], [0, 1]);
  const before = await app.stepwise(["gen", "--check"]);
  assert.equal(before.code, 1);
  assert.ok(
    parseProblemLines(before.stderr).some((problem) => problem.code === "DUPLICATE_VERSION"),
    describeRun(before),
  );

  // Applied in dev.db under version 2: renumbering would run it again there.
  const listing = () => readdirSync(path.join(app.dir, "migrations")).sort();
  const refused = await app.stepwise(["rebase", "--yes", "--db", "dev.db", "--json"]);
  assert.equal(refused.code, 1, describeRun(refused));
  const error = (JSON.parse(refused.stdout) as { error: { code: string; migrations: unknown } }).error;
  assert.equal(error.code, "REBASE_APPLIED_MIGRATION");
  assert.deepEqual(error.migrations, [{ version: 2, name: "add_color", file: "migrations/002_add_color.sql" }]);
  assert.deepEqual(listing(), ["001_init.sql", "002_add_color.sql", "002_add_tags.sql"]);

  // Rolled back there (the registry's conflict resolved with this branch's side first, so the bin
  // can load it), rebase goes through: first the plan, then --yes.
  git(app.dir, ["checkout", "--ours", "generated/registry.ts"]);
  const down = await app.stepwise(["down", "--steps", "1", "--db", "dev.db"]);
  assert.equal(down.code, 0, describeRun(down));
  const plan = await app.stepwise(["rebase", "--db", "dev.db"]);
  assert.equal(plan.code, 0, describeRun(plan));
  assert.match(plan.stdout, /migrations\/002_add_color\.sql → migrations\/003_add_color\.sql/);
  assert.deepEqual(listing(), ["001_init.sql", "002_add_color.sql", "002_add_tags.sql"]);
  const rebase = await app.stepwise(["rebase", "--yes", "--db", "dev.db"]);
  assert.equal(rebase.code, 0, describeRun(rebase));
  assert.deepEqual(listing(), ["001_init.sql", "002_add_tags.sql", "003_add_color.sql"]);
  commitAll(app.dir, "merge main, rebased");

  const after = await app.stepwise(["gen", "--check", "--base", "main"]);
  assert.equal(after.code, 0, describeRun(after));
  const up = await app.stepwise(["up", "--db", "dev.db"]);
  assert.equal(up.code, 0, describeRun(up));
  const status = JSON.parse((await app.stepwise(["status", "--json", "--db", "dev.db"])).stdout) as { currentVersion: number };
  assert.equal(status.currentVersion, 3);
});

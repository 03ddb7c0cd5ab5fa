/**
 * `stepwise rebase` and `gen --check --base` end to end: real git repositories in temp folders with
 * commits on two branches, the real bin as a child process, real SQLite files.
 */
import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test, type TestContext } from "node:test";
import { applyRebase, planRebase } from "../codegen/rebase.js";
import type { RenameFileSystem } from "../codegen/rebase.js";
import { writeFileAtomic } from "../src/safety/write-file.js";
import { commitAll, git, gitUnavailableReason, initRepository } from "./support/git-repo.js";
import { parseProblemLines } from "./support/problem-lines.js";
import { createTestProject, makeTempDir, runCli, type TestProject } from "./support/project.js";
import { StepwiseError } from "../src/core/errors.js";

const gitMissing = gitUnavailableReason();
if (gitMissing) console.log(`# skipped: ${gitMissing}`);

const sql = (table: string) => `-- migrate:up\nCREATE TABLE ${table} (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE ${table};\n`;

/** A project in a git repository: `main` has 001; `feature` branches from it. Left on `main`. */
async function repositoryWithMain(t: TestContext, branch = "main"): Promise<TestProject> {
  const project = createTestProject(t);
  writeFileSync(path.join(project.root, ".gitignore"), "node_modules/\n*.db\n");
  project.writeMigration("001_init.sql", sql("contacts"));
  assert.equal((await project.generate()).ok, true);
  initRepository(project.root, branch);
  commitAll(project.root, "001");
  return project;
}

/** Adds migrations on the current branch, regenerates and commits, as a developer would. */
async function addAndCommit(project: TestProject, files: Record<string, string>, message: string): Promise<void> {
  for (const [name, text] of Object.entries(files)) project.writeMigration(name, text);
  const generated = await project.generate();
  assert.equal(generated.ok, true, JSON.stringify(generated.problems));
  commitAll(project.root, message);
}

/** main gets 002_add_tags; feature gets 002_add_color. Leaves `feature` checked out. */
async function collidingBranches(t: TestContext): Promise<TestProject> {
  const project = await repositoryWithMain(t);
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  await addAndCommit(project, { "002_add_color.sql": sql("colors") }, "feature: 002");
  git(project.root, ["checkout", "-q", "main"]);
  await addAndCommit(project, { "002_add_tags.sql": sql("tags") }, "main: 002");
  git(project.root, ["checkout", "-q", "feature"]);
  return project;
}

const listMigrations = (project: TestProject) => readdirSync(project.migrationsDir).sort();

async function rebaseJson(project: TestProject, args: readonly string[]) {
  const result = await runCli(["rebase", "--json", ...args], { cwd: project.root });
  return { result, json: JSON.parse(result.stdout) as Record<string, unknown> & { error?: { code: string } & Record<string, unknown> } };
}

test("rebase without --yes shows the plan and changes nothing", { skip: gitMissing ?? false }, async (t) => {
  const project = await collidingBranches(t);
  const registry = readFileSync(project.registryFile);
  const { result, json } = await rebaseJson(project, ["--base", "main"]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(json.renames, [{ from: "migrations/002_add_color.sql", to: "migrations/003_add_color.sql", fromVersion: 2, toVersion: 3, name: "add_color" }]);
  assert.equal(json.applied, false);
  assert.equal(json.baseLatestVersion, 2);
  assert.deepEqual(json.databaseCheck, { status: "no-database", database: null });
  assert.deepEqual(listMigrations(project), ["001_init.sql", "002_add_color.sql"]);
  assert.ok(readFileSync(project.registryFile).equals(registry), "a dry run must not touch the registry");

  const text = await runCli(["rebase", "--base", "main"], { cwd: project.root });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /migrations\/002_add_color\.sql → migrations\/003_add_color\.sql/);
  assert.match(text.stdout, /No database configured/);
});

test("rebase --yes renumbers after the base's newest, regenerates, and the merge then passes gen --check and up", { skip: gitMissing ?? false }, async (t) => {
  const project = await collidingBranches(t);
  const collision = await runCli(["gen", "--check", "--base", "main"], { cwd: project.root });
  assert.equal(collision.code, 1);
  assert.deepEqual(parseProblemLines(collision.stderr), [{ file: "migrations/002_add_color.sql", line: 1, column: 1, code: "VERSION_TAKEN_ON_BASE" }]);

  const { result, json } = await rebaseJson(project, ["--base", "main", "--yes"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(json.applied, true);
  assert.deepEqual(listMigrations(project), ["001_init.sql", "003_add_color.sql"]);
  // Before the merge, main's 002 is missing here: the registry waits for it.
  assert.equal((json.registry as { status: string }).status, "awaiting-merge");
  commitAll(project.root, "rebase");
  git(project.root, ["merge", "-q", "--no-edit", "main"], [0, 1]);
  // Both branches changed the registry; regenerating is how it is resolved.
  const regenerated = await runCli(["gen"], { cwd: project.root });
  assert.equal(regenerated.code, 0, regenerated.stderr);
  commitAll(project.root, "merge main");
  const check = await runCli(["gen", "--check", "--base", "main"], { cwd: project.root });
  assert.equal(check.code, 0, check.stderr);
  const up = await runCli(["up", "--db", "app.db"], { cwd: project.root });
  assert.equal(up.code, 0, up.stderr);
  assert.equal((await runCli(["version", "--db", "app.db"], { cwd: project.root })).stdout.trim(), "3");
});

test("rebase after merging the base: the base's file stays, this branch's moves", { skip: gitMissing ?? false }, async (t) => {
  const project = await collidingBranches(t);
  git(project.root, ["merge", "-q", "--no-edit", "main"], [0, 1]);
  assert.deepEqual(listMigrations(project), ["001_init.sql", "002_add_color.sql", "002_add_tags.sql"]);
  const { result, json } = await rebaseJson(project, ["--yes"]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual((json.base as { ref: string }).ref, "main");
  assert.deepEqual(listMigrations(project), ["001_init.sql", "002_add_tags.sql", "003_add_color.sql"]);
  assert.equal((json.registry as { ok: boolean }).ok, true);
  assert.equal((await runCli(["gen", "--check"], { cwd: project.root })).code, 0);
});

test("rebase refuses, changing nothing, when a migration it would renumber is applied in the database", { skip: gitMissing ?? false }, async (t) => {
  const project = await collidingBranches(t);
  assert.equal((await runCli(["up", "--db", "app.db"], { cwd: project.root })).code, 0);
  const registry = readFileSync(project.registryFile);
  const { result, json } = await rebaseJson(project, ["--base", "main", "--yes", "--db", "app.db"]);
  assert.equal(result.code, 1);
  assert.equal(json.error?.code, "REBASE_APPLIED_MIGRATION");
  assert.deepEqual(json.error?.migrations, [{ version: 2, name: "add_color", file: "migrations/002_add_color.sql" }]);
  assert.deepEqual(listMigrations(project), ["001_init.sql", "002_add_color.sql"]);
  assert.ok(readFileSync(project.registryFile).equals(registry));

  // The base's 002 applied (the database was migrated on main) is what the new number makes room for.
  git(project.root, ["checkout", "-q", "main"]);
  assert.equal((await runCli(["up", "--db", "on-main.db"], { cwd: project.root })).code, 0);
  git(project.root, ["checkout", "-q", "feature"]);
  const passes = await rebaseJson(project, ["--base", "main", "--db", "on-main.db"]);
  assert.equal(passes.result.code, 0, passes.result.stdout);
  assert.equal((passes.json.databaseCheck as { status: string }).status, "checked");
  // The base's 002 of the same name (both branches added 002_add_color.sql, with other SQL), applied on main: its checksum tells it from this branch's.
  const twin = await repositoryWithMain(t);
  git(twin.root, ["checkout", "-q", "-b", "feature"]);
  await addAndCommit(twin, { "002_add_color.sql": sql("colors") }, "feature: 002");
  git(twin.root, ["checkout", "-q", "main"]);
  await addAndCommit(twin, { "002_add_color.sql": sql("hues") }, "main: 002");
  assert.equal((await runCli(["up", "--db", "on-main.db"], { cwd: twin.root })).code, 0);
  git(twin.root, ["checkout", "-q", "feature"]);
  const twinPasses = await rebaseJson(twin, ["--base", "main", "--db", "on-main.db"]);
  assert.equal(twinPasses.result.code, 0, twinPasses.result.stdout);
  assert.deepEqual(
    (twinPasses.json.renames as { from: string; to: string }[]).map((rename) => [rename.from, rename.to]),
    [["migrations/002_add_color.sql", "migrations/003_add_color.sql"]],
  );
  // --no-db-check skips it, and says so.
  const skipped = await rebaseJson(project, ["--base", "main", "--db", "app.db", "--no-db-check"]);
  assert.equal(skipped.result.code, 0);
  assert.deepEqual(skipped.json.databaseCheck, { status: "skipped", database: null });
  // A configured database file that does not exist has nothing applied, and is not created.
  const missing = await rebaseJson(project, ["--base", "main", "--db", "nowhere.db"]);
  assert.equal(missing.result.code, 0, missing.result.stdout);
  assert.equal(existsSync(path.join(project.root, "nowhere.db")), false);

  // Two of the branch's migrations applied: the fix rolls both back at once (a plain down reverts one, and rebase would refuse again).
  await addAndCommit(project, { "003_add_size.sql": sql("sizes") }, "feature: 003");
  assert.equal((await runCli(["up", "--db", "app.db"], { cwd: project.root })).code, 0);
  const both = await rebaseJson(project, ["--base", "main", "--yes", "--db", "app.db"]);
  assert.deepEqual(
    (both.json.error?.migrations as { version: number }[]).map((migration) => migration.version),
    [2, 3],
  );
  assert.equal(both.json.error?.fix, 'roll them back first ("stepwise down --db app.db --to 1"), then rebase; or pass --no-db-check when that database is not one to keep');
  assert.equal((await runCli(["down", "--db", "app.db", "--to", "1"], { cwd: project.root })).code, 0);
  const renumbered = await rebaseJson(project, ["--base", "main", "--yes", "--db", "app.db"]);
  assert.equal(renumbered.result.code, 0, renumbered.result.stdout);
  assert.deepEqual(listMigrations(project), ["001_init.sql", "003_add_color.sql", "004_add_size.sql"]);
});

test("gen --check --base names only versions both branches use for different content", { skip: gitMissing ?? false }, async (t) => {
  const project = await repositoryWithMain(t);
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  // Shared history cherry-picked with the same content, and a real collision.
  await addAndCommit(project, { "002_same.sql": sql("same"), "003_mine.sql": sql("mine") }, "feature");
  git(project.root, ["checkout", "-q", "main"]);
  project.writeMigration("001_init.sql", `-- the base edits 001 after the split\n${sql("contacts")}`);
  await addAndCommit(project, { "002_same.sql": sql("same"), "003_theirs.sql": sql("theirs") }, "main");
  git(project.root, ["checkout", "-q", "feature"]);
  const check = await runCli(["gen", "--check", "--base", "main"], { cwd: project.root });
  assert.equal(check.code, 1);
  // 001 is untouched here (the merge brings main's edit) and 002 is the same file: neither is named.
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/003_mine.sql", line: 1, column: 1, code: "VERSION_TAKEN_ON_BASE" }]);
  assert.match(check.stderr, /migrations\/003_theirs\.sql/);

  const { json } = await rebaseJson(project, ["--base", "main"]);
  assert.deepEqual(json.renames, [{ from: "migrations/003_mine.sql", to: "migrations/004_mine.sql", fromVersion: 3, toVersion: 4, name: "mine" }]);

  const usage = await runCli(["gen", "--base", "main"], { cwd: project.root });
  assert.equal(usage.code, 2, "--base without --check is a usage error");
});

test("a migration edited on both sides is refused; the same edit on both is shared", { skip: gitMissing ?? false }, async (t) => {
  const project = await repositoryWithMain(t);
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  project.writeMigration("001_init.sql", `-- edited here\n${sql("contacts")}`);
  await addAndCommit(project, { "002_add_color.sql": sql("colors") }, "feature edits 001");
  git(project.root, ["checkout", "-q", "main"]);
  project.writeMigration("001_init.sql", `-- edited on main\n${sql("contacts")}`);
  await addAndCommit(project, {}, "main edits 001");
  git(project.root, ["checkout", "-q", "feature"]);
  const before = listMigrations(project);
  const { result, json } = await rebaseJson(project, ["--base", "main", "--yes"]);
  assert.equal(result.code, 1);
  assert.equal(json.error?.code, "REBASE_CONFLICT");
  assert.equal(json.error?.reason, "edited-on-both-sides");
  assert.deepEqual(json.error?.files, ["migrations/001_init.sql"]);
  assert.deepEqual(listMigrations(project), before);
  const check = await runCli(["gen", "--check", "--base", "main"], { cwd: project.root });
  assert.deepEqual(
    parseProblemLines(check.stderr).map((problem) => problem.file),
    ["migrations/001_init.sql"],
  );

  // The same edit on both sides: nothing to resolve, and 002 already follows main's newest.
  project.writeMigration("001_init.sql", `-- edited on main\n${sql("contacts")}`);
  await addAndCommit(project, {}, "take main's edit");
  const same = await rebaseJson(project, ["--base", "main", "--yes"]);
  assert.equal(same.result.code, 0, same.result.stdout);
  assert.deepEqual(same.json.renames, []);
});

test("the base has more migrations; this branch's gap closes; uncommitted ones count as this branch's", { skip: gitMissing ?? false }, async (t) => {
  const project = await repositoryWithMain(t);
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  await addAndCommit(project, { "002_a.sql": sql("a") }, "feature 002");
  git(project.root, ["checkout", "-q", "main"]);
  await addAndCommit(project, { "002_x.sql": sql("x"), "003_y.sql": sql("y"), "004_z.sql": sql("z") }, "main 002-004");
  git(project.root, ["checkout", "-q", "feature"]);
  // Uncommitted work in progress, with a gap before it.
  project.writeMigration("004_b.sql", sql("b"));
  const { result, json } = await rebaseJson(project, ["--base", "main", "--yes"]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    (json.renames as { from: string; to: string }[]).map((rename) => [rename.from, rename.to]),
    [
      ["migrations/002_a.sql", "migrations/005_a.sql"],
      ["migrations/004_b.sql", "migrations/006_b.sql"],
    ],
  );
  assert.deepEqual(listMigrations(project), ["001_init.sql", "005_a.sql", "006_b.sql"]);
});

test("rebase rewrites relative imports of a renamed TypeScript migration, in every form gen follows and the type-only ones", { skip: gitMissing ?? false }, async (t) => {
  const project = await repositoryWithMain(t);
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  const helper = `import { defineMigration } from "stepwise-migrate";\n\nexport const TABLE = "colors";\n\nexport default defineMigration({\n  up(db) {\n    db.exec(\`CREATE TABLE \${TABLE} (id INTEGER)\`);\n  },\n});\n`;
  const user =
    `import { defineMigration } from "stepwise-migrate";\nimport { TABLE } from "./002_colors.js";\nexport * as colors from "./002_colors.js";\nexport type { } from "./002_colors.js";\n` +
    `type Colors = typeof import("./002_colors.js");\n\nexport default defineMigration({\n  up(db) {\n    db.exec(\`CREATE INDEX idx ON \${TABLE} (id)\`);\n  },\n});\n`;
  await addAndCommit(project, { "002_colors.ts": helper, "003_index_colors.ts": user }, "feature");
  git(project.root, ["checkout", "-q", "main"]);
  await addAndCommit(project, { "002_tags.sql": sql("tags") }, "main");
  git(project.root, ["checkout", "-q", "feature"]);
  const { result, json } = await rebaseJson(project, ["--base", "main", "--yes"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual(json.importRewrites, Array(4).fill("migrations/003_index_colors.ts: ./002_colors.js → ./003_colors.js"));
  assert.deepEqual(listMigrations(project), ["001_init.sql", "003_colors.ts", "004_index_colors.ts"]);
  const rewritten = readFileSync(path.join(project.migrationsDir, "004_index_colors.ts"), "utf8");
  assert.equal(rewritten.match(/"\.\/003_colors\.js"/g)?.length, 4, rewritten);
  assert.doesNotMatch(rewritten, /002_colors/);
  assert.equal((json.registry as { status: string }).status, "awaiting-merge", JSON.stringify(json.registry));
  git(project.root, ["add", "-A"]);
  git(project.root, ["commit", "-q", "-m", "rebase"]);
  git(project.root, ["merge", "-q", "--no-edit", "main"], [0, 1]);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const up = await runCli(["up", "--db", "app.db"], { cwd: project.root });
  assert.equal(up.code, 0, up.stderr);
});

test("rebase rewrites the import of a renamed migration in a helper outside the migrations folder that a migration imports, as gen follows it", { skip: gitMissing ?? false }, async (t) => {
  const project = await repositoryWithMain(t);
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  const migration = (body: string, imports = "") => `import { defineMigration } from "stepwise-migrate";\n${imports}export default defineMigration({ up(db) { db.exec(${body}); } });\n`;
  mkdirSync(path.join(project.root, "lib"));
  writeFileSync(path.join(project.root, "lib", "names.ts"), `export { TABLE } from "../migrations/002_colors.js";\n`);
  const files = {
    "002_colors.ts": migration("`CREATE TABLE ${TABLE} (id INTEGER)`", `export const TABLE = "colors";\n`),
    "003_index_colors.ts": migration("`CREATE INDEX idx ON ${TABLE} (id)`", `import { TABLE } from "../lib/names.js";\n`),
  };
  await addAndCommit(project, files, "feature");
  git(project.root, ["checkout", "-q", "main"]);
  await addAndCommit(project, { "002_tags.sql": sql("tags") }, "main");
  git(project.root, ["checkout", "-q", "feature"]);
  const { result, json } = await rebaseJson(project, ["--base", "main", "--yes"]);
  // Left as it was, lib/names.ts named a file the rename removed: gen refused it (TS_IMPORT_NOT_FOUND) with the files already renamed.
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual(json.importRewrites, ["lib/names.ts: ../migrations/002_colors.js → ../migrations/003_colors.js"]);
  assert.equal(readFileSync(path.join(project.root, "lib", "names.ts"), "utf8"), `export { TABLE } from "../migrations/003_colors.js";\n`);
  assert.equal((json.registry as { status: string }).status, "awaiting-merge", JSON.stringify(json.registry));
  commitAll(project.root, "rebase");
  git(project.root, ["merge", "-q", "--no-edit", "main"], [0, 1]);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const up = await runCli(["up", "--db", "app.db"], { cwd: project.root });
  assert.equal(up.code, 0, up.stderr);
});

test("an unresolved merge conflict or a taken new name is refused with nothing changed", { skip: gitMissing ?? false }, async (t) => {
  const project = await repositoryWithMain(t);
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  await addAndCommit(project, { "002_add_color.sql": sql("colors") }, "feature");
  git(project.root, ["checkout", "-q", "main"]);
  await addAndCommit(project, { "002_add_color.sql": sql("hues") }, "main");
  git(project.root, ["checkout", "-q", "feature"]);
  git(project.root, ["merge", "-q", "--no-edit", "main"], [1]);
  const { result, json } = await rebaseJson(project, ["--base", "main", "--yes"]);
  assert.equal(result.code, 1);
  assert.equal(json.error?.code, "REBASE_CONFLICT");
  assert.equal(json.error?.reason, "unmerged");
  assert.deepEqual(json.error?.files, ["migrations/002_add_color.sql"]);
  git(project.root, ["merge", "--abort"]);

  // A folder already holds the name the migration would get.
  mkdirSync(path.join(project.migrationsDir, "003_add_color.sql"));
  const taken = await rebaseJson(project, ["--base", "main", "--yes"]);
  assert.equal(taken.result.code, 1);
  assert.equal(taken.json.error?.code, "REBASE_CONFLICT");
  assert.equal(taken.json.error?.reason, "target-exists");
  assert.ok(existsSync(path.join(project.migrationsDir, "002_add_color.sql")));
});

test("a rename or rewrite that fails part way puts every file back", { skip: gitMissing ?? false }, async (t) => {
  const project = await repositoryWithMain(t);
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  const user = `import { defineMigration } from "stepwise-migrate";\nimport "./003_b.js";\n\nexport default defineMigration({ up() {} });\n`;
  await addAndCommit(
    project,
    { "002_a.sql": sql("a"), "003_b.ts": `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({ up() {} });\n`, "004_c.ts": user },
    "feature",
  );
  git(project.root, ["checkout", "-q", "main"]);
  await addAndCommit(project, { "002_x.sql": sql("x") }, "main");
  git(project.root, ["checkout", "-q", "feature"]);
  const plan = planRebase({ projectRoot: project.root, migrationsDir: project.migrationsDir, base: "main" });
  assert.equal(plan.renames.length, 3);
  const snapshot = () => Object.fromEntries(readdirSync(project.migrationsDir).map((name) => [name, readFileSync(path.join(project.migrationsDir, name), "utf8")]));
  const before = snapshot();
  // Fail each step in turn: every rename of both phases, then the import rewrite.
  for (let failAt = 1; failAt <= 7; failAt++) {
    let calls = 0;
    const failing: RenameFileSystem = {
      existsSync,
      renameSync(from, to) {
        if (++calls === failAt) throw Object.assign(new Error("injected"), { code: "EIO" });
        renameSync(from, to);
      },
      writeFileSync(file, text) {
        if (++calls === failAt) throw Object.assign(new Error("injected"), { code: "ENOSPC" });
        writeFileAtomic(file, text);
      },
    };
    assert.throws(
      () => applyRebase(plan, { projectRoot: project.root, migrationsDir: project.migrationsDir, fileSystem: failing }),
      (error: unknown) => error instanceof StepwiseError && error.is("REBASE_RENAME_FAILED") && error.code === "REBASE_RENAME_FAILED" && error.details.restored,
      `step ${failAt}`,
    );
    assert.deepEqual(snapshot(), before, `step ${failAt} left the folder changed`);
  }
  applyRebase(plan, { projectRoot: project.root, migrationsDir: project.migrationsDir });
  assert.deepEqual(Object.keys(snapshot()).sort(), ["001_init.sql", "003_a.sql", "004_b.ts", "005_c.ts"]);
});

test(
  "a rebase stopped between its two renames leaves each file under its own name behind a dot, which gen and gen --check refuse with the name to put back; a taken name, a link to nothing included, is refused first",
  { skip: gitMissing ?? false },
  async (t) => {
    const project = await collidingBranches(t);
    const plan = planRebase({ projectRoot: project.root, migrationsDir: project.migrationsDir, base: "main" });
    assert.deepEqual(
      plan.renames.map((rename) => [rename.from, rename.to]),
      [["migrations/002_add_color.sql", "migrations/003_add_color.sql"]],
    );
    // As a kill would: the first rename happens, nothing after it, and nothing is put back.
    let calls = 0;
    const killed: RenameFileSystem = {
      existsSync,
      renameSync(from, to) {
        if (++calls > 1) throw Object.assign(new Error("killed"), { code: "EIO" });
        renameSync(from, to);
      },
      writeFileSync: () => assert.fail("no rewrite here"),
    };
    assert.throws(() => applyRebase(plan, { projectRoot: project.root, migrationsDir: project.migrationsDir, fileSystem: killed }), { code: "REBASE_RENAME_FAILED" });
    assert.deepEqual(readdirSync(project.migrationsDir).sort(), [".002_add_color.sql", "001_init.sql"]);
    for (const args of [["gen"], ["gen", "--check"]]) {
      const run = await runCli([...args, "--json"], { cwd: project.root });
      assert.equal(run.code, 1, run.stdout);
      const problems = (JSON.parse(run.stdout) as { problems: { code: string; file: string; message: string }[] }).problems;
      assert.deepEqual(
        problems.filter((problem) => problem.code === "BAD_FILE_NAME").map((problem) => [problem.file, problem.message.includes("rename it to 002_add_color.sql")]),
        [["migrations/.002_add_color.sql", true]],
      );
    }
    renameSync(path.join(project.migrationsDir, ".002_add_color.sql"), path.join(project.migrationsDir, "002_add_color.sql"));

    symlinkSync(path.join(project.root, "nothing-here.sql"), path.join(project.migrationsDir, "003_add_color.sql"));
    const taken = await rebaseJson(project, ["--base", "main", "--yes"]);
    assert.equal(taken.json.error?.code, "REBASE_CONFLICT");
    assert.equal(taken.json.error?.reason, "target-exists");
    assert.deepEqual(taken.json.error?.files, ["migrations/003_add_color.sql"]);
    assert.ok(lstatSync(path.join(project.migrationsDir, "003_add_color.sql")).isSymbolicLink());
    rmSync(path.join(project.migrationsDir, "003_add_color.sql"));
    assert.equal((await rebaseJson(project, ["--base", "main", "--yes"])).result.code, 0);
    assert.deepEqual(readdirSync(project.migrationsDir).sort(), ["001_init.sql", "003_add_color.sql"]);
  },
);

test("the default base: origin/HEAD in a clone, else main, else master; no repository or no git is a typed error", { skip: gitMissing ?? false }, async (t) => {
  const upstream = await collidingBranches(t);
  git(upstream.root, ["checkout", "-q", "main"]);
  const parent = makeTempDir(t, "stepwise-clone-");
  git(parent, ["clone", "-q", upstream.root, "clone"]);
  const clone = path.join(parent, "clone");
  // The clone needs the stepwise stub to run gen: borrow the upstream's node_modules.
  renameSync(path.join(upstream.root, "node_modules"), path.join(clone, "node_modules"));
  git(clone, ["checkout", "-q", "-b", "feature", "origin/feature"]);
  const fromClone = await runCli(["rebase", "--json"], { cwd: clone });
  assert.equal(fromClone.code, 0, fromClone.stderr);
  assert.deepEqual((JSON.parse(fromClone.stdout) as { base: { ref: string; chosenBy: string } }).base.ref, "origin/main");
  assert.equal((JSON.parse(fromClone.stdout) as { base: { chosenBy: string } }).base.chosenBy, "origin/HEAD");

  const onMaster = await repositoryWithMain(t, "master");
  const master = await runCli(["rebase", "--json"], { cwd: onMaster.root });
  assert.equal((JSON.parse(master.stdout) as { base: { ref: string } }).base.ref, "master");
  const unknown = await runCli(["rebase", "--json", "--base", "no-such-branch"], { cwd: onMaster.root });
  assert.equal(unknown.code, 1);
  assert.equal((JSON.parse(unknown.stdout) as { error: { code: string } }).error.code, "GIT_REF_NOT_FOUND");

  const plain = createTestProject(t, { parentDir: makeTempDir(t, "stepwise-nogit-") });
  plain.writeMigration("001_init.sql", sql("contacts"));
  const noRepo = await runCli(["rebase", "--json"], { cwd: plain.root, env: { GIT_CEILING_DIRECTORIES: path.dirname(plain.root) } });
  assert.equal(noRepo.code, 1);
  assert.equal((JSON.parse(noRepo.stdout) as { error: { code: string } }).error.code, "NOT_A_GIT_REPOSITORY");
  const emptyPath = makeTempDir(t, "stepwise-empty-path-");
  const noGit = await runCli(["gen", "--check", "--base", "main"], { cwd: onMaster.root, env: { PATH: emptyPath } });
  assert.equal(noGit.code, 1);
  assert.match(noGit.stderr, /GIT_NOT_FOUND/);
});

test("a project in a subfolder of the repository, with a migrations folder whose path has spaces", { skip: gitMissing ?? false }, async (t) => {
  const repository = makeTempDir(t, "stepwise-monorepo-");
  const project = createTestProject(t, { parentDir: repository, packageJson: { stepwise: { migrationsDir: "db/my migrations" } } });
  writeFileSync(path.join(repository, ".gitignore"), "node_modules/\n*.db\n");
  const folder = path.join(project.root, "db", "my migrations");
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, "001_init.sql"), sql("contacts"));
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  initRepository(repository);
  commitAll(repository, "init");
  git(repository, ["checkout", "-q", "-b", "feature"]);
  writeFileSync(path.join(folder, "002_add_color.sql"), sql("colors"));
  git(repository, ["checkout", "-q", "main"]);
  git(repository, ["stash", "-u", "-q"]);
  writeFileSync(path.join(folder, "002_add_tags.sql"), sql("tags"));
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  commitAll(repository, "main: 002");
  git(repository, ["checkout", "-q", "feature"]);
  git(repository, ["stash", "pop", "-q"]);

  const check = await runCli(["gen", "--check", "--base", "main"], { cwd: project.root });
  const relativeFolder = path.relative(project.root, folder).split(path.sep).join("/");
  assert.ok(
    parseProblemLines(check.stderr).some((problem) => problem.code === "VERSION_TAKEN_ON_BASE" && problem.file === `${relativeFolder}/002_add_color.sql`),
    check.stderr,
  );
  const { result, json } = await rebaseJson(project, ["--base", "main", "--yes"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual(json.renames, [{ from: `${relativeFolder}/002_add_color.sql`, to: `${relativeFolder}/003_add_color.sql`, fromVersion: 2, toVersion: 3, name: "add_color" }]);
  assert.deepEqual(readdirSync(folder).sort(), ["001_init.sql", "003_add_color.sql"]);
});

test("a shallow clone without the merge base, and a migrations folder outside the repository, are refused typed", { skip: gitMissing ?? false }, async (t) => {
  const upstream = await collidingBranches(t);
  const parent = makeTempDir(t, "stepwise-shallow-");
  git(parent, ["clone", "-q", "--depth", "1", "--no-single-branch", "--branch", "feature", pathToFileURL(upstream.root).href, "clone"]);
  const clone = path.join(parent, "clone");
  renameSync(path.join(upstream.root, "node_modules"), path.join(clone, "node_modules"));
  const shallow = await runCli(["gen", "--check", "--base", "origin/main"], { cwd: clone });
  assert.equal(shallow.code, 1);
  assert.match(shallow.stderr, /error \[GIT_HISTORY_SHALLOW\]/);
  const before = readdirSync(path.join(clone, "migrations")).sort();
  const rebase = await runCli(["rebase", "--yes", "--json", "--base", "origin/main"], { cwd: clone });
  assert.equal((JSON.parse(rebase.stdout) as { error: { code: string } }).error.code, "GIT_HISTORY_SHALLOW");
  assert.deepEqual(readdirSync(path.join(clone, "migrations")).sort(), before);

  const outside = makeTempDir(t, "stepwise-outside-");
  writeFileSync(path.join(outside, "001_init.sql"), sql("contacts"));
  const project = createTestProject(t);
  initRepository(project.root);
  commitAll(project.root, "init");
  const config = { stepwise: { migrationsDir: path.relative(project.root, outside) } };
  writeFileSync(path.join(project.root, "package.json"), JSON.stringify({ name: "test-app", private: true, type: "module", ...config }));
  const refused = await runCli(["rebase", "--json"], { cwd: project.root });
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.equal((JSON.parse(refused.stdout) as { error: { code: string; topLevel: string } }).error.code, "NOT_A_GIT_REPOSITORY");
});

test("a migration only renamed on this branch is not this branch's: it keeps its number", { skip: gitMissing ?? false }, async (t) => {
  const project = await repositoryWithMain(t);
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  git(project.root, ["mv", "migrations/001_init.sql", "migrations/001_create_contacts.sql"]);
  await addAndCommit(project, { "002_add_color.sql": sql("colors") }, "feature: rename 001, add 002");
  git(project.root, ["checkout", "-q", "main"]);
  await addAndCommit(project, { "002_add_tags.sql": sql("tags") }, "main: 002");
  git(project.root, ["checkout", "-q", "feature"]);
  const check = await runCli(["gen", "--check", "--base", "main"], { cwd: project.root });
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/002_add_color.sql", line: 1, column: 1, code: "VERSION_TAKEN_ON_BASE" }]);
  const { result, json } = await rebaseJson(project, ["--base", "main"]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    (json.renames as { from: string; to: string }[]).map((rename) => [rename.from, rename.to]),
    [["migrations/002_add_color.sql", "migrations/003_add_color.sql"]],
  );
});

test("rebase is in --help; an empty or twice-given --base is a usage error (exit 2) that changes nothing", { skip: gitMissing ?? false }, async (t) => {
  const project = await collidingBranches(t);
  const help = await runCli(["--help"], { cwd: project.root });
  assert.match(help.stdout, /^\s+rebase\b/m);
  const rebaseHelp = await runCli(["rebase", "--help"], { cwd: project.root });
  for (const option of ["--base", "--yes", "--no-db-check", "--json"]) assert.ok(rebaseHelp.stdout.includes(option), `rebase --help does not list ${option}`);
  assert.ok((await runCli(["gen", "--help"], { cwd: project.root })).stdout.includes("--base"));
  for (const args of [
    ["rebase", "--yes", "--base", ""],
    ["rebase", "--yes", "--base", "main", "--base", "master"],
    ["gen", "--check", "--base", " "],
  ]) {
    const result = await runCli([...args, "--json"], { cwd: project.root });
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, "USAGE");
  }
  assert.deepEqual(listMigrations(project), ["001_init.sql", "002_add_color.sql"]);
  // A ref that looks like an option is looked up as a ref, never read as one of git's options.
  const optionLike = await runCli(["rebase", "--json", "--base=--output=x"], { cwd: project.root });
  assert.equal((JSON.parse(optionLike.stdout) as { error: { code: string } }).error.code, "GIT_REF_NOT_FOUND");
  assert.equal(existsSync(path.join(project.root, "x")), false);
});

test("renamed files keep the folder's version width", { skip: gitMissing ?? false }, async (t) => {
  const project = createTestProject(t);
  writeFileSync(path.join(project.root, ".gitignore"), "node_modules/\n");
  project.writeMigration("0001_init.sql", sql("contacts"));
  initRepository(project.root);
  commitAll(project.root, "init");
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  project.writeMigration("0002_add_color.sql", sql("colors"));
  commitAll(project.root, "feature");
  git(project.root, ["checkout", "-q", "main"]);
  project.writeMigration("0002_add_tags.sql", sql("tags"));
  commitAll(project.root, "main");
  git(project.root, ["checkout", "-q", "feature"]);
  const plan = planRebase({ projectRoot: project.root, migrationsDir: project.migrationsDir, base: "main" });
  assert.deepEqual(
    plan.renames.map((rename) => rename.to),
    ["migrations/0003_add_color.sql"],
  );
});

test("a squash made on this branch keeps the version its record names; this branch's later migration still moves after the base's", { skip: gitMissing ?? false }, async (t) => {
  const project = await repositoryWithMain(t);
  await addAndCommit(project, { "002_b.sql": sql("b"), "003_c.sql": sql("c") }, "main: 002, 003");
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  const squashed = await runCli(["squash", "--to", "3", "--yes"], { cwd: project.root });
  assert.equal(squashed.code, 0, squashed.stderr);
  await addAndCommit(project, { "004_e.sql": sql("e") }, "feature: squash 1 to 3, then 004");
  git(project.root, ["checkout", "-q", "main"]);
  await addAndCommit(project, { "004_d.sql": sql("d") }, "main: 004");
  git(project.root, ["checkout", "-q", "feature"]);
  const { result, json } = await rebaseJson(project, ["--base", "main", "--yes"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  // Renumbered, the squash would be version 5 with a record of 1 to 3, which gen refuses (SQUASH_RECORD_INVALID).
  assert.deepEqual(json.renames, [{ from: "migrations/004_e.sql", to: "migrations/005_e.sql", fromVersion: 4, toVersion: 5, name: "e" }]);
  assert.deepEqual(listMigrations(project), ["003_squash_1_to_3.sql", "005_e.sql"]);
  assert.equal((json.registry as { status: string }).status, "awaiting-merge");
  commitAll(project.root, "rebase");
  git(project.root, ["merge", "-q", "--no-edit", "main"], [0, 1]);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  commitAll(project.root, "merge main");
  assert.deepEqual(listMigrations(project), ["003_squash_1_to_3.sql", "004_d.sql", "005_e.sql"]);
  const check = await runCli(["gen", "--check", "--base", "main"], { cwd: project.root });
  assert.equal(check.code, 0, check.stderr);
});

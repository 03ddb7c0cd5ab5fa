/**
 * Issue 13.1: every runtime command of the bin compares the migrations folder with the registry
 * before it loads it, and refuses a stale one with REGISTRY_STALE, naming each file and how it
 * differs, before any database is opened. A project without a folder, and the embedded CLI, are
 * unaffected. The real bin as a child process, real projects, real SQLite files.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { assertRegistryFresh } from "../codegen/registry-freshness.js";
import { createTestProject, readBytes, runCli, runNode, type RunResult, type TestProject } from "./support/project.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";
import { commitAll, git, gitUnavailableReason, initRepository } from "./support/git-repo.js";

const CREATE_ITEMS = "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT);\n-- migrate:down\nDROP TABLE items;\n";
const ADD_NOTE = "-- migrate:up\nALTER TABLE items ADD COLUMN note TEXT;\n-- migrate:down\nALTER TABLE items DROP COLUMN note;\n";

interface StaleJson {
  error: { code: string; registryFile: string; changes: Array<{ file: string; change: string; relatedFiles?: string[] }>; problems: Array<{ code: string; file: string; line: number }> };
}

/** A project with two SQL migrations, generated and applied to app.db. */
async function appliedProject(t: { after(fn: () => void): void }): Promise<TestProject> {
  const project = createTestProject(t);
  project.writeMigration("001_create_items.sql", CREATE_ITEMS);
  project.writeMigration("002_add_note.sql", ADD_NOTE);
  // As `stepwise gen` writes it (with its gen cache), in-process: the tests below run gen through the bin where the dev loop needs it.
  await project.generateAsBin();
  const up = await runCli(["up", "--db", "app.db"], { cwd: project.root });
  assert.equal(up.code, 0, up.stderr);
  return project;
}

function staleChanges(run: RunResult): StaleJson["error"] {
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const parsed = JSON.parse(run.stdout) as StaleJson;
  assert.equal(parsed.error.code, "REGISTRY_STALE");
  return parsed.error;
}

function appliedVersions(project: TestProject): number[] {
  const db = new Database(project.databasePath(), { readonly: true });
  try {
    return db.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all() as number[];
  } finally {
    db.close();
  }
}

test("create, edit, then up without gen: refused with REGISTRY_STALE naming the new file; after gen it applies and records the edited checksum", async (t) => {
  const project = await appliedProject(t);
  const created = await runCli(["create", "add color", "--sql"], { cwd: project.root });
  assert.equal(created.code, 0, created.stderr);
  const file = created.stdout.trim();
  writeFileSync(path.join(project.root, file), "-- migrate:up\nALTER TABLE items ADD COLUMN color TEXT;\n-- migrate:down\nALTER TABLE items DROP COLUMN color;\n");
  const before = readBytes(project.databasePath());

  const up = await runCli(["up", "--db", "app.db"], { cwd: project.root });
  assert.equal(up.code, 1, up.stdout + up.stderr);
  assert.match(up.stderr, /error \[REGISTRY_STALE\]/);
  assert.match(up.stderr, /migrations\/003_add_color\.sql/);
  assert.ok(readBytes(project.databasePath()).equals(before), "a refused up changed the database");
  const json = staleChanges(await runCli(["up", "--db", "app.db", "--json"], { cwd: project.root }));
  assert.deepEqual(json.changes, [{ file: "migrations/003_add_color.sql", change: "added" }]);
  assert.deepEqual(json.problems, []);

  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const applied = await runCli(["up", "--db", "app.db"], { cwd: project.root });
  assert.equal(applied.code, 0, applied.stderr);
  const status = await runCli(["status", "--db", "app.db", "--json"], { cwd: project.root });
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { problem: unknown }).problem, null);
  assert.deepEqual(appliedVersions(project), [1, 2, 3]);
});

test("a new SQL file without gen: status and up refuse instead of reporting up to date", async (t) => {
  const project = await appliedProject(t);
  project.writeMigration("003_add_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag INTEGER;\n");
  for (const command of ["status", "up"]) {
    const run = await runCli([command, "--db", "app.db", "--json"], { cwd: project.root });
    assert.deepEqual(staleChanges(run).changes, [{ file: "migrations/003_add_flag.sql", change: "added" }], command);
  }
  assert.deepEqual(appliedVersions(project), [1, 2]);
});

test("a deleted, a renamed and an edited file are each named with how they differ", async (t) => {
  const project = await appliedProject(t);
  rmSync(path.join(project.migrationsDir, "002_add_note.sql"));
  assert.deepEqual(staleChanges(await runCli(["status", "--db", "app.db", "--json"], { cwd: project.root })).changes, [{ file: "migrations/002_add_note.sql", change: "removed" }]);

  project.writeMigration("002_add_a_note.sql", ADD_NOTE);
  assert.deepEqual(staleChanges(await runCli(["status", "--db", "app.db", "--json"], { cwd: project.root })).changes, [
    { file: "migrations/002_add_a_note.sql", change: "added" },
    { file: "migrations/002_add_note.sql", change: "removed" },
  ]);

  renameSync(path.join(project.migrationsDir, "002_add_a_note.sql"), path.join(project.migrationsDir, "002_add_note.sql"));
  project.writeMigration("001_create_items.sql", CREATE_ITEMS.replace("label TEXT", "label TEXT NOT NULL"));
  assert.deepEqual(staleChanges(await runCli(["history", "--db", "app.db", "--json"], { cwd: project.root })).changes, [{ file: "migrations/001_create_items.sql", change: "changed" }]);

  // A comment-only edit does not change the meaning (the checksum stays), but one above the SQL moves
  // the lines the registry records for a failure's location: gen writes it again, and the database
  // that applied the migration before the edit still matches it.
  project.writeMigration("001_create_items.sql", `-- a note for reviewers\n${CREATE_ITEMS}`);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const status = await runCli(["status", "--db", "app.db"], { cwd: project.root });
  assert.equal(status.code, 0, status.stderr);
});

test("an edited TypeScript migration, and an edited local file it imports, are named as changed", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_create_items.sql", CREATE_ITEMS);
  mkdirSync(path.join(project.migrationsDir, "lib"), { recursive: true });
  writeFileSync(path.join(project.migrationsDir, "lib", "labels.ts"), 'export const LABELS = ["a", "b"];\n');
  project.writeMigration(
    "002_seed.ts",
    'import { defineMigration } from "stepwise-migrate";\nimport { LABELS } from "./lib/labels.js";\n\nexport default defineMigration({\n  up(db) {\n    for (const label of LABELS) db.prepare("INSERT INTO items (label) VALUES (?)").run(label);\n  },\n});\n',
  );
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["up", "--db", "app.db"], { cwd: project.root })).code, 0);

  writeFileSync(path.join(project.migrationsDir, "lib", "labels.ts"), 'export const LABELS = ["a", "b", "c"];\n');
  assert.deepEqual(staleChanges(await runCli(["status", "--db", "app.db", "--json"], { cwd: project.root })).changes, [
    { file: "migrations/002_seed.ts", change: "changed", relatedFiles: ["migrations/lib/labels.ts"] },
  ]);
  writeFileSync(path.join(project.migrationsDir, "lib", "labels.ts"), 'export const LABELS = ["a", "b"];\n');
  assert.equal((await runCli(["status", "--db", "app.db"], { cwd: project.root })).code, 0);

  project.writeMigration("002_seed.ts", 'import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up(db) {\n    db.exec("DELETE FROM items");\n  },\n});\n');
  assert.deepEqual(staleChanges(await runCli(["up", "--db", "app.db", "--json"], { cwd: project.root })).changes, [{ file: "migrations/002_seed.ts", change: "changed" }]);
});

test("every runtime command of the bin refuses a stale registry, and none touches the database", async (t) => {
  const project = await appliedProject(t);
  project.writeMigration("003_add_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag INTEGER;\n");
  const before = readBytes(project.databasePath());
  const commands = [
    ["status"],
    ["up"],
    ["up", "--dry-run"],
    ["down"],
    ["history"],
    ["version"],
    ["info"],
    ["reset", "--yes"],
    ["verify"],
    ["baseline", "2"],
    ["repair", "--applied", "2", "--yes"],
    ["restore", "app.db", "--yes"],
  ];
  for (const args of commands) {
    const run = await runCli([...args, "--db", "app.db"], { cwd: project.root });
    assert.equal(run.code, 1, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr, /error \[REGISTRY_STALE\]/, args.join(" "));
  }
  assert.ok(readBytes(project.databasePath()).equals(before), "a refused command changed the database");
});

test("the pg driver's registry is checked before any connection is tried", async (t) => {
  const project = createTestProject(t);
  writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ dialect: "postgres", driver: "pg", url: "postgres://nobody@127.0.0.1:1/none" }));
  project.writeMigration("001_create_items.sql", "-- migrate:up\nCREATE TABLE items (id integer PRIMARY KEY);\n");
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  // Fresh: the check passes and the command gets as far as connecting (port 1 refuses).
  const fresh = await runCli(["status", "--json"], { cwd: project.root });
  assert.equal(fresh.code, 1, fresh.stdout + fresh.stderr);
  assert.doesNotMatch(fresh.stdout + fresh.stderr, /REGISTRY_STALE/);
  project.writeMigration("002_add_note.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN note text;\n");
  assert.deepEqual(staleChanges(await runCli(["status", "--json"], { cwd: project.root })).changes, [{ file: "migrations/002_add_note.sql", change: "added" }]);
});

test("an unedited template in the folder: REGISTRY_STALE lists it as added and carries gen's TEMPLATE_UNEDITED problems", async (t) => {
  const project = await appliedProject(t);
  assert.equal((await runCli(["create", "add color"], { cwd: project.root })).code, 0);
  const error = staleChanges(await runCli(["up", "--db", "app.db", "--json"], { cwd: project.root }));
  assert.deepEqual(error.changes, [{ file: "migrations/003_add_color.ts", change: "added" }]);
  assert.deepEqual(
    error.problems.map((problem) => [problem.code, problem.file]),
    [
      ["TEMPLATE_UNEDITED", "migrations/003_add_color.ts"],
      ["TEMPLATE_UNEDITED", "migrations/003_add_color.ts"],
    ],
  );
});

test("no migrations folder (a deployed app with its registry only): the runtime commands run unchecked", async (t) => {
  const project = await appliedProject(t);
  rmSync(project.migrationsDir, { recursive: true });
  const status = await runCli(["status", "--db", "app.db", "--json"], { cwd: project.root });
  assert.equal(status.code, 0, status.stderr);
});

test("the embedded CLI (stepwise-migrate/cli's createCli) never checks the folder: its registry is what the app bundled", async (t) => {
  const project = await appliedProject(t);
  project.writeMigration("003_add_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag INTEGER;\n");
  const script = path.join(project.root, "embedded.ts");
  writeFileSync(
    script,
    'import { createCli } from "stepwise-migrate/cli";\nimport { migrations } from "./generated/registry.js";\nprocess.exitCode = await createCli({ migrations, database: "app.db" }).run(process.argv.slice(2));\n',
  );
  const status = await runNode(script, ["status", "--json"], { cwd: project.root });
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.equal((JSON.parse(status.stdout) as { currentVersion: number }).currentVersion, 2);
});

test("a registry gen vouched for is recognised from the gen cache without a scan", async (t) => {
  const project = await appliedProject(t);
  const cacheDir = path.join(project.root, "node_modules", ".cache", "stepwise");
  const options = { projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, dialect: "sqlite" as const, cacheDir };
  assert.ok(existsSync(cacheDir));
  assert.equal(await assertRegistryFresh(options), "cached");
  // Without the cache it scans, and finds the same answer.
  assert.equal(await assertRegistryFresh({ ...options, cacheDir: null }), "scanned");
  project.writeMigration("003_add_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag INTEGER;\n");
  await assert.rejects(assertRegistryFresh(options), stepwiseFailure({ code: "REGISTRY_STALE", changes: [{ file: "migrations/003_add_flag.sql", change: "added" }] }));
});

test("a registry edited by hand is named as a registry change, and gen puts it right", async (t) => {
  const project = await appliedProject(t);
  const registry = readFileSync(project.registryFile, "utf8");
  // The SQL it would run, edited under an unchanged checksum: exactly what must never run.
  writeFileSync(project.registryFile, registry.replace("ALTER TABLE items ADD COLUMN note TEXT", "ALTER TABLE items ADD COLUMN note BLOB"));
  assert.deepEqual(staleChanges(await runCli(["up", "--db", "app.db", "--json"], { cwd: project.root })).changes, [{ file: "generated/registry.ts", change: "registry" }]);
  writeFileSync(project.registryFile, `${registry}\n// a stray line\n`);
  assert.deepEqual(staleChanges(await runCli(["status", "--db", "app.db", "--json"], { cwd: project.root })).changes, [{ file: "generated/registry.ts", change: "registry" }]);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["status", "--db", "app.db"], { cwd: project.root })).code, 0);
});

test("STEPWISE_SKIP_REGISTRY_CHECK=1 runs the registry as it is: down rolls back what it applied while the folder is mid-merge", async (t) => {
  const project = await appliedProject(t);
  // A merge brought another branch's migration 2: two files with one version, so gen cannot run.
  project.writeMigration("002_add_tags.sql", "-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\n");
  const refused = await runCli(["down", "--db", "app.db", "--json"], { cwd: project.root });
  const error = staleChanges(refused);
  assert.deepEqual(
    error.problems.map((problem) => problem.code),
    ["DUPLICATE_VERSION", "DUPLICATE_VERSION"],
  );
  assert.deepEqual(appliedVersions(project), [1, 2]);
  const down = await runCli(["down", "--db", "app.db"], { cwd: project.root, env: { STEPWISE_SKIP_REGISTRY_CHECK: "1" } });
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(appliedVersions(project), [1]);
});

test(
  "a merge of two branches that each added migration 2, with conflict markers left in the registry: REGISTRY_STALE names the registry and the added file, not the branch's own untouched file as changed, and its way past names the checkout that makes down work",
  { skip: gitUnavailableReason() ?? false },
  async (t) => {
    const project = createTestProject(t);
    const cwd = project.root;
    writeFileSync(path.join(cwd, ".gitignore"), "node_modules\n*.db\n");
    project.writeMigration("001_create_items.sql", CREATE_ITEMS);
    await project.generateAsBin();
    initRepository(cwd);
    commitAll(cwd, "base");
    git(cwd, ["checkout", "-q", "-b", "feature"]);
    project.writeMigration("002_add_note.sql", ADD_NOTE);
    await project.generateAsBin();
    commitAll(cwd, "note");
    assert.equal((await runCli(["up", "--db", "app.db"], { cwd })).code, 0);
    git(cwd, ["checkout", "-q", "main"]);
    project.writeMigration("002_add_tags.sql", "-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE tags;\n");
    await project.generateAsBin();
    commitAll(cwd, "tags");
    git(cwd, ["checkout", "-q", "feature"]);
    git(cwd, ["merge", "-q", "main"], [1]);

    const stale = await runCli(["down", "--db", "app.db", "--json"], { cwd });
    const error = staleChanges(stale);
    assert.deepEqual(error.changes, [
      { file: "generated/registry.ts", change: "registry" },
      { file: "migrations/002_add_tags.sql", change: "added" },
    ]);
    assert.deepEqual(
      error.problems.map((problem) => [problem.code, problem.file]),
      [
        ["DUPLICATE_VERSION", "migrations/002_add_note.sql"],
        ["DUPLICATE_VERSION", "migrations/002_add_tags.sql"],
      ],
    );
    const checkout = /"(git checkout <branch> -- generated\/registry\.ts)"/.exec(stale.stderr);
    assert.ok(checkout, stale.stderr);
    git(cwd, ["checkout", "feature", "--", "generated/registry.ts"]);
    const down = await runCli(["down", "--db", "app.db"], { cwd, env: { STEPWISE_SKIP_REGISTRY_CHECK: "1" } });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(appliedVersions(project), [1]);
  },
);

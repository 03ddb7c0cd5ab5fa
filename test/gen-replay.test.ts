/**
 * Issue 13.5: `gen --check` replays the migrations on an empty in-memory database and reports, as
 * `file:line:col: message [CODE]`, what would otherwise fail only at deploy: a syntax error, a rebuild
 * of a referenced table with foreign keys on (from the ported 56-migration history, and on empty
 * tables where the replay itself passes), a throwing TypeScript migration, a broken down of the newest
 * migration, a registry that cannot be imported. The real bin in temp projects.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { parseProblemLines } from "./support/problem-lines.js";
import { createTestProject, makeTempDir, runCli, type TestProject } from "./support/project.js";
import { createTestDatabase } from "./support/postgres-server.js";
import pg from "pg";
import Database from "better-sqlite3";
import { SCRATCH_DATABASE_PREFIX } from "../src/drivers/pg.js";
import { pathToFileURL } from "node:url";
import { tsImport } from "tsx/esm/api";
import type { MigrationRegistry } from "../src/core/types.js";

async function genThenCheck(project: TestProject, ...extra: string[]) {
  const gen = await runCli(["gen"], { cwd: project.root });
  assert.equal(gen.code, 0, gen.stderr);
  return runCli(["gen", "--check", ...extra], { cwd: project.root });
}

test("a typo (CREAT TABLE) is REPLAY_FAILED at its line; --no-replay skips the replay; plain gen still writes", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_contacts.sql", "-- migrate:up\nCREATE TABLE contacts (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE contacts;\n");
  project.writeMigration(
    "002_groups.sql",
    "-- description: groups\n-- migrate:up\n\nCREATE TABLE groups (id INTEGER PRIMARY KEY);\n\n  CREAT TABLE members (id INTEGER);\n-- migrate:down\nDROP TABLE groups;\n",
  );
  const check = await genThenCheck(project);
  assert.equal(check.code, 1, check.stdout);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/002_groups.sql", line: 6, column: 3, code: "REPLAY_FAILED" }]);
  assert.ok(check.stderr.includes("CREAT"), check.stderr);
  const skipped = await runCli(["gen", "--check", "--no-replay"], { cwd: project.root });
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.deepEqual(
    readdirSync(project.root).filter((name) => /\.(db|sqlite)$/.test(name)),
    [],
    "the replay created a database file",
  );
});

test("plain SQL migrations replay in one stretch: a failure in its middle is named at its own migration and line, after the rows the earlier ones seeded", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);\n");
  project.writeMigration("002_seed.sql", "-- migrate:up\nINSERT INTO a (n) VALUES (1), (2);\n");
  // Fails only on the rows 002 seeded: its UPDATE sets a NOT NULL column to NULL.
  project.writeMigration("003_b.sql", "-- migrate:up\nCREATE TABLE b (id INTEGER);\nINSERT INTO b SELECT n FROM a;\nUPDATE a SET n = NULL WHERE n = 2;\n");
  project.writeMigration("004_c.sql", "-- migrate:up\nCREATE TABLE c (id INTEGER);\n");
  const check = await genThenCheck(project);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/003_b.sql", line: 4, column: 1, code: "REPLAY_FAILED" }]);
});

test("a CRLF file and a description line still map the failing statement to its line", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_a.sql", "-- description: a\r\n-- migrate:up\r\nCREATE TABLE a (id INTEGER);\r\nINSERT INTO missing VALUES (1);\r\n");
  const check = await genThenCheck(project);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/001_a.sql", line: 4, column: 1, code: "REPLAY_FAILED" }]);
});

test("the ported 56-migration history: FOREIGN_KEY_PARENT_REBUILT at 018's DROP TABLE; with foreign_keys:off it replays in full", async (t) => {
  const project = createTestProject(t, { fixture: "ported-tracker-history" });
  const check = await genThenCheck(project);
  assert.equal(check.code, 1);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/018_roles_rank_integer.sql", line: 10, column: 1, code: "FOREIGN_KEY_PARENT_REBUILT" }]);
  assert.ok(check.stderr.includes("-- migrate:up foreign_keys:off"), check.stderr);
  const file = path.join(project.migrationsDir, "018_roles_rank_integer.sql");
  writeFileSync(file, readFileSync(file, "utf8").replace("-- migrate:up\n", "-- migrate:up foreign_keys:off\n"));
  const fixed = await genThenCheck(project);
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stdout, /Replayed 56 migrations/);
});

test("a rebuild of a referenced table is caught on empty tables too (children ON DELETE CASCADE would lose their rows)", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_authors.sql",
    "-- migrate:up\nCREATE TABLE authors (id INTEGER PRIMARY KEY, born TEXT);\nCREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES authors (id) ON DELETE CASCADE);\n",
  );
  project.writeMigration(
    "002_rebuild.sql",
    '-- migrate:up\nCREATE TABLE authors_new (id INTEGER PRIMARY KEY, born INTEGER);\nINSERT INTO authors_new SELECT id, CAST(born AS INTEGER) FROM authors;\nDROP TABLE IF EXISTS main."authors";\nALTER TABLE authors_new RENAME TO authors;\n',
  );
  const check = await genThenCheck(project);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/002_rebuild.sql", line: 4, column: 1, code: "FOREIGN_KEY_PARENT_REBUILT" }]);
});

test("a rebuild that switches foreign keys off itself outside a transaction (drizzle's recipe, however the pragma is spelled, in SQL or TypeScript) passes the replay as the run-time check lets it run, and up keeps the children's rows; a pragma in a comment still counts for nothing", async (t) => {
  const tables =
    "-- migrate:up\nCREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id) ON DELETE CASCADE);\nINSERT INTO p VALUES (1, 'a');\nINSERT INTO c VALUES (1, 1), (2, 1);\n";
  const rebuild = ["CREATE TABLE p_new (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO p_new SELECT id, name FROM p", "DROP TABLE p", "ALTER TABLE p_new RENAME TO p"];
  const sql = (off: string) => `-- migrate:up transaction:false\n${off}\nBEGIN;\n${rebuild.join("; ")};\nCOMMIT;\nPRAGMA foreign_keys = ON;\n`;
  const ts = (off: string) =>
    `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  transaction: false,\n  up(db: { exec(sql: string): void }) {\n    db.exec(${JSON.stringify(off)});\n    db.exec("BEGIN");\n${rebuild.map((statement) => `    db.exec(${JSON.stringify(statement)});\n`).join("")}    db.exec("COMMIT");\n    db.exec("PRAGMA foreign_keys = ON");\n  },\n});\n`;
  const cases: Array<[string, string]> = [
    ["002_rebuild.sql", sql("PRAGMA foreign_keys = OFF;")],
    ["002_rebuild.sql", sql("PRAGMA foreign_keys=0;")],
    ["002_rebuild.sql", sql("pragma FOREIGN_KEYS = false;")],
    ["002_rebuild.sql", sql("PRAGMA foreign_keys = 'off';")],
    ["002_rebuild.sql", sql("PRAGMA main.foreign_keys = no;")],
    ["002_rebuild.sql", sql('PRAGMA "main" . "Foreign_Keys"=OFF;')],
    ["002_rebuild.ts", ts("PRAGMA foreign_keys = OFF")],
    ["002_rebuild.ts", ts("PRAGMA main.foreign_keys = 0")],
  ];
  for (const [file, text] of cases) {
    const project = createTestProject(t);
    project.writeMigration("001_tables.sql", tables);
    project.writeMigration(file, text);
    const check = await genThenCheck(project);
    assert.equal(check.code, 0, `${text}\n${check.stderr}`);
    const up = await runCli(["up", "--db", project.databasePath(), "--json"], { cwd: project.root });
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const db = new Database(project.databasePath(), { readonly: true });
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM c").get(), { n: 2 }, text);
    db.close();
  }
  // The pragma as an importer leaves it, commented out: nothing switches the keys off, so the drop would cascade.
  const commented = createTestProject(t);
  commented.writeMigration("001_tables.sql", tables);
  commented.writeMigration("002_rebuild.sql", `-- migrate:up\n-- PRAGMA foreign_keys = OFF;\n/* PRAGMA defer_foreign_keys = ON; */\n${rebuild.join(";\n")};\n`);
  const check = await genThenCheck(commented);
  assert.equal(check.code, 1);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/002_rebuild.sql", line: 6, column: 1, code: "FOREIGN_KEY_PARENT_REBUILT" }]);
  // Outside a transaction with no pragma at all, the drop cascades there too.
  commented.writeMigration("002_rebuild.sql", `-- migrate:up transaction:false\nBEGIN;\n${rebuild.join(";\n")};\nCOMMIT;\n`);
  const unmanaged = await genThenCheck(commented);
  assert.equal(unmanaged.code, 1);
  assert.deepEqual(parseProblemLines(unmanaged.stderr), [{ file: "migrations/002_rebuild.sql", line: 5, column: 1, code: "FOREIGN_KEY_PARENT_REBUILT" }]);
});

test("every rebuild of a referenced table is named in one run (the replay applies each as its fix would, with foreign keys off, and goes on), and a failing migration after them still stops it", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_tables.sql",
    "-- migrate:up\nCREATE TABLE teams (id INTEGER PRIMARY KEY);\nCREATE TABLE players (team_id INTEGER REFERENCES teams (id));\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\nCREATE TABLE notes (tag_id INTEGER REFERENCES tags (id));\n",
  );
  const rebuild = (table: string) => `-- migrate:up\nCREATE TABLE ${table}_new (id INTEGER PRIMARY KEY, name TEXT);\nDROP TABLE ${table};\nALTER TABLE ${table}_new RENAME TO ${table};\n`;
  project.writeMigration("002_rebuild_teams.sql", rebuild("teams"));
  project.writeMigration("003_rebuild_tags.sql", rebuild("tags"));
  project.writeMigration("004_views.sql", "-- migrate:up\nCREATE VIEW team_names AS SELECT name FROM teams;\n");
  const check = await genThenCheck(project);
  assert.equal(check.code, 1);
  assert.deepEqual(parseProblemLines(check.stderr), [
    { file: "migrations/002_rebuild_teams.sql", line: 3, column: 1, code: "FOREIGN_KEY_PARENT_REBUILT" },
    { file: "migrations/003_rebuild_tags.sql", line: 3, column: 1, code: "FOREIGN_KEY_PARENT_REBUILT" },
  ]);
  const json = JSON.parse((await runCli(["gen", "--check", "--json"], { cwd: project.root })).stdout) as { replay: { applied: number } };
  assert.equal(json.replay.applied, 4, "the replay went on to the last migration");

  project.writeMigration("005_broken.sql", "-- migrate:up\nCREATE TABLE labels_new (id INTEGER PRIMARY KEY);\nDROP TABLE tags;\nINSERT INTO nowhere VALUES (1);\n");
  const failed = await genThenCheck(project);
  assert.deepEqual(
    parseProblemLines(failed.stderr).map((problem) => [problem.file, problem.code]),
    [
      ["migrations/002_rebuild_teams.sql", "FOREIGN_KEY_PARENT_REBUILT"],
      ["migrations/003_rebuild_tags.sql", "FOREIGN_KEY_PARENT_REBUILT"],
      // Its drop runs (the replay's children are empty) and the failure after it is the one reported.
      ["migrations/005_broken.sql", "REPLAY_FAILED"],
    ],
  );
});

test("a rebuild that is the newest migration is reported once: its down, which rebuilds back, is rolled back as the fix would run it too", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_tables.sql", "-- migrate:up\nCREATE TABLE teams (id INTEGER PRIMARY KEY);\nCREATE TABLE players (team_id INTEGER REFERENCES teams (id));\n");
  project.writeMigration(
    "002_rebuild.sql",
    "-- migrate:up\nCREATE TABLE teams_new (id INTEGER PRIMARY KEY, name TEXT);\nDROP TABLE teams;\nALTER TABLE teams_new RENAME TO teams;\n-- migrate:down\nCREATE TABLE teams_old (id INTEGER PRIMARY KEY);\nDROP TABLE teams;\nALTER TABLE teams_old RENAME TO teams;\n",
  );
  const check = await genThenCheck(project);
  assert.deepEqual(
    parseProblemLines(check.stderr).map((problem) => [problem.file, problem.code]),
    [["migrations/002_rebuild.sql", "FOREIGN_KEY_PARENT_REBUILT"]],
  );
});

test("what is not a rebuild of a referenced parent passes: an unreferenced table rebuilt, a parent dropped with its children, a self-reference", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_tables.sql",
    "-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE feature (id INTEGER PRIMARY KEY);\nCREATE TABLE feature_items (feature_id INTEGER REFERENCES feature (id));\nCREATE TABLE tree (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES tree (id));\n-- migrate:down\nDROP TABLE tree;\nDROP TABLE feature_items;\nDROP TABLE feature;\nDROP TABLE tags;\n",
  );
  project.writeMigration(
    "002_rebuild_tags.sql",
    "-- migrate:up\nCREATE TABLE tags_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\nDROP TABLE tags;\nALTER TABLE tags_new RENAME TO tags;\n",
  );
  project.writeMigration("003_drop_feature.sql", "-- migrate:up\nDROP TABLE feature_items;\nDROP TABLE feature;\n");
  project.writeMigration(
    "004_rebuild_tree.sql",
    "-- migrate:up\nCREATE TABLE tree_new (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES tree (id), label TEXT);\nDROP TABLE tree;\nALTER TABLE tree_new RENAME TO tree;\n-- migrate:down\nSELECT 1;\n",
  );
  const check = await genThenCheck(project);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /Replayed 4 migrations .* then rolled back migration 4/);
});

test("a migration that drops the history table (an older tool's schema_migrations) is REPLAY_FAILED with stepwise's refusal, on SQLite and PostgreSQL, not the guard's own trigger or cast", async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  for (const [dialect, env] of [
    ["sqlite", {}],
    ["postgres", { DATABASE_URL: database.url }],
  ] as const) {
    const project = createTestProject(t, { packageJson: { stepwise: { dialect } } });
    project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id integer PRIMARY KEY);\n");
    project.writeMigration("002_drop_old.sql", "-- migrate:up\nDROP TABLE IF EXISTS schema_migrations;\n");
    assert.equal((await runCli(["gen"], { cwd: project.root, env })).code, 0);
    const check = await runCli(["gen", "--check"], { cwd: project.root, env });
    assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/002_drop_old.sql", line: 2, column: 1, code: "REPLAY_FAILED" }], dialect);
    const line = check.stderr.split("\n").find((text) => text.includes("[REPLAY_FAILED]"))!;
    assert.ok(line.includes("(HISTORY_CHANGED_BY_MIGRATION)") && line.includes('"schema_migrations"'), line);
    // The guard's internals (a trigger's name, a failed cast) are not what the migration did.
    assert.ok(!/stepwise_guard|invalid input syntax/.test(line), line);
  }
});

test("a FOREIGN KEY failure from a bad row is REPLAY_FAILED, not a rebuild", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (p_id INTEGER NOT NULL REFERENCES p (id));\nINSERT INTO c VALUES (7);\n");
  const check = await genThenCheck(project);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/001_a.sql", line: 4, column: 1, code: "REPLAY_FAILED" }]);
});

test("a broken down of the newest migration is REPLAY_DOWN_FAILED at its line", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id INTEGER);\n-- migrate:down\nDROP TABLE a;\n");
  project.writeMigration("002_b.sql", "-- migrate:up\nCREATE TABLE b (id INTEGER);\n-- migrate:down\nDROP TABLE b;\nDROP TABLE bee;\n");
  const check = await genThenCheck(project);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/002_b.sql", line: 5, column: 1, code: "REPLAY_DOWN_FAILED" }]);
});

test("TypeScript migrations are replayed: a throw is REPLAY_FAILED at the migration's line; a TS rebuild names disableForeignKeys", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE teams (id INTEGER PRIMARY KEY);\nCREATE TABLE players (team_id INTEGER REFERENCES teams (id));\n");
  project.writeMigration(
    "002_seed.ts",
    `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up(db: { exec(sql: string): void }) {\n    db.exec("INSERT INTO teams (id) VALUES (1)");\n    db.exec("INSERT INTO nowhere VALUES (1)");\n  },\n});\n`,
  );
  const check = await genThenCheck(project);
  const [problem] = parseProblemLines(check.stderr);
  assert.deepEqual({ ...problem, column: 0 }, { file: "migrations/002_seed.ts", line: 6, column: 0, code: "REPLAY_FAILED" }, check.stderr);

  project.writeMigration(
    "002_seed.ts",
    `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up(db: { exec(sql: string): void }) {\n    db.exec("CREATE TABLE teams_new (id INTEGER PRIMARY KEY, name TEXT)");\n    db.exec("DROP TABLE teams");\n    db.exec("ALTER TABLE teams_new RENAME TO teams");\n  },\n});\n`,
  );
  const rebuild = await genThenCheck(project);
  assert.deepEqual(parseProblemLines(rebuild.stderr), [{ file: "migrations/002_seed.ts", line: 6, column: 14, code: "FOREIGN_KEY_PARENT_REBUILT" }]);
  assert.ok(rebuild.stderr.includes("disableForeignKeys: true"), rebuild.stderr);
});

test("a registry that cannot be imported (a migration throws when loaded) is REPLAY_REGISTRY_UNLOADABLE at the throw", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_a.ts",
    `import { defineMigration } from "stepwise-migrate";\n\nif (!globalThis.process) throw new Error("x");\nthrow new Error("needs SECRET_KEY");\n\nexport default defineMigration({ up() {} });\n`,
  );
  const check = await genThenCheck(project);
  assert.equal(check.code, 1);
  const [problem] = parseProblemLines(check.stderr);
  assert.equal(problem?.code, "REPLAY_REGISTRY_UNLOADABLE", check.stderr);
  assert.equal(problem?.file, "migrations/001_a.ts");
  assert.equal(problem?.line, 4);
});

test("CommonJS a migration imports, in a package of type module, is REPLAY_REGISTRY_UNLOADABLE at that file, and both it and the runtime's REGISTRY_LOAD_FAILED give the folder's package.json fix, which works", async (t) => {
  const project = createTestProject(t);
  mkdirSync(path.join(project.root, "legacy"));
  writeFileSync(path.join(project.root, "legacy", "helper.js"), "exports.table = 'users';\n");
  project.writeMigration(
    "001_a.ts",
    'import { defineMigration } from "stepwise-migrate";\nimport * as helper from "../legacy/helper.js";\nexport default defineMigration({ up(db) { db.exec(`CREATE TABLE t${String(Object.keys(helper).length)} (id INTEGER)`); } });\n',
  );
  const check = await genThenCheck(project);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "legacy/helper.js", line: 1, column: 1, code: "REPLAY_REGISTRY_UNLOADABLE" }]);
  const fix = '{"type": "commonjs"} in legacy';
  assert.ok(check.stderr.includes(fix), check.stderr);
  const status = await runCli(["status", "--json", "--db", "app.db"], { cwd: project.root });
  const error = (JSON.parse(status.stdout) as { error: { code: string; location: string; message: string } }).error;
  assert.deepEqual([error.code, error.location], ["REGISTRY_LOAD_FAILED", "legacy/helper.js:1:1"]);
  assert.ok(error.message.includes(fix), error.message);
  writeFileSync(path.join(project.root, "legacy", "package.json"), '{"type": "commonjs"}\n');
  // A process of its own: this one's module loader keeps the file's failed load.
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const fixed = await runCli(["gen", "--check"], { cwd: project.root, child: true });
  assert.equal(fixed.code, 0, fixed.stderr);
});

test("a TypeScript migration that reaches for __dirname is told the ES module way, not to make its folder CommonJS", async (t) => {
  const project = createTestProject(t);
  project.writeMigration(
    "001_a.ts",
    'import { defineMigration } from "stepwise-migrate";\nconst here = __dirname;\nexport default defineMigration({ up(db) { db.exec(`CREATE TABLE t${here.length} (id INTEGER)`); } });\n',
  );
  const check = await genThenCheck(project);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/001_a.ts", line: 2, column: 14, code: "REPLAY_REGISTRY_UNLOADABLE" }]);
  assert.ok(check.stderr.includes("import.meta.dirname") && !check.stderr.includes('"type": "commonjs"'), check.stderr);
});

test("a package the registry needs that is not installed is named at the import that needs it, with the fix: a migration's own import, and a driver entry whose library the app lacks", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id INTEGER);\n");
  project.writeMigration(
    "002_b.ts",
    'import { defineMigration } from "stepwise-migrate";\nimport slugify from "slugify-not-installed";\nexport default defineMigration({ up(db) { db.exec(`CREATE TABLE ${slugify("b")} (id INTEGER)`); } });\n',
  );
  const check = await genThenCheck(project);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/002_b.ts", line: 2, column: 21, code: "REPLAY_REGISTRY_UNLOADABLE" }]);
  assert.ok(check.stderr.includes("npm install slugify-not-installed"), check.stderr);
  const status = await runCli(["status", "--json", "--db", "app.db"], { cwd: project.root });
  const error = (JSON.parse(status.stdout) as { error: { code: string; location: string; fix: string } }).error;
  assert.deepEqual([error.code, error.location], ["REGISTRY_LOAD_FAILED", "migrations/002_b.ts:2:21"]);
  assert.ok(error.fix.includes("npm install slugify-not-installed"), error.fix);

  // A CommonJS project's registry loads through require, whose error names the module and a require stack.
  const commonJs = createTestProject(t, { packageJson: { type: "commonjs" } });
  writeFileSync(path.join(commonJs.root, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "commonjs", target: "ES2022", strict: true, esModuleInterop: true, skipLibCheck: true } }));
  commonJs.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id INTEGER);\n");
  commonJs.writeMigration(
    "002_b.ts",
    'import { defineMigration } from "stepwise-migrate";\nimport slugify from "slugify-not-installed";\nexport default defineMigration({ up(db) { db.exec(`CREATE TABLE ${slugify("b")} (id INTEGER)`); } });\n',
  );
  assert.equal((await runCli(["gen"], { cwd: commonJs.root })).code, 0);
  const commonJsStatus = await runCli(["status", "--json", "--db", "app.db"], { cwd: commonJs.root, child: true });
  const commonJsError = (JSON.parse(commonJsStatus.stdout) as { error: { code: string; location: string; fix: string } }).error;
  assert.deepEqual([commonJsError.code, commonJsError.location], ["REGISTRY_LOAD_FAILED", "migrations/002_b.ts:2:21"], commonJsStatus.stdout);
  assert.ok(commonJsError.fix.includes("slugify-not-installed"), commonJsError.fix);
  // require names a subpath as imported; the install command names its package.
  commonJs.writeMigration(
    "002_b.ts",
    'import { defineMigration } from "stepwise-migrate";\nimport slugify from "@not-installed/slugify/lib/index.js";\nexport default defineMigration({ up(db) { db.exec(`CREATE TABLE ${slugify("b")} (id INTEGER)`); } });\n',
  );
  assert.equal((await runCli(["gen"], { cwd: commonJs.root })).code, 0);
  const subpathStatus = await runCli(["status", "--json", "--db", "app.db"], { cwd: commonJs.root, child: true });
  const subpathError = (JSON.parse(subpathStatus.stdout) as { error: { code: string; location: string; fix: string } }).error;
  assert.deepEqual([subpathError.code, subpathError.location], ["REGISTRY_LOAD_FAILED", "migrations/002_b.ts:2:21"], subpathStatus.stdout);
  assert.match(subpathError.fix, /install @not-installed\/slugify\b(?!\/)/, subpathError.fix);

  // A migrations folder beside the project: Node looks for its packages from there, where the project's node_modules is not seen.
  const outside = makeTempDir(t);
  const beside = createTestProject(t);
  writeFileSync(
    path.join(beside.root, "package.json"),
    JSON.stringify({ name: "beside", private: true, type: "module", stepwise: { migrationsDir: path.join(path.relative(beside.root, outside), "m") } }),
  );
  mkdirSync(path.join(outside, "m"));
  writeFileSync(path.join(outside, "m", "001_b.ts"), 'import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up(db) { db.exec("CREATE TABLE b (id INTEGER)"); } });\n');
  assert.equal((await runCli(["gen"], { cwd: beside.root })).code, 0);
  const besideStatus = await runCli(["status", "--json", "--db", "app.db"], { cwd: beside.root, child: true });
  const besideError = (JSON.parse(besideStatus.stdout) as { error: { code: string; location: string; fix: string } }).error;
  const besideFile = `${path.relative(beside.root, outside).split(path.sep).join("/")}/m/001_b.ts`;
  assert.deepEqual([besideError.code, besideError.location], ["REGISTRY_LOAD_FAILED", `${besideFile}:1:33`], besideStatus.stdout);
  assert.doesNotMatch(besideError.fix, /npm install/, "stepwise-migrate is installed in the project");
  assert.match(besideError.fix, /move the migrations folder into the project/);

  // As installed: the entry's module sits in the package's src/drivers/ and imports its library, which this project (in the temp folder) cannot resolve.
  const stub = path.join(project.root, "node_modules", "stepwise-migrate");
  mkdirSync(path.join(stub, "src", "drivers"), { recursive: true });
  const entry = readFileSync(path.join(stub, "better-sqlite3.ts"), "utf8");
  writeFileSync(path.join(stub, "src", "drivers", "better-sqlite3.ts"), `import "better-sqlite3";\n${entry}`);
  writeFileSync(path.join(stub, "better-sqlite3.ts"), 'export * from "./src/drivers/better-sqlite3.ts";\n');
  project.writeMigration(
    "002_b.ts",
    '// uses the entry of a library the app does not have\nimport { defineMigration } from "stepwise-migrate/better-sqlite3";\nexport default defineMigration({ up(db) { db.exec("CREATE TABLE b (id INTEGER)"); } });\n',
  );
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  // A process of its own: this one's module loader keeps the first registry's failed load.
  const entryCheck = await runCli(["gen", "--check"], { cwd: project.root, child: true });
  assert.deepEqual(parseProblemLines(entryCheck.stderr), [{ file: "migrations/002_b.ts", line: 2, column: 33, code: "REPLAY_REGISTRY_UNLOADABLE" }], entryCheck.stderr);
  const entryStatus = await runCli(["status", "--json", "--db", "app.db"], { cwd: project.root, child: true });
  const entryError = (JSON.parse(entryStatus.stdout) as { error: { code: string; location: string; fix: string } }).error;
  assert.deepEqual([entryError.code, entryError.location], ["REGISTRY_LOAD_FAILED", "migrations/002_b.ts:2:33"]);
  for (const text of [entryCheck.stderr, entryError.fix]) assert.ok(text.includes('imports defineMigration from "stepwise-migrate/better-sqlite3", which loads better-sqlite3'), text);
});

test("a postgres registry without a server is not replayed: a note, exit 0", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres" } } });
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id bigserial PRIMARY KEY);\n");
  await runCli(["gen"], { cwd: project.root });
  const check = await runCli(["gen", "--check"], { cwd: project.root, env: { DATABASE_URL: undefined } });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stderr, /warning \[REPLAY_SKIPPED\]: the replay did not run \(no-server\)/);
  assert.equal(existsSync(path.join(project.root, "data")), false);
});

test("the replay uses the config's driver (sql.js), and a driver this runtime cannot load falls back to better-sqlite3, saying so", async (t) => {
  const sqlJs = createTestProject(t, { packageJson: { stepwise: { driver: "sql-js" } } });
  sqlJs.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id INTEGER);\n");
  const viaSqlJs = await genThenCheck(sqlJs);
  assert.equal(viaSqlJs.code, 0, viaSqlJs.stderr);
  assert.match(viaSqlJs.stdout, /Replayed 1 migration on an empty in-memory sql-js database/);

  const bun = createTestProject(t, { packageJson: { stepwise: { driver: "bun-sqlite" } } });
  bun.writeMigration("001_a.sql", "-- migrate:up\nCREAT TABLE a (id INTEGER);\n");
  const viaFallback = await genThenCheck(bun);
  assert.deepEqual(parseProblemLines(viaFallback.stderr), [{ file: "migrations/001_a.sql", line: 2, column: 1, code: "REPLAY_FAILED" }]);
  bun.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id INTEGER);\n");
  const fixed = await genThenCheck(bun);
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stdout, /on an empty in-memory better-sqlite3 database/);
  assert.match(fixed.stderr, /^note: bun-sqlite cannot replay here, so better-sqlite3 did: /m);
});

test("a postgres registry replays on a scratch database of the configured server, which is dropped; the URL's database is untouched", async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres" } } });
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id bigserial PRIMARY KEY);\n-- migrate:down\nDROP TABLE a;\n");
  project.writeMigration("002_b.sql", "-- migrate:up\nCREATE TABLE b (id bigint PRIMARY KEY);\n\nALTER TABLE b ADD CONSTRAINT b_a FOREIGN KEY (id) REFERENCES nowhere (id);\n");
  await runCli(["gen"], { cwd: project.root });
  const env = { DATABASE_URL: database.url };
  // The server is shared with the other tests of this process, whose replays have scratch databases of their own.
  const scratchBefore = await scratchDatabases(database.url);
  const broken = await runCli(["gen", "--check"], { cwd: project.root, env });
  assert.deepEqual(parseProblemLines(broken.stderr), [{ file: "migrations/002_b.sql", line: 4, column: 1, code: "REPLAY_FAILED" }]);
  project.writeMigration("002_b.sql", "-- migrate:up\nCREATE TABLE b (id bigint PRIMARY KEY REFERENCES a (id));\n-- migrate:down\nDROP TABLE b;\n");
  await runCli(["gen"], { cwd: project.root });
  const fixed = await runCli(["gen", "--check"], { cwd: project.root, env });
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stdout, /Replayed 2 migrations on the scratch database stepwise_scratch_\w+ on the PostgreSQL server at [\w.]+:\d+ \(dropped after\), then rolled back migration 2/);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const tables = await client.query("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public'");
    assert.deepEqual(tables.rows, []);
  } finally {
    await client.end();
  }
  const left = (await scratchDatabases(database.url)).filter((name) => !scratchBefore.includes(name));
  assert.deepEqual(left, [], "a scratch database was left behind");
});

/** The scratch databases on the server of `url` now. */
async function scratchDatabases(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ name: string }>("SELECT datname::text AS name FROM pg_catalog.pg_database WHERE starts_with(datname, $1)", [SCRATCH_DATABASE_PREFIX])).rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

test("a fleet's schema pattern in the config (\"tenant_*\") still replays, in a schema of the replay's own, as a tenant's session builds in its schema", async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres", schema: "tenant_*" } } });
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id bigserial PRIMARY KEY);\n-- migrate:down\nDROP TABLE a;\n");
  project.writeMigration("002_b.sql", "-- migrate:up\nCREATE TABLE b (id bigint PRIMARY KEY REFERENCES a (id));\nINSERT INTO nowhere VALUES (1);\n");
  await runCli(["gen"], { cwd: project.root });
  const broken = await runCli(["gen", "--check"], { cwd: project.root, env: { DATABASE_URL: database.url } });
  // At the table the server names, where its position points.
  assert.deepEqual(parseProblemLines(broken.stderr), [{ file: "migrations/002_b.sql", line: 3, column: 13, code: "REPLAY_FAILED" }]);
});

test("a TypeScript rebuild whose SQL is built at run time is still FOREIGN_KEY_PARENT_REBUILT (the storage moved in its transaction)", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE teams (id INTEGER PRIMARY KEY);\nCREATE TABLE players (team_id INTEGER REFERENCES teams (id) ON DELETE CASCADE);\n");
  project.writeMigration(
    "002_rebuild.ts",
    `import { defineMigration } from "stepwise-migrate";\n\nconst verb = ["DR", "OP"].join("");\nexport default defineMigration({\n  up(db: { exec(sql: string): void }) {\n    for (const table of ["teams"]) {\n      db.exec(\`CREATE TABLE \${table}_new (id INTEGER PRIMARY KEY, name TEXT)\`);\n      db.exec(\`\${verb} TABLE \${table}\`);\n      db.exec(\`ALTER TABLE \${table}_new RENAME TO \${table}\`);\n    }\n  },\n});\n`,
  );
  const check = await genThenCheck(project);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/002_rebuild.ts", line: 1, column: 1, code: "FOREIGN_KEY_PARENT_REBUILT" }]);
});

test("gen --check --json reports the replay's problem in its problems, ok false, exit 1", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_a.sql", "-- migrate:up\nCREAT TABLE a (id INTEGER);\n");
  await runCli(["gen"], { cwd: project.root });
  const check = await runCli(["gen", "--check", "--json"], { cwd: project.root });
  assert.equal(check.code, 1, check.stderr);
  const report = JSON.parse(check.stdout) as { ok: boolean; status: string; problems: { code: string; file: string; line: number }[] };
  assert.equal(report.ok, false);
  assert.equal(report.status, "invalid");
  assert.deepEqual(
    report.problems.map((problem) => [problem.code, problem.file, problem.line]),
    [["REPLAY_FAILED", "migrations/001_a.sql", 2]],
  );
});

test("the postgres replay says where it ran: a scratch database on the configured server, named, never in memory; in its problems, its note, --json and the help", async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres" } } });
  project.writeMigration("001_a.sql", "-- migrate:up\nCREATE TABLE a (id bigserial PRIMARY KEY);\n-- migrate:down\nDROP TABLE a;\n");
  project.writeMigration("002_b.sql", "-- migrate:up\nCREAT TABLE b (id bigint);\n");
  const { runReplayCheck, describeReplay } = await import("../codegen/replay.js");
  let loads = 0;
  // The registry as the bin writes it (the config's postgres dialect) and the app imports it.
  const loadRegistry = async () => {
    await project.generateAsBin();
    return ((await tsImport(`${pathToFileURL(project.registryFile).href}?load=${++loads}`, import.meta.url)) as { migrations: MigrationRegistry }).migrations;
  };
  const check = (url: string) =>
    runReplayCheck({ projectRoot: project.root, registryFile: project.registryFile, dialect: "postgres", driver: null, tableName: "schema_migrations", url, loadRegistry });
  const server = new URL(database.url);
  const at = `${server.hostname}:${server.port}`;
  // The URL's credentials are never named: only the server's host and port.
  const withPassword = `postgres://${server.username}:hunter2-secret@${at}${server.pathname}`;
  const failed = await check(withPassword);
  assert.equal(failed.problems.length, 1, JSON.stringify(failed));
  assert.equal(failed.problems[0]!.code, "REPLAY_FAILED");
  assert.ok(failed.problems[0]!.message.includes(`on a scratch database of the PostgreSQL server at ${at}`), failed.problems[0]!.message);
  assert.ok(!JSON.stringify(failed).includes("in-memory") && !JSON.stringify(failed).includes("hunter2"), JSON.stringify(failed));
  project.writeMigration("002_b.sql", "-- migrate:up\nCREATE TABLE b (id bigint);\n-- migrate:down\nDROP TABLE b;\n");
  const passed = await check(database.url);
  assert.deepEqual(passed.problems, []);
  assert.equal(passed.replay.ran, true);
  assert.match(
    passed.replay.ran ? describeReplay(passed.replay) : "",
    new RegExp(`^Replayed 2 migrations on the scratch database ${SCRATCH_DATABASE_PREFIX}\\w+ on the PostgreSQL server at ${at} \\(dropped after\\), then rolled back migration 2\\.$`),
  );
  assert.match(passed.replay.ran ? passed.replay.where : "", new RegExp(`^the scratch database ${SCRATCH_DATABASE_PREFIX}\\w+ on the PostgreSQL server at ${at} \\(dropped after\\)$`));

  // The bin: --json carries the replay, and the help says where each dialect replays.
  await runCli(["gen"], { cwd: project.root });
  const json = await runCli(["gen", "--check", "--json"], { cwd: project.root, env: { DATABASE_URL: database.url } });
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as { replay: { ran: boolean; where: string } | null };
  assert.equal(report.replay?.ran, true);
  assert.match(String(report.replay?.where), new RegExp(`^the scratch database ${SCRATCH_DATABASE_PREFIX}\\w+ on the PostgreSQL server at ${at}`));
  const help = (await runCli(["gen", "--help"], { cwd: project.root })).stdout.replace(/\s+/g, " ");
  assert.ok(help.includes("--no-replay") && help.includes("a scratch database created on the configured server") && !help.includes("empty in-memory database (and"), help);
});

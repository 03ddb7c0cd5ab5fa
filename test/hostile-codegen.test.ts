/**
 * Hostile migration folders through the real bin: every entry named like a migration is either a
 * migration or refused by name, SQL that would silently run the wrong thing is refused with its
 * position, and paths gen cannot use get their true cause, never a stack trace.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager } from "./support/stepwise.js";
import { createTestProject, fixturesDir, makeTempDir, readBytes, runCli, type RunResult } from "./support/project.js";
import { parseProblemLines, type PrintedProblem } from "./support/problem-lines.js";
import { prepareUnprivilegedCli, type UnprivilegedCli } from "./support/unprivileged-cli.js";

const VALID_SQL = "-- migrate:up\nCREATE TABLE t (id INTEGER);\n";

function assertNoStackTrace(result: RunResult): void {
  assert.doesNotMatch(result.stderr, /^\s+at .+:\d+:\d+\)?$/m, result.stderr);
  assert.doesNotMatch(result.stderr, /unexpected error/i, result.stderr);
}

function sortPrinted(problems: readonly PrintedProblem[]): PrintedProblem[] {
  return [...problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.code.localeCompare(b.code));
}

// The staged copy (with the codegen tools), so the unprivileged child can read what it runs even when
// the checkout sits under a folder only root can enter.
let unprivileged: UnprivilegedCli;
before(() => {
  unprivileged = prepareUnprivilegedCli({ extraPackages: ["ts-morph", "prettier"] });
});
after(() => unprivileged?.dispose());

test("every entry named like a migration is a migration or refused by name, and none of them also reports a VERSION_GAP", async (t) => {
  const project = createTestProject(t);
  const outside = makeTempDir(t);
  writeFileSync(path.join(outside, "real.sql"), VALID_SQL);
  mkdirSync(path.join(outside, "folder"));

  // Entry name → the code it must be refused with, and (for a bad name) the rename the message offers.
  const refused: Record<string, readonly [string, string?]> = {
    "002_b.SQL": ["BAD_FILE_NAME", "002_b.sql"],
    "003_c.mts": ["BAD_FILE_NAME", "003_c.ts"],
    "004_d.sql.txt": ["BAD_FILE_NAME", "004_d.sql"],
    "005_e.d.ts": ["BAD_FILE_NAME"],
    "006_f.sql ": ["BAD_FILE_NAME", "006_f.sql"],
    " 007_g.sql": ["BAD_FILE_NAME", "007_g.sql"],
    "008_h.sql\u00A0": ["BAD_FILE_NAME", "008_h.sql"],
    "009_UPPER.sql": ["BAD_FILE_NAME", "009_upper.sql"],
    "\u0661\u0660_arabic_digits.sql": ["BAD_FILE_NAME", "10_arabic_digits.sql"],
    ".011_hidden.sql": ["BAD_FILE_NAME", "011_hidden.sql"],
    "012-dash.sql": ["BAD_FILE_NAME", "012_dash.sql"],
    "013nounderscore.sql": ["BAD_FILE_NAME", "013_nounderscore.sql"],
    "014_js.mjs": ["BAD_FILE_NAME", "014_js.ts"],
    "015_folder": ["MIGRATION_NOT_A_FILE"],
    "016_link.sql": ["MIGRATION_SYMLINK"],
    "017_dangling.sql": ["MIGRATION_SYMLINK"],
    "018_folder_link.sql": ["MIGRATION_SYMLINK"],
    "019_pipe.sql": ["MIGRATION_NOT_A_FILE"],
    "020_tsx.tsx": ["BAD_FILE_NAME", "020_tsx.ts"],
    "schema.sql": ["BAD_FILE_NAME"],
  };
  project.writeMigration("001_init.sql", VALID_SQL);
  for (const name of Object.keys(refused)) {
    const target = path.join(project.migrationsDir, name);
    if (name === "015_folder") mkdirSync(target);
    else if (name === "016_link.sql") symlinkSync(path.join(outside, "real.sql"), target);
    else if (name === "017_dangling.sql") symlinkSync(path.join(outside, "missing.sql"), target);
    else if (name === "018_folder_link.sql") symlinkSync(path.join(outside, "folder"), target);
    else if (name === "019_pipe.sql") execFileSync("mkfifo", [target]);
    else writeFileSync(target, VALID_SQL);
  }
  project.writeMigration("021_last.sql", VALID_SQL);
  // Left alone: helpers, notes, an editor's swap file, and a subfolder's files not named as migrations
  // (one that is is MIGRATIONS_IN_SUBFOLDER: test/foreign-migrations.test.ts).
  project.writeMigration("README.md", "# notes\n");
  project.writeMigration("helpers.ts", "export const x = 1;\n");
  project.writeMigration("types.d.ts", "export declare const x: number;\n");
  project.writeMigration(".001_init.sql.swp", "swap");
  mkdirSync(path.join(project.migrationsDir, "lib"));
  writeFileSync(path.join(project.migrationsDir, "lib", "shared.sql"), "not a migration");

  const expected = Object.entries(refused).map(([name, [code]]) => ({ file: `migrations/${name}`, line: 1, column: 1, code }));
  for (const args of [["gen"], ["gen", "--check"]]) {
    const result = await runCli(args, { cwd: project.root });
    assert.equal(result.code, 1, result.stdout);
    assertNoStackTrace(result);
    const printed = parseProblemLines(result.stderr);
    assert.deepEqual(sortPrinted(printed), sortPrinted(expected), result.stderr);
    for (const [name, [, rename]] of Object.entries(refused)) {
      if (!rename) continue;
      const line = result.stderr.split("\n").find((text) => text.startsWith(`migrations/${name}:1:1:`));
      assert.ok(line?.includes(`rename it to ${rename}`), `${JSON.stringify(name)}: ${line}`);
    }
  }
  assert.equal(existsSync(project.registryFile), false);
});

test("two names for one version, 2_b.sql next to 002_a.sql, are a duplicate", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", VALID_SQL);
  project.writeMigration("002_a.sql", VALID_SQL);
  project.writeMigration("2_b.sql", VALID_SQL);
  const result = await runCli(["gen"], { cwd: project.root });
  assert.equal(result.code, 1);
  assert.deepEqual(parseProblemLines(result.stderr), [
    { file: "migrations/002_a.sql", line: 1, column: 1, code: "DUPLICATE_VERSION" },
    { file: "migrations/2_b.sql", line: 1, column: 1, code: "DUPLICATE_VERSION" },
  ]);
});

test("markers and flags spelled another way are refused with line and column through the bin, and nothing is generated", async (t) => {
  const project = createTestProject(t);
  const variants = [
    "-- MIGRATE:DOWN",
    "--migrate:down",
    "-- migrate :down",
    "-- migrate: down",
    "--  migrate:down",
    "-- migrate-down",
    "-- migrate_down",
    "-- migration:down",
    "-- +migrate Down",
    "-- down:",
    "-- Down",
    "--\tmigrate:down",
    "--\u00A0migrate:down",
    "-- migrate:d\u043Ewn",
    "-- \uFF4D\uFF49\uFF47\uFF52\uFF41\uFF54\uFF45:down",
  ];
  variants.forEach((marker, index) => {
    project.writeMigration(`${String(index + 1).padStart(3, "0")}_variant.sql`, `-- migrate:up\nCREATE TABLE t${index} (id INTEGER);\n  ${marker}\nDROP TABLE t${index};\n`);
  });
  const result = await runCli(["gen"], { cwd: project.root });
  assert.equal(result.code, 1);
  assertNoStackTrace(result);
  assert.deepEqual(
    parseProblemLines(result.stderr),
    variants.map((_, index) => ({ file: `migrations/${String(index + 1).padStart(3, "0")}_variant.sql`, line: 3, column: 3, code: "SQL_MALFORMED_MARKER" })),
  );
  for (const line of result.stderr.split("\n").filter((text) => text.includes("[SQL_MALFORMED_MARKER]"))) {
    assert.ok(line.includes(`"-- migrate:down"`), line);
  }
  assert.equal(existsSync(project.registryFile), false);
});

test("exact markers with CRLF line endings, a BOM, indentation and trailing spaces are still markers", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_crlf.sql", "\uFEFF-- description: CRLF\r\n  -- migrate:up transaction:false  \r\nVACUUM;\r\n-- migrate:down \r\nSELECT 1;\r\n");
  const [migration] = await project.load();
  assert.equal(migration?.transaction, false);
  assert.equal(migration?.reversible, true);
  assert.equal(migration?.description, "CRLF");
});

test("a migration whose keywords are data, names and trigger syntax is accepted and really runs inside its transaction", async (t) => {
  const project = createTestProject(t);
  cpSync(path.join(fixturesDir, "codegen", "sql-transaction-control", "004_not_control.sql"), path.join(project.migrationsDir, "001_not_control.sql"));
  const migrations = await project.load();
  const db = new Database(project.databasePath());
  t.after(() => db.close());
  new MigrationManager(db, migrations).up();
  db.prepare(`INSERT INTO "end" ("begin") VALUES (11), (1)`).run();
  assert.deepEqual(db.prepare("SELECT note FROM audit ORDER BY rowid").pluck().all(), ["big", "small"]);
});

test("COMMIT; BEGIN; in a transactional SQL migration is refused by gen, and the database is never touched", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER);\n");
  await project.generate();
  const registry = readBytes(project.registryFile);
  project.writeMigration("002_commit.sql", "-- migrate:up\nINSERT INTO t VALUES (1);\ncommit transaction;\n  begin immediate;\nINSERT INTO missing VALUES (1);\n");
  const result = await runCli(["gen"], { cwd: project.root });
  assert.equal(result.code, 1);
  assert.deepEqual(parseProblemLines(result.stderr), [
    { file: "migrations/002_commit.sql", line: 3, column: 1, code: "SQL_TRANSACTION_CONTROL" },
    { file: "migrations/002_commit.sql", line: 4, column: 3, code: "SQL_TRANSACTION_CONTROL" },
  ]);
  assert.ok(result.stderr.includes("transaction:false"), result.stderr);
  assert.ok(readBytes(project.registryFile).equals(registry), "a failed gen keeps the old registry");
});

test("a migration that is not UTF-8 is refused at its first bad byte rather than inlined with replaced characters", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", VALID_SQL);
  // Latin-1 "café" (0xE9), and UTF-16 with its byte order mark.
  writeFileSync(path.join(project.migrationsDir, "002_latin1.sql"), Buffer.concat([Buffer.from("-- migrate:up\nINSERT INTO t VALUES ('caf"), Buffer.from([0xe9]), Buffer.from("');\n")]));
  writeFileSync(path.join(project.migrationsDir, "003_utf16.ts"), Buffer.from("\uFEFFexport default 1;\n", "utf16le"));
  const result = await runCli(["gen"], { cwd: project.root });
  assert.equal(result.code, 1, result.stdout);
  assert.deepEqual(parseProblemLines(result.stderr), [
    { file: "migrations/002_latin1.sql", line: 2, column: 27, code: "FILE_NOT_UTF8" },
    { file: "migrations/003_utf16.ts", line: 1, column: 1, code: "FILE_NOT_UTF8" },
  ]);
});

test("a refused name whose version a valid migration holds is never offered a rename onto that migration: the message offers the next free version, and takenBy names the holder", async (t) => {
  // Renamed as first offered, 001_A.sql would have overwritten 001_a.sql where names differ by case (Linux), and 002-b.sql would have replaced 002_b.sql.
  const cases = [
    { files: ["001_a.sql", "001_A.sql"], refused: "001_A.sql", takenBy: "migrations/001_a.sql", offered: "002_a.sql" },
    { files: ["001_cafe.sql", "001_cafe\u0301.sql"], refused: "001_cafe\u0301.sql", takenBy: "migrations/001_cafe.sql", offered: "002_cafe.sql" },
    { files: ["001_x.sql", "002_b_c.sql", "002-b-c.sql", "003_y.sql"], refused: "002-b-c.sql", takenBy: "migrations/002_b_c.sql", offered: "004_b_c.sql" },
    { files: ["001_x.sql", "002_other.sql", "2_B.sql"], refused: "2_B.sql", takenBy: "migrations/002_other.sql", offered: "003_b.sql" },
  ];
  for (const { files, refused, takenBy, offered } of cases) {
    const project = createTestProject(t);
    for (const name of files) project.writeMigration(name, VALID_SQL);
    const result = await runCli(["gen", "--json"], { cwd: project.root });
    assert.equal(result.code, 1, result.stderr);
    const problems = (JSON.parse(result.stdout) as { problems: { code: string; file: string; message: string; takenBy?: string }[] }).problems;
    assert.deepEqual(
      problems.map((problem) => [problem.code, problem.file, problem.takenBy]),
      [["BAD_FILE_NAME", `migrations/${refused}`, takenBy]],
    );
    assert.ok(problems[0]!.message.endsWith(`or rename it to ${offered}`), problems[0]!.message);
    assert.ok(!problems[0]!.message.includes(`rename it to ${takenBy.slice("migrations/".length)}`), problems[0]!.message);
  }
  // A refused name whose version nobody else holds keeps its plain rename, with no takenBy.
  const alone = createTestProject(t);
  alone.writeMigration("001_A.sql", VALID_SQL);
  const problems = (JSON.parse((await runCli(["gen", "--json"], { cwd: alone.root })).stdout) as { problems: { message: string; takenBy?: string }[] }).problems;
  assert.deepEqual([problems.length, problems[0]!.takenBy, problems[0]!.message.endsWith("rename it to 001_a.sql")], [1, undefined, true]);
});

test("gen --dir naming a file reports MIGRATIONS_DIR_NOT_A_FOLDER, not a missing folder or a stack trace", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", VALID_SQL);
  writeFileSync(path.join(project.root, "not-a-folder"), "x");
  for (const args of [
    ["gen", "--dir", "not-a-folder"],
    ["gen", "--check", "--dir", "not-a-folder"],
    ["gen", "--dir", "not-a-folder/inside"],
  ]) {
    const result = await runCli(args, { cwd: project.root });
    assert.equal(result.code, 1, args.join(" "));
    assertNoStackTrace(result);
    assert.deepEqual(
      parseProblemLines(result.stderr).map((p) => p.code),
      ["MIGRATIONS_DIR_NOT_A_FOLDER"],
      result.stderr,
    );
  }
});

test("a migrations folder whose path from the registry holds #, % or ? (which an import reads as URL syntax) is refused before any registry is written", async (t) => {
  for (const folder of ["db/v%31", "db/m#x", "db/what?"]) {
    const project = createTestProject(t);
    const dir = path.join(project.root, folder);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "001_a.ts"), 'import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up(db) { db.exec("CREATE TABLE good (x)"); } });\n');
    const result = await runCli(["gen", "--dir", folder], { cwd: project.root });
    assert.equal(result.code, 1, result.stdout);
    assert.deepEqual(
      parseProblemLines(result.stderr).map((problem) => [problem.file, problem.code]),
      [[folder, "MIGRATIONS_DIR_UNIMPORTABLE"]],
      folder,
    );
    assert.equal(existsSync(path.join(project.root, "generated", "registry.ts")), false, folder);
  }
  // SQL migrations are inlined, not imported: such a folder holding only them is fine.
  const sqlOnly = createTestProject(t);
  mkdirSync(path.join(sqlOnly.root, "db/v%31"), { recursive: true });
  writeFileSync(path.join(sqlOnly.root, "db/v%31/001_a.sql"), VALID_SQL);
  assert.equal((await runCli(["gen", "--dir", "db/v%31"], { cwd: sqlOnly.root })).code, 0);
});

test("gen --out under a regular file reports REGISTRY_UNWRITABLE naming that file, not a stack trace", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", VALID_SQL);
  writeFileSync(path.join(project.root, "blocker"), "x");
  for (const args of [
    ["gen", "--out", "blocker/registry.ts"],
    ["gen", "--check", "--out", "blocker/deeper/registry.ts"],
  ]) {
    const result = await runCli(args, { cwd: project.root });
    assert.equal(result.code, 1, args.join(" "));
    assertNoStackTrace(result);
    const printed = parseProblemLines(result.stderr);
    assert.deepEqual(
      printed.map((p) => [p.code, p.file]),
      [["REGISTRY_UNWRITABLE", args.at(-1)]],
      result.stderr,
    );
    assert.ok(result.stderr.includes("blocker is a file"), result.stderr);
  }
  assert.equal(readFileSync(path.join(project.root, "blocker"), "utf8"), "x");
});

test("a symbolic link on the registry's or the migrations folder's path that leads nowhere is refused naming the link, for gen, gen --check and create, and nothing is written", async (t) => {
  // Written through, such a link fails as ENOENT or ELOOP: "check the folder is writable", or "create the folder" with create, which then fails the same way.
  const cases = [
    { link: "generated", target: "nowhere", args: ["gen"], code: "REGISTRY_UNWRITABLE", kind: "dangling" },
    { link: "generated", target: "generated", args: ["gen", "--check"], code: "REGISTRY_UNWRITABLE", kind: "loop" },
    { link: "out", target: "missing/deeper", args: ["gen", "--out", "out/sub/registry.ts"], code: "REGISTRY_UNWRITABLE", kind: "dangling" },
    { link: "migrations", target: "nowhere", args: ["gen"], code: "MIGRATIONS_DIR_MISSING", kind: "dangling" },
    { link: "migrations", target: "migrations", args: ["gen"], code: "MIGRATIONS_DIR_UNREADABLE", kind: "loop" },
  ] as const;
  for (const { link, target, args, code, kind } of cases) {
    const project = createTestProject(t);
    if (link !== "migrations") project.writeMigration("001_init.sql", VALID_SQL);
    symlinkSync(target, path.join(project.root, link));
    const result = await runCli([...args, "--json"], { cwd: project.root });
    assert.equal(result.code, 1, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    const problems = (JSON.parse(result.stdout) as { problems: { code: string; link?: unknown }[] }).problems;
    assert.deepEqual(
      problems.map((problem) => [problem.code, problem.link]),
      [[code, { file: link, target, kind }]],
      args.join(" "),
    );
    assert.deepEqual(readdirSync(project.root).sort(), [link, ...(link === "migrations" ? [] : ["migrations"]), "node_modules", "package.json", "tsconfig.json"].sort());
  }
  for (const target of ["nowhere", "migrations"]) {
    const project = createTestProject(t);
    symlinkSync(target, project.migrationsDir);
    const result = await runCli(["create", "add things"], { cwd: project.root });
    assert.equal(result.code, 2, result.stderr);
    assertNoStackTrace(result);
    assert.match(result.stderr, /^error \[USAGE\]: .*migrations is a symbolic link to /m);
    assert.equal(lstatSync(project.migrationsDir).isSymbolicLink(), true);
    assert.equal(existsSync(path.join(project.root, "nowhere")), false);
  }
});

test("gen --out naming a file that is not TypeScript (.js, no extension, a .d.ts declaration) reports REGISTRY_UNWRITABLE and writes nothing: the registry is TypeScript", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", VALID_SQL);
  // A declaration file is never emitted as JavaScript, so an app importing the registry would find nothing to run.
  for (const out of ["generated/registry.js", "generated/registry.mjs", "generated/registry", "generated/registry.d.ts", "generated/registry.d.mts"]) {
    const result = await runCli(["gen", "--out", out], { cwd: project.root });
    assert.equal(result.code, 1, out);
    assert.deepEqual(
      parseProblemLines(result.stderr).map((p) => [p.code, p.file]),
      [["REGISTRY_UNWRITABLE", out]],
      result.stderr,
    );
    assert.equal(existsSync(path.join(project.root, out)), false, out);
  }
  assert.equal((await runCli(["gen", "--out", "generated/registry.mts"], { cwd: project.root })).code, 0);
});

test("a registry path that is a symbolic link is REGISTRY_UNWRITABLE for gen and --check, and the link and the file it names stay as they were", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", VALID_SQL);
  assert.equal((await project.generate()).ok, true);
  // A registry shared with another package through a link: replacing the link would leave that package's copy stale.
  const shared = path.join(project.root, "shared", "registry.ts");
  mkdirSync(path.dirname(shared));
  renameSync(project.registryFile, shared);
  symlinkSync(path.join("..", "shared", "registry.ts"), project.registryFile);
  const before = readFileSync(shared, "utf8");
  project.writeMigration("002_next.sql", "-- migrate:up\nCREATE TABLE u (id INTEGER);\n");
  for (const check of [false, true]) {
    const result = await project.generate({ check });
    assert.deepEqual(
      result.problems.map((p) => [p.code, p.file]),
      [["REGISTRY_UNWRITABLE", "generated/registry.ts"]],
    );
    assert.equal(lstatSync(project.registryFile).isSymbolicLink(), true, "the link is still a link");
    assert.equal(readFileSync(shared, "utf8"), before);
  }
});

test("a registry whose folder is a symbolic link from where its imports load other migrations is REGISTRY_UNWRITABLE; one where they load the same files is written", async (t) => {
  const project = createTestProject(t);
  const migration = (table: string) =>
    `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up(db) {\n    db.exec("CREATE TABLE ${table} (id INTEGER)");\n  },\n});\n`;
  project.writeMigration("001_init.ts", migration("from_migrations"));
  // Node resolves "../migrations/001_init.js" from shared/generated, where a folder of the same name holds another migration.
  mkdirSync(path.join(project.root, "shared", "generated"), { recursive: true });
  mkdirSync(path.join(project.root, "shared", "migrations"));
  writeFileSync(path.join(project.root, "shared", "migrations", "001_init.ts"), migration("from_shared"));
  symlinkSync(path.join("shared", "generated"), path.join(project.root, "generated"));
  for (const args of [["gen"], ["gen", "--check"]]) {
    const result = await runCli(args, { cwd: project.root });
    assert.equal(result.code, 1, `${args.join(" ")}: ${result.stdout}`);
    assertNoStackTrace(result);
    assert.deepEqual(parseProblemLines(result.stderr), [{ file: "generated/registry.ts", line: 1, column: 1, code: "REGISTRY_UNWRITABLE" }]);
  }
  assert.deepEqual(readdirSync(path.join(project.root, "shared", "generated")), [], "nothing was written");
  // With no registry written, up has nothing to run.
  const up = await runCli(["up", "--db", project.databasePath()], { cwd: project.root });
  assert.notEqual(up.code, 0, up.stdout);
  assert.equal(existsSync(project.databasePath()), false, "no migration ran");

  // The whole project reached through a link (as macOS reaches /tmp): the imports reach the same folder from either side, so the registry is written and runs what was hashed.
  const linkedProject = path.join(makeTempDir(t), "app");
  symlinkSync(project.root, linkedProject);
  const written = await runCli(["gen", "--out", "shared/generated/registry.ts"], { cwd: linkedProject });
  assert.equal(written.code, 0, written.stderr);
  const applied = await runCli(["up", "--db", project.databasePath()], { cwd: linkedProject, env: { STEPWISE_SKIP_REGISTRY_CHECK: "1" } });
  assert.equal(applied.code, 0, applied.stderr);
  const db = new Database(project.databasePath(), { readonly: true });
  assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'from_%'").all(), [{ name: "from_migrations" }]);
  db.close();
});

test("a registry path that is a folder or a named pipe is REGISTRY_UNREADABLE, and gen does not block reading the pipe", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", VALID_SQL);
  mkdirSync(path.join(project.root, "generated", "folder.ts"), { recursive: true });
  execFileSync("mkfifo", [path.join(project.root, "generated", "pipe.ts")]);
  for (const out of ["generated/folder.ts", "generated/pipe.ts"]) {
    for (const args of [
      ["gen", "--out", out],
      ["gen", "--check", "--out", out],
    ]) {
      const result = await runCli(args, { cwd: project.root, timeoutMs: 30_000 });
      assert.equal(result.signal, null, `${args.join(" ")} blocked`);
      assert.equal(result.code, 1, result.stdout);
      assertNoStackTrace(result);
      assert.deepEqual(parseProblemLines(result.stderr), [{ file: out, line: 1, column: 1, code: "REGISTRY_UNREADABLE" }]);
    }
  }
});

test("a prettier config that cannot be parsed is FORMATTER_FAILED at that file, and the old registry stays", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", VALID_SQL);
  await project.generate();
  const registry = readBytes(project.registryFile);
  project.writeMigration("002_next.sql", VALID_SQL.replace(" t ", " t2 "));
  writeFileSync(path.join(project.root, ".prettierrc"), "{ not: [valid\n");
  const result = await runCli(["gen"], { cwd: project.root });
  assert.equal(result.code, 1, result.stdout);
  assertNoStackTrace(result);
  assert.deepEqual(parseProblemLines(result.stderr), [{ file: ".prettierrc", line: 1, column: 1, code: "FORMATTER_FAILED" }]);
  assert.ok(readBytes(project.registryFile).equals(registry));
});

test("create with --dir naming a file, or a folder under a file, is a usage error (exit 2), not a stack trace", async (t) => {
  const project = createTestProject(t);
  writeFileSync(path.join(project.root, "not-a-folder"), "x");
  for (const dir of ["not-a-folder", "not-a-folder/inside"]) {
    const result = await runCli(["create", "add things", "--dir", dir], { cwd: project.root });
    assert.equal(result.code, 2, result.stderr);
    assertNoStackTrace(result);
    assert.ok(result.stderr.includes("not-a-folder"), result.stderr);
  }
  assert.equal(readFileSync(path.join(project.root, "not-a-folder"), "utf8"), "x");
});

test("an unreadable migration and an unlistable folder report their own codes, run as a user file modes apply to", async (t) => {
  if (unprivileged.unavailable) return t.skip(unprivileged.unavailable);
  const project = unprivileged.createProject(t);
  project.writeMigration("001_init.sql", VALID_SQL);
  const secret = project.writeMigration("002_secret.sql", VALID_SQL);
  chmodSync(project.root, 0o777);
  chmodSync(project.migrationsDir, 0o755);
  chmodSync(secret, 0o000);
  // gen writes the registry and its cache; let the unprivileged user do both.
  mkdirSync(path.join(project.root, "generated"), { mode: 0o777 });
  chmodSync(path.join(project.root, "node_modules"), 0o777);

  const unreadable = await unprivileged.run(["gen"], { cwd: project.root });
  assert.equal(unreadable.code, 1, unreadable.stdout);
  assertNoStackTrace(unreadable);
  assert.deepEqual(parseProblemLines(unreadable.stderr), [{ file: "migrations/002_secret.sql", line: 1, column: 1, code: "MIGRATION_UNREADABLE" }]);

  chmodSync(project.migrationsDir, 0o311);
  const unlistable = await unprivileged.run(["gen"], { cwd: project.root });
  chmodSync(project.migrationsDir, 0o755);
  assert.equal(unlistable.code, 1, unlistable.stdout);
  assertNoStackTrace(unlistable);
  assert.deepEqual(parseProblemLines(unlistable.stderr), [{ file: "migrations", line: 1, column: 1, code: "MIGRATIONS_DIR_UNREADABLE" }]);
});

test("a file a TypeScript migration imports that exists but cannot be read is MIGRATION_UNREADABLE at that file, not TS_IMPORT_NOT_FOUND", async (t) => {
  if (unprivileged.unavailable) return t.skip(unprivileged.unavailable);
  const project = unprivileged.createProject(t);
  project.writeMigration("001_init.sql", VALID_SQL);
  project.writeMigration("002_seed.ts", `import { defineMigration } from "stepwise-migrate";\nimport { seed } from "./seed.js";\nexport default defineMigration({ up(db) { seed(db); } });\n`);
  const helper = project.writeMigration("seed.ts", `export function seed(db: { exec(sql: string): void }): void { db.exec("SELECT 1"); }\n`);
  chmodSync(project.root, 0o777);
  chmodSync(helper, 0o000);
  mkdirSync(path.join(project.root, "generated"), { mode: 0o777 });
  chmodSync(path.join(project.root, "node_modules"), 0o777);

  for (const args of [["gen"], ["gen", "--check"]]) {
    const result = await unprivileged.run(args, { cwd: project.root });
    assert.equal(result.code, 1, result.stdout);
    assertNoStackTrace(result);
    assert.deepEqual(
      parseProblemLines(result.stderr).filter((p) => p.code !== "REGISTRY_STALE"),
      [{ file: "migrations/seed.ts", line: 1, column: 1, code: "MIGRATION_UNREADABLE" }],
      args.join(" "),
    );
  }
});

test("a description with 300,000 spaces inside, and other huge lines, are read whole without hanging gen", { timeout: 60_000 }, async (t) => {
  const spaces = " ".repeat(300_000);
  const project = createTestProject(t);
  project.writeMigration("001_described.sql", `-- description: a${spaces}b\n-- migrate:up\nSELECT 1;\n`);
  project.writeMigration("002_long_marker.sql", `-- migrate:up${spaces}transaction:false${"\t".repeat(200_000)}\nVACUUM;\n`);
  project.writeMigration("003_long_comment.sql", `--${spaces}x\n-- migrate:up\nSELECT 1;${spaces}-- ${"migrate ".repeat(20_000)}\n`);
  project.writeMigration("004_described.ts", `import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ description: "a${spaces}b", up() {} });\n`);
  // A hang guard, not a speed claim: a quadratic regex took minutes here.
  const result = await runCli(["gen"], { cwd: project.root, timeoutMs: 20_000 });
  assert.equal(result.signal, null, "gen was killed by the hang guard");
  assert.equal(result.code, 0, result.stderr);
  const migrations = await project.load();
  assert.deepEqual(
    migrations.map((m) => [m.version, m.description, m.transaction]),
    [
      [1, `a${spaces}b`, true],
      [2, null, false],
      [3, null, true],
      [4, `a${spaces}b`, true],
    ],
  );
});

test(
  "a TypeScript migration thousands of levels deep is read when TypeScript parses it (a 4,000-term + chain, in the migration or a helper) and TS_TOO_DEEPLY_NESTED at its file when TypeScript's parser cannot; gen, gen --check and the runtime commands never crash",
  { timeout: 120_000 },
  async (t) => {
    const terms = (count: number) => Array.from({ length: count }, (_, i) => `"INSERT INTO seed VALUES (${i});"`).join(" +\n  ");
    const migration = (body: string) =>
      `import { defineMigration } from "stepwise-migrate/better-sqlite3";\n${body}\nexport default defineMigration({ up(db) { db.exec("CREATE TABLE seed (a)"); db.exec(sql); } });\n`;
    const project = createTestProject(t);
    project.writeMigration("001_init.sql", VALID_SQL);
    await project.generateAsBin();
    project.writeMigration("002_seed.ts", migration(`import { more } from "./seed-more.js";\nconst sql =\n  ${terms(4000)} + more;`));
    project.writeMigration("seed-more.ts", `export const more = ${terms(4000).replaceAll("seed VALUES (", "seed VALUES (-")};\n`);

    // The runtime's registry check reads the folder as gen does.
    const stale = await runCli(["status", "--db", "app.db", "--json"], { cwd: project.root });
    assertNoStackTrace(stale);
    assert.equal(stale.code, 1, stale.stderr);
    const { code, changes, problems } = JSON.parse(stale.stdout).error as { code: string; changes: unknown[]; problems: unknown[] };
    assert.deepEqual({ code, changes, problems }, { code: "REGISTRY_STALE", changes: [{ file: "migrations/002_seed.ts", change: "added" }], problems: [] });
    const gen = await runCli(["gen"], { cwd: project.root });
    assert.equal(gen.code, 0, gen.stderr);
    const check = await runCli(["gen", "--check", "--json"], { cwd: project.root });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(JSON.parse(check.stdout).replay.applied, 2);
    const up = await runCli(["up", "--db", "app.db"], { cwd: project.root });
    assert.equal(up.code, 0, up.stderr);
    const db = new Database(project.databasePath(), { readonly: true });
    t.after(() => db.close());
    assert.equal(db.prepare("SELECT count(*) FROM seed").pluck().get(), 8000);

    // Nesting TypeScript's own recursive parser (and tsc) cannot read, in a helper and in the migration.
    const ternary = (count: number) => `${Array.from({ length: count }, (_, i) => `n === ${i} ? "INSERT INTO seed VALUES (${i});" :`).join("\n  ")} ""`;
    project.writeMigration("seed-more.ts", `const pick = (n: number): string =>\n  ${ternary(20_000)};\nexport const more = pick(1);\n`);
    project.writeMigration("003_nested.ts", migration(`const sql = ${"(".repeat(20_000)}"SELECT 1;"${")".repeat(20_000)};`));
    const refused = await runCli(["gen"], { cwd: project.root });
    assertNoStackTrace(refused);
    assert.equal(refused.code, 1, refused.stderr);
    const expected = [
      { file: "migrations/003_nested.ts", line: 1, column: 1, code: "TS_TOO_DEEPLY_NESTED" },
      { file: "migrations/seed-more.ts", line: 1, column: 1, code: "TS_TOO_DEEPLY_NESTED" },
    ];
    assert.deepEqual(sortPrinted(parseProblemLines(refused.stderr)), expected);
    const checked = await runCli(["gen", "--check", "--json"], { cwd: project.root });
    assert.equal(checked.code, 1, checked.stdout);
    assert.deepEqual(
      sortPrinted(
        JSON.parse(checked.stdout)
          .problems.filter((p: PrintedProblem) => p.code !== "REGISTRY_STALE")
          .map(({ file, line, column, code }: PrintedProblem) => ({ file, line, column, code })),
      ),
      expected,
    );
    const status = await runCli(["status", "--db", "app.db", "--json"], { cwd: project.root });
    assert.equal(status.code, 1, status.stderr);
    const error = JSON.parse(status.stdout).error as { code: string; problems: PrintedProblem[] };
    assert.equal(error.code, "REGISTRY_STALE");
    assert.deepEqual(sortPrinted(error.problems.map(({ file, line, column, code }) => ({ file, line, column, code }))), expected);
  },
);

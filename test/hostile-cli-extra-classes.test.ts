/**
 * The other instances of each class of failure in hostile-cli-extra.test.ts: the tester named one
 * example per class; these are the neighbours a fix of only that example would miss. Real files,
 * real SQLite databases and the real bin; assertions on codes, exit codes and structured fields.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { escapeControlCharacters } from "../codegen/problems.js";
import { databasePathFromUrl, translateFolderError } from "../src/cli/database-path.js";
import { MigrationManager, StepwiseError } from "./support/stepwise.js";
import { HistoryStore, isValidTableName } from "../src/core/history.js";
import { PostgresHistoryStore } from "../src/core/dialects/postgres.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";
import { parseMigrationFileName } from "../codegen/migration-file.js";
import { createBinCli } from "../codegen/bin-cli.js";
import { parseSqlMigrationSource } from "../src/shared/sql-source.js";
import { quoteForShell } from "../src/shared/shell-quote.js";
import { binArgs } from "./support/compiled-bin.js";
import { cliNode, createTestProject, repoRoot, runCli, runNode, type RunResult } from "./support/project.js";
import { parseProblemLines } from "./support/problem-lines.js";

function printedCode(result: RunResult): string | null {
  return /error \[([A-Z_]+)\]/.exec(result.stderr)?.[1] ?? null;
}

function problemsOf(source: string): Array<{ code: string; line: number }> {
  const result = parseSqlMigrationSource(source);
  return result.ok ? [] : result.problems.map((problem) => ({ code: problem.code, line: problem.line }));
}

const STACK_TRACE = /unexpected error|^\s+at .+:\d+:\d+\)?$/m;

test("a trigger is recognised by grammar position only: bare trigger/begin/end identifiers never swallow a later COMMIT, and a real trigger body still holds its ;s", () => {
  const cases: Array<[string, string, number]> = [
    ["space before ;", "-- migrate:up\nCREATE TABLE t (x) ;\nCOMMIT\n", 3],
    ["quoted trigger name", '-- migrate:up\nCREATE TABLE "trigger" (begin INTEGER, end INTEGER);\nROLLBACK;\n', 3],
    ["column named trigger", "-- migrate:up\nCREATE TABLE t (trigger INTEGER, begin TEXT);\nEND;\n", 3],
    ["view over begin", "-- migrate:up\nCREATE TEMPORARY VIEW begin AS SELECT 1 AS trigger;\nSAVEPOINT s;\n", 3],
    ["unique index named trigger", "-- migrate:up\nCREATE TABLE t (begin INTEGER);\nCREATE UNIQUE INDEX trigger ON t (begin);\nCOMMIT;\n", 4],
    ["virtual table named trigger", "-- migrate:up\nCREATE VIRTUAL TABLE trigger USING fts5(begin);\nCOMMIT;\n", 3],
    ["temp view named trigger", "-- migrate:up\nCREATE TEMP VIEW trigger AS SELECT 1 AS begin;\nRELEASE s;\n", 3],
    [
      "real trigger with begin/end identifiers in header and body",
      "-- migrate:up\nCREATE TABLE t (begin INTEGER, end INTEGER);\nCREATE TEMP TRIGGER IF NOT EXISTS trg AFTER UPDATE OF begin ON t WHEN begin > 0 BEGIN\n  SELECT CASE WHEN 1 THEN 2 END;\n  UPDATE t SET end = 1;\nEND;\nCOMMIT;\n",
      7,
    ],
  ];
  for (const [label, source, line] of cases) {
    // Exactly one problem, at the transaction statement: a trigger body cut in two would add an END.
    assert.deepEqual(problemsOf(source), [{ code: "SQL_TRANSACTION_CONTROL", line }], label);
  }
});

test("line and column tracking is linear: a multi-MB single-line INSERT tokenises, with exact positions after it, well inside a hang guard", async () => {
  // Not a speed claim: the guard is many times what a linear pass needs, and a quadratic one
  // (a scan to the line's end per token) needs minutes for these 600,000 rows.
  const result = await runNode(path.join(repoRoot, "test", "support", "tokenize-long-line.ts"), ["600000"], { cwd: repoRoot, timeoutMs: 30_000 });
  assert.equal(result.signal, null, "the tokeniser did not finish inside the hang guard");
  assert.equal(result.code, 0, result.stderr);
  const position = JSON.parse(result.stdout) as { lineLength: number; line: number; column: number; offset: number };
  assert.deepEqual(position, { lineLength: position.lineLength, line: 2, column: 1, offset: position.lineLength + 1 });
  assert.ok(position.lineLength > 4_000_000);
});

test("a SQL seed file of many MB parses with its tokens let go before the checksum tokenizes it again", { skip: "Bun" in globalThis && "Bun has no --max-old-space-size" }, async () => {
  // Not a speed claim: a heap bound. Both token lists at once (about 90 bytes a token) took a 69 MB seed file past the default heap; 80,000 rows (7 MB) need about 650 MB that way, 350 MB now.
  // Killed only past five minutes: near its heap bound it collects often, and beside the full run on two cores that once took over the one-minute default.
  const result = await runNode(path.join(repoRoot, "test", "support", "parse-seed.ts"), ["80000"], { cwd: repoRoot, env: { NODE_OPTIONS: "--max-old-space-size=500" }, timeoutMs: 300_000 });
  assert.equal(result.code, 0, result.stderr.slice(0, 2000));
  assert.deepEqual(JSON.parse(result.stdout), { ok: true, upSqlLine: 2 });
});

test("a version behind any punctuation, control sequence or combining mark is refused with the right version and rename; editor lock and autosave files are left alone", () => {
  for (const name of ["-002_b.ts", "~002_b.sql", "#002_b.ts", "\u0301002_b.ts", "\u001b[31m002_b.ts", "\u009b2J002_b.ts", "\u001b]0;x\u0007002_b.ts", "\u0000002_b.ts"]) {
    const parsed = parseMigrationFileName(name);
    assert.equal(parsed.status, "malformed", JSON.stringify(name));
    if (parsed.status !== "malformed") continue;
    assert.equal(parsed.problem.version, 2, JSON.stringify(name));
    assert.match(parsed.problem.suggestedName ?? "", /^002_b\.(ts|sql)$/, JSON.stringify(name));
  }
  for (const name of ["#002_b.sql#", ".#002_b.sql", "_helpers.ts", "README.md", "002_b.sql~", "002_b.ts~", "002_b.sql.~1~", "002_b.sql.~12~", ".002_b.sql~"]) {
    assert.equal(parseMigrationFileName(name).status, "ignored", JSON.stringify(name));
  }
});

test("an editor's backup of a migration (Emacs's 001_init.sql~ and numbered .~1~, vim's with backup set) is left alone by gen and create, in the folder and below it", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n");
  project.writeMigration(
    "002_items.ts",
    'import { defineMigration } from "stepwise-migrate/better-sqlite3";\nexport default defineMigration({ up(db) { db.exec("CREATE TABLE items (id INTEGER)"); } });\n',
  );
  for (const name of ["001_init.sql~", "001_init.sql.~1~", "002_items.ts~", "003_next.sql~"]) writeFileSync(path.join(project.migrationsDir, name), "-- migrate:up\nSELECT 1;\n");
  mkdirSync(path.join(project.migrationsDir, "old"));
  writeFileSync(path.join(project.migrationsDir, "old", "004_old.sql~"), "-- migrate:up\nSELECT 1;\n");
  const gen = await runCli(["gen", "--json"], { cwd: project.root });
  assert.equal(gen.code, 0, gen.stdout + gen.stderr);
  const report = JSON.parse(gen.stdout) as { problems: unknown[]; migrationCount: number; latestVersion: number };
  assert.deepEqual([report.problems, report.migrationCount, report.latestVersion], [[], 2, 2]);
  const created = await runCli(["create", "next", "--sql"], { cwd: project.root });
  assert.equal(created.code, 0, created.stdout + created.stderr);
  assert.equal(created.stdout, "migrations/003_next.sql\n");
});

test("marker and flag look-alikes are refused whatever the case or separators", () => {
  for (const comment of ["-- MIGRATE-DOWN", "-- Migrate_Down", "-- migration down", "-- TransactionFalse", "-- transaction=false", "-- foreign-keys-off", "-- notransaction", "-- NO TRANSACTION"]) {
    const source = `-- migrate:up\nCREATE TABLE t (a);\n${comment}\nDROP TABLE t;\n`;
    const codes = problemsOf(source).map((problem) => problem.code);
    assert.ok(
      codes.some((code) => code === "SQL_MALFORMED_MARKER" || code === "SQL_UNKNOWN_FLAG"),
      `${comment}: ${JSON.stringify(codes)}`,
    );
  }
  // Plain prose that merely mentions the words stays a comment.
  assert.deepEqual(problemsOf("-- migrate:up\n-- Foreign keys are checked by the app\nCREATE TABLE t (a);\n"), []);
});

test("a marker a comment swallows is SQL_MISPLACED_MARKER at its line and column in both dialects, whatever precedes it on its line; one in a string, a dollar-quoted body or starting a later line of a block comment is text", () => {
  const hiders = ["\u2028", "\u2029", "\u0085", "\f", "\v", " see ", "\t".repeat(40), " \u2028 "];
  const shapes = [
    (hider: string, marker: string) => `CREATE TABLE a (x TEXT); -- create a${hider}-- ${marker}`,
    (hider: string, marker: string) => `-- end of up${hider}-- ${marker}`,
    (hider: string, marker: string) => `CREATE TABLE b (x TEXT); /* note${hider}-- ${marker} */`,
    (hider: string, marker: string) => `/* a note\n that ends here${hider}-- ${marker} */`,
  ];
  for (const dialect of ["sqlite", "postgres"] as const) {
    for (const hider of hiders) {
      for (const [index, shape] of shapes.entries()) {
        for (const marker of ["migrate:down", "Migrate:Down", "migrate : down", "migr\u0430te:down"]) {
          const hidden = shape(hider, marker);
          const source = `-- migrate:up\nCREATE TABLE t (x TEXT);\n${hidden}\nDROP TABLE t;\n`;
          const lines = hidden.split("\n");
          const where = { line: 2 + lines.length, column: lines.at(-1)!.indexOf(marker) + 1 };
          const result = parseSqlMigrationSource(source, { dialect });
          const label = `${dialect} ${index} ${JSON.stringify(hider)} ${marker}`;
          assert.deepEqual(result.ok ? [] : result.problems.map(({ code, line, column }) => ({ code, line, column })), [{ code: "SQL_MISPLACED_MARKER", ...where }], label);
        }
      }
    }
    // A hidden up marker: the file's missing up is that problem, not three.
    const up = parseSqlMigrationSource("-- description: items\u2028-- migrate:up\nCREATE TABLE t (x TEXT);\n", { dialect });
    assert.deepEqual(up.ok ? [] : up.problems.map(({ code, line, column }) => ({ code, line, column })), [{ code: "SQL_MISPLACED_MARKER", line: 1, column: 26 }], dialect);
    // The first line of a block comment is the line it opens on.
    const opener = parseSqlMigrationSource("-- migrate:up\nCREATE TABLE t (x TEXT);\n/* migrate:down\nDROP TABLE t;\n*/\n", { dialect });
    assert.deepEqual(opener.ok ? [] : opener.problems.map(({ code, line, column }) => ({ code, line, column })), [{ code: "SQL_MISPLACED_MARKER", line: 3, column: 4 }], dialect);
  }
  // A lone carriage return: SQLite's comment runs on through it, PostgreSQL's ends there and leaves the marker after SQL's comment.
  const cr = "-- migrate:up\nCREATE TABLE t (x TEXT);\n-- end\r-- migrate:down\nDROP TABLE t;\n";
  assert.deepEqual(problemsOf(cr), [{ code: "SQL_CR_LINE_BREAKS", line: 3 }]);
  const crPostgres = parseSqlMigrationSource(cr, { dialect: "postgres" });
  assert.deepEqual(crPostgres.ok ? [] : crPostgres.problems.map(({ code, line, column }) => ({ code, line, column })), [{ code: "SQL_MISPLACED_MARKER", line: 3, column: 8 }]);

  // Text, not a marker: a string, a section commented out in a block comment, prose that names no marker.
  const inert = [
    "CREATE TABLE n (x TEXT DEFAULT 'a \u2028-- migrate:down');\n",
    "/*\n-- migrate:down\n * migrate:down\n\t-- migrate:down\nDROP TABLE n;\n*/\n",
    "CREATE TABLE n (x TEXT); -- we migrate up to five rows, then down\n",
  ];
  for (const dialect of ["sqlite", "postgres"] as const) {
    for (const text of inert) {
      const result = parseSqlMigrationSource(`-- migrate:up\nCREATE TABLE m (x TEXT);\n${text}`, { dialect });
      assert.ok(result.ok && result.migration.downSql === null, `${dialect} ${JSON.stringify(text)}: ${JSON.stringify(result)}`);
    }
  }
  const dollar = parseSqlMigrationSource(
    "-- migrate:up\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; -- one\u2028-- migrate:down\n$$;\nCREATE FUNCTION g() RETURNS int LANGUAGE sql AS $body$ SELECT 2 /* x -- migrate:down */ $body$;\n",
    { dialect: "postgres" },
  );
  assert.ok(dollar.ok && dollar.migration.downSql === null, JSON.stringify(dollar));
});

test("gen refuses a down marker hidden after a U+2028 in a comment, at its line and column, and writes no registry that would run the down's SQL during up", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n");
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const registry = readFileSync(project.registryFile);
  for (const hider of ["\u2028", "\t".repeat(30)]) {
    project.writeMigration("002_a.sql", `-- migrate:up\nCREATE TABLE a (x TEXT); -- create a${hider}-- migrate:down\nDROP TABLE a;\n`);
    const gen = await runCli(["gen"], { cwd: project.root });
    assert.equal(gen.code, 1, gen.stdout + gen.stderr);
    assert.deepEqual(
      parseProblemLines(gen.stderr).map(({ code, file, line, column }) => ({ code, file, line, column })),
      [{ code: "SQL_MISPLACED_MARKER", file: "migrations/002_a.sql", line: 2, column: 40 + hider.length }],
      JSON.stringify(hider),
    );
    assert.deepEqual(readFileSync(project.registryFile), registry);
  }
});

test("each printed problem stays one line, whatever control character a file name holds", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_init.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER);\n");
  for (const name of ["002_a\r.sql", "003_b\u2028.sql", "004_c\u009b.sql", "005_d\t.sql"]) writeFileSync(path.join(project.migrationsDir, name), "-- migrate:up\nSELECT 1;\n");
  const result = await runCli(["gen", "--check"], { cwd: project.root });
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 1, output);
  assert.doesNotMatch(output, /[\r\u2028\u009b\t]/, "a control character from a file name was printed raw");
  const codes = parseProblemLines(output).map((problem) => problem.code);
  assert.deepEqual(codes, ["BAD_FILE_NAME", "BAD_FILE_NAME", "BAD_FILE_NAME", "BAD_FILE_NAME"], output);
  assert.equal(escapeControlCharacters("a\nb\u001bc"), "a\\nb\\u001bc");
});

test("DATABASE_URL: credentialed sqlite/file URLs and other connection strings are refused by shape; plain SQLite paths and URLs (with mode=rwc, what the CLI does anyway) still work", async (t) => {
  for (const url of ["sqlite://admin:s3cret@host/app.db", "file:///srv/admin:s3cret@app.db", "Data Source=app.db;Password=s3cret", "app.db;Password=s3cret", "`sqlite:app.db`"]) {
    assert.throws(
      () => databasePathFromUrl(url),
      (error: unknown) => error instanceof StepwiseError && error.is("DATABASE_PATH_INVALID") && error.details.problem === "unsupported-url" && !error.message.includes("s3cret"),
      url,
    );
  }
  assert.equal(databasePathFromUrl("file:data/app.db?mode=rwc"), "data/app.db");
  assert.equal(databasePathFromUrl("sqlite:///srv/app.db"), "/srv/app.db");
  assert.equal(databasePathFromUrl("data/app.db"), "data/app.db");

  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  const before = readdirSync(project.root).sort();
  for (const url of ["sqlite://admin:s3cret@host/app.db", "Data Source=app.db;Password=s3cret"]) {
    const result = await runCli(["up"], { cwd: project.root, env: { DATABASE_URL: url } });
    assert.doesNotMatch(result.stdout + result.stderr, /s3cret/);
    assert.equal(result.code, 2);
    assert.equal(printedCode(result), "DATABASE_PATH_INVALID");
  }
  // The same URL handed to --db by a script is refused the same way, not created as folders.
  const viaFlag = await runCli(["--db", "postgres://admin:s3cret@db.internal/app", "up"], { cwd: project.root });
  assert.doesNotMatch(viaFlag.stdout + viaFlag.stderr, /s3cret/);
  assert.equal(viaFlag.code, 2);
  assert.equal(printedCode(viaFlag), "DATABASE_PATH_INVALID");
  assert.deepEqual(readdirSync(project.root).sort(), before);
});

test("sqlite_ names are refused as the history table in the library too, in any case; on PostgreSQL names over 46 characters (it cuts <name>_checksum_repairs short past 63)", () => {
  for (const name of ["sqlite_master", "Sqlite_Anything", "SQLITE_"]) {
    assert.equal(isValidTableName(name), false, name);
    const db = new Database(":memory:");
    try {
      assert.throws(
        () => new HistoryStore(name),
        (error: unknown) => error instanceof StepwiseError && error.is("INVALID_TABLE_NAME") && error.code === "INVALID_TABLE_NAME",
      );
    } finally {
      db.close();
    }
  }
  assert.equal(isValidTableName("my_sqlite_history"), true);
  // SQLite keeps any length; PostgreSQL's store refuses what it would cut short.
  assert.equal(isValidTableName("h".repeat(200)), true);
  assert.doesNotThrow(() => new PostgresHistoryStore("h".repeat(46), "public"));
  assert.throws(() => new PostgresHistoryStore("h".repeat(47), "public"), stepwiseFailure({ code: "INVALID_TABLE_NAME", tableName: "h".repeat(47) }));
});

test("an invalid history table name is INVALID_TABLE_NAME with its tableName, exit 2, whether it comes from --table, the config's tableName or the library's option", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  const database = project.databasePath();
  const configFile = path.join(project.root, "stepwise.config.json");
  for (const tableName of ["x;drop", "", "sqlite_master", "1st"]) {
    const sources: Array<[string, string[]]> = [
      ["--table", ["--table", tableName]],
      ["config", []],
    ];
    for (const [source, flags] of sources) {
      writeFileSync(configFile, JSON.stringify(source === "config" ? { tableName } : {}));
      for (const command of ["status", "up"]) {
        const result = await runCli(["--db", database, ...flags, command, "--json"], { cwd: project.root });
        const context = `${source} ${JSON.stringify(tableName)} ${command}: ${result.stdout}${result.stderr}`;
        assert.equal(result.code, 2, context);
        const { error } = JSON.parse(result.stdout) as { error: { code: string; tableName: unknown } };
        assert.deepEqual([error.code, error.tableName], ["INVALID_TABLE_NAME", tableName], context);
      }
    }
    const db = new Database(":memory:");
    t.after(() => db.close());
    assert.throws(() => new MigrationManager(db, [], { tableName }), stepwiseFailure({ code: "INVALID_TABLE_NAME", tableName }));
  }
  assert.equal(existsSync(database), false, "refused before a database was made");
});

test("an index or trigger, or a view in another case, holding the history table's name is HISTORY_TABLE_INVALID, the file untouched", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  const setups = {
    index: "CREATE TABLE other (a); CREATE INDEX schema_migrations ON other (a)",
    trigger: "CREATE TABLE other (a); CREATE TRIGGER schema_migrations AFTER INSERT ON other BEGIN SELECT 1; END",
    view: "CREATE VIEW Schema_Migrations AS SELECT 1 AS version",
  };
  for (const [label, sql] of Object.entries(setups)) {
    const database = project.databasePath(`${label}.db`);
    const db = new Database(database);
    db.exec(sql);
    db.close();
    const before = readFileSync(database);
    for (const command of ["status", "up"]) {
      const result = await runCli(["--db", database, command], { cwd: project.root });
      assert.doesNotMatch(result.stderr, STACK_TRACE, `${label} ${command}`);
      assert.equal(result.code, 1, `${label} ${command}: ${result.stdout}${result.stderr}`);
      assert.equal(printedCode(result), "HISTORY_TABLE_INVALID", `${label} ${command}`);
    }
    assert.deepEqual(readFileSync(database), before, label);
  }
});

test("every path option and argument refuses an empty string with USAGE (exit 2)", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  const database = project.databasePath();
  const runs = [
    ["gen", "--out", ""],
    ["gen", "--out", "  "],
    ["create", "add thing", "--dir", ""],
    ["create", "add thing", "--out", ""],
    ["--db", database, "up", "--backup", ""],
    ["--db", database, "restore", "", "--yes"],
  ];
  const registryBefore = readFileSync(project.registryFile);
  const migrationsBefore = readdirSync(project.migrationsDir).sort();
  for (const args of runs) {
    const result = await runCli(args, { cwd: project.root });
    assert.equal(result.code, 2, `${JSON.stringify(args)}: exit ${result.code}\n${result.stdout}${result.stderr}`);
    assert.equal(printedCode(result), "USAGE", `${JSON.stringify(args)}: ${result.stderr}`);
  }
  assert.deepEqual(readFileSync(project.registryFile), registryBefore);
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), migrationsBefore);
  assert.equal(existsSync(database), false);
});

test("a path option holding a carriage return (a script saved with CRLF endings) or another control character is USAGE, nothing created, and the echo of it is escaped", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  const database = project.databasePath();
  const runs = [
    ["up", "--db", `${database}\r`],
    ["fleet", "up", "--db", `${path.dirname(database)}/*.db\r`],
    ["gen", "--out", "generated/registry.ts\r"],
    ["create", "add thing", "--dir", "migrations\r"],
    ["--db", database, "up", "--backup", "backups\u001b[2J"],
  ];
  const registryBefore = readFileSync(project.registryFile);
  const migrationsBefore = readdirSync(project.migrationsDir).sort();
  for (const args of runs) {
    const result = await runCli([...args, "--json"], { cwd: project.root });
    assert.equal(result.code, 2, `${JSON.stringify(args)}: exit ${result.code}\n${result.stdout}${result.stderr}`);
    assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, "USAGE", JSON.stringify(args));
    assert.doesNotMatch(result.stderr, /[\r\u001b]/, JSON.stringify(args));
  }
  assert.deepEqual(readFileSync(project.registryFile), registryBefore);
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), migrationsBefore);
  assert.deepEqual(
    readdirSync(path.dirname(database)).filter((name) => name.includes(path.basename(database))),
    [],
  );
});

test("--db naming a folder by its last segment (.. or ./) is DATABASE_PATH_INVALID, nothing created", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  const before = readdirSync(project.root).sort();
  for (const db of ["data/..", "./", ".", "sub/./", "..", "data//"]) {
    const result = await runCli(["--db", db, "up"], { cwd: project.root });
    assert.equal(result.code, 2, `--db ${db}: exit ${result.code}\n${result.stderr}`);
    assert.equal(printedCode(result), "DATABASE_PATH_INVALID", `--db ${db}`);
  }
  assert.deepEqual(readdirSync(project.root).sort(), before);
});

test("gen --out refuses tsconfig.json and a migration-like name in the migrations folder, but rewrites its own earlier registry", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  const tsconfig = path.join(project.root, "tsconfig.json");
  writeFileSync(tsconfig, '{ "compilerOptions": {} }\n');
  const tsconfigBefore = readFileSync(tsconfig);
  const refused = await runCli(["gen", "--out", "tsconfig.json"], { cwd: project.root });
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.ok(
    parseProblemLines(refused.stderr).some((problem) => problem.code === "REGISTRY_UNWRITABLE"),
    refused.stderr,
  );
  assert.deepEqual(readFileSync(tsconfig), tsconfigBefore);

  const intoMigrations = await runCli(["gen", "--out", "migrations/099_registry.ts"], { cwd: project.root });
  assert.equal(intoMigrations.code, 1, intoMigrations.stdout + intoMigrations.stderr);
  assert.equal(existsSync(path.join(project.migrationsDir, "099_registry.ts")), false);

  // A registry stepwise wrote is its to rewrite, at its default place and at another.
  const again = await runCli(["gen", "--out", "other/registry.ts"], { cwd: project.root });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const rewrite = await runCli(["gen", "--out", "other/registry.ts", "--no-cache"], { cwd: project.root });
  assert.equal(rewrite.code, 0, rewrite.stdout + rewrite.stderr);
});

test("gen --out naming a migration-like file in the migrations folder through a symbolic link (to the folder, to a folder above it, or with the folder given through one) is REGISTRY_UNWRITABLE, and the folder stays as it was", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  symlinkSync("migrations", path.join(project.root, "m2"));
  symlinkSync(".", path.join(project.root, "root2"));
  const before = readdirSync(project.migrationsDir).sort();
  for (const args of [
    ["--out", "m2/099_registry.ts"],
    ["--out", "root2/migrations/099_registry.ts"],
    ["--dir", "m2", "--out", "migrations/099_registry.ts"],
    ["--out", "m2/../migrations/099_registry.ts"],
  ]) {
    const gen = await runCli(["gen", ...args], { cwd: project.root });
    assert.equal(gen.code, 1, `${args.join(" ")}: ${gen.stdout}${gen.stderr}`);
    // Through a link above the folder, the link on the registry's path is refused as well.
    assert.deepEqual(new Set(parseProblemLines(gen.stderr).map((problem) => problem.code)), new Set(["REGISTRY_UNWRITABLE"]), args.join(" "));
    assert.deepEqual(readdirSync(project.migrationsDir).sort(), before, args.join(" "));
  }
  // A registry that is no migration may still sit beside the link.
  const beside = await runCli(["gen", "--out", "m2/registry.ts"], { cwd: project.root });
  assert.equal(beside.code, 0, beside.stdout + beside.stderr);
  const again = await runCli(["gen"], { cwd: project.root });
  assert.equal(again.code, 0, again.stdout + again.stderr);
});

test("translateFolderError turns every errno into a typed StepwiseError; a dangling symlink is DATABASE_FOLDER_MISSING through the bin", async (t) => {
  for (const code of ["ENOENT", "ELOOP", "EIO", "ENOSPC", "EMLINK", undefined]) {
    const error = Object.assign(new Error("boom"), code === undefined ? {} : { code });
    assert.ok(translateFolderError(error, "/x/app.db") instanceof StepwiseError, String(code));
  }
  assert.ok(translateFolderError("not an error", "/x/app.db") instanceof StepwiseError);

  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  symlinkSync("/nonexistent-volume/data", path.join(project.root, "mnt"));
  const result = await runCli(["--db", "mnt/deep/app.db", "up"], { cwd: project.root });
  assert.doesNotMatch(result.stderr, STACK_TRACE);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(printedCode(result), "DATABASE_FOLDER_MISSING", result.stderr);
});

test("--db under /proc fails at once with a typed error instead of hanging in a recursive mkdir", { skip: !existsSync("/proc/self") }, async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  const result = await runCli(["--db", "/proc/stepwise-no-such/deeper/app.db", "up"], { cwd: project.root, timeoutMs: 30_000 });
  assert.doesNotMatch(result.stderr, STACK_TRACE);
  assert.notEqual(result.code, 0);
  assert.ok(["DATABASE_UNUSABLE", "DATABASE_FOLDER_MISSING", "DATABASE_PATH_INVALID"].includes(printedCode(result) ?? ""), result.stderr);
});

test("create --dir, gen --out and up --backup under /proc fail at once with their typed error, as --db does", { skip: !existsSync("/proc/self") }, async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generateAsBin();
  const cases: Array<{ args: string[]; code: string }> = [
    { args: ["create", "x", "--dir", "/proc/stepwise-no-such/migrations"], code: "USAGE" },
    { args: ["gen", "--out", "/proc/stepwise-no-such/registry.ts"], code: "FILE_WRITE_FAILED" },
    { args: ["--db", project.databasePath(), "up", "--backup", "/proc/stepwise-no-such/backups"], code: "BACKUP_FOLDER_UNWRITABLE" },
  ];
  // A child each: a hang in a recursive mkdir blocks its thread, which the timeout then ends.
  const results = await Promise.all(cases.map(({ args }) => runCli([...args, "--json"], { cwd: project.root, child: true, timeoutMs: 30_000 })));
  results.forEach((result, i) => {
    assert.equal(result.signal, null, `${cases[i]!.args.join(" ")} hung`);
    assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, cases[i]!.code, result.stderr);
  });
});

test("a working folder removed under the shell is USAGE (exit 2), as JSON under --json, not Node's stack trace", { skip: process.platform === "win32" }, async (t) => {
  const parent = createTestProject(t).root;
  const gone = path.join(parent, "gone");
  mkdirSync(gone);
  // The compiled bin, as installed: tsx's own loader needs the working folder before the bin runs.
  const command = [cliNode(), ...binArgs("compiled"), "status", "--json"].map(quoteForShell).join(" ");
  // A child, since the working folder is the process's: the shell enters the folder, removes it, then runs the bin there.
  const result = spawnSync("sh", ["-c", `cd ${quoteForShell(gone)} && rmdir ${quoteForShell(gone)} && exec ${command}`], { encoding: "utf8" });
  assert.equal(result.status, 2, result.stderr);
  assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, "USAGE");
  assert.doesNotMatch(result.stderr, STACK_TRACE);
});

test("help asked for exits 0; help for nothing or for an unknown command exits 2", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  await project.generate();
  assert.equal((await runCli(["help"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["help", "gen"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["up", "--help"], { cwd: project.root })).code, 0);
  assert.equal((await runCli(["help", "nope"], { cwd: project.root })).code, 2);
  assert.equal((await runCli(["--table", "t"], { cwd: project.root })).code, 2);
  assert.equal((await runCli([], { cwd: project.root })).code, 2);
  // The embeddable CLI's answer does not depend on the host's process.exitCode, which commander's help reads.
  const hostExitCode = process.exitCode;
  process.exitCode = 1;
  try {
    assert.equal(await createBinCli({ cwd: project.root, env: process.env, io: { stdout: () => undefined, stderr: () => undefined, isTTY: false } }).run(["help"]), 0);
  } finally {
    process.exitCode = hostExitCode;
  }
});

/**
 * CLI conventions (issue 13, item 9) through the real bin as a child process in temp projects:
 * `--version`, JSON failures under `--json` for every command, the failing migration's file:line,
 * `--verbose`, rounded durations, `gen --json`, and the embedded CLI's `programName` and `version`.
 * Asserts on exit codes, JSON fields and error codes.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { formatDuration } from "../src/cli/format.js";
import { roundDurations } from "../src/cli/output.js";
import { withoutPassword } from "../src/cli/report-error.js";
import { createTestProject, repoRoot, runCli, runNode, type RunResult } from "./support/project.js";

const stepwiseVersion = (JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string }).version;

const CREATE_T = "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT);\n-- migrate:down\nDROP TABLE t;\n";
/** Line 6 throws; line 5 writes a row the rollback must remove. */
const THROWS_AT_LINE_6 = [
  'import { defineMigration } from "stepwise-migrate";',
  "",
  "export default defineMigration({",
  "  up(db) {",
  "    db.exec(\"INSERT INTO t (note) VALUES ('kept?')\");",
  '    throw new Error("the migration gave up", { cause: new Error("the reason underneath") });',
  "  },",
  "});",
  "",
].join("\n");
/** Line 5 runs SQL naming a table that does not exist: the error comes from inside the driver. */
const BAD_SQL_AT_LINE_5 = [
  'import { defineMigration } from "stepwise-migrate";',
  "",
  "export default defineMigration({",
  "  up(db) {",
  '    db.exec("INSERT INTO no_such_table VALUES (1)");',
  "  },",
  "});",
  "",
].join("\n");

interface JsonError {
  error: { name: string; code: string; message: string; fix: string | null; location?: { file: string; line: number; column: number } | null } & Record<string, unknown>;
}

/** stdout must be exactly one JSON object holding `error`: nothing else on the stream a script reads. */
function jsonError(result: RunResult): JsonError["error"] {
  let parsed: JsonError;
  try {
    parsed = JSON.parse(result.stdout) as JsonError;
  } catch {
    assert.fail(`stdout is not one JSON value (exit ${result.code}):\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
  assert.equal(typeof parsed.error?.code, "string", result.stdout);
  // A text, CHECKSUM_MISMATCH's object of texts, or null: never missing.
  assert.ok(parsed.error.fix === null || ["string", "object"].includes(typeof parsed.error.fix), `error.fix: ${String(parsed.error.fix)}`);
  return parsed.error;
}

async function project(t: Parameters<typeof createTestProject>[0], migrations: Record<string, string>, packageJson: object = { stepwise: { database: "app.db" } }) {
  const created = createTestProject(t, { packageJson });
  for (const [name, text] of Object.entries(migrations)) created.writeMigration(name, text);
  const generated = await created.generate();
  assert.ok(generated.ok, JSON.stringify(generated.problems));
  const cli = (args: readonly string[]) => runCli(args, { cwd: created.root });
  return { ...created, cli, database: path.join(created.root, "app.db") };
}

test("--version and -V print stepwise's own version, even when the config is broken; --help lists them and --verbose", async (t) => {
  const { cli, root } = await project(t, { "001_t.sql": CREATE_T });
  // An unknown setting: every command that reads the config refuses it.
  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "app", type: "module", stepwise: { database: "app.db", nonsense: true } }));
  const [long, short, help, genHelp, status] = await Promise.all([cli(["--version"]), cli(["-V"]), cli(["--help"]), cli(["gen", "--help"]), cli(["status", "--json"])]);
  assert.equal(long.code, 0, long.stderr);
  assert.equal(long.stdout, `${stepwiseVersion}\n`);
  assert.equal(short.code, 0, short.stderr);
  assert.equal(short.stdout, `${stepwiseVersion}\n`);
  for (const option of ["--version", "--verbose"]) assert.ok(help.stdout.includes(option), `--help does not list ${option}`);
  // Every environment variable the bin reads is named where its flags are, in a section of its own.
  const environmentAt = help.stdout.indexOf("\nEnvironment:\n");
  assert.ok(environmentAt >= 0, "--help has no Environment section");
  const environment = help.stdout.slice(environmentAt);
  for (const variable of ["DATABASE_URL", "PGPASSWORD", "LIBSQL_AUTH_TOKEN", "STEPWISE_REPAIRED_BY", "STEPWISE_SKIP_REGISTRY_CHECK", "STEPWISE_REGISTRY_LOADER", "NO_COLOR", "FORCE_COLOR"]) {
    assert.match(environment, new RegExp(`\\b${variable}\\b`), `--help does not list ${variable}`);
  }
  assert.ok(genHelp.stdout.includes("--json"), "gen --help does not list --json");
  // The broken config itself is still reported, as JSON when asked.
  assert.equal(status.code, 2);
  assert.equal(jsonError(status).code, "USAGE");
});

test("every command with --json reports a failure before the database opens as one JSON error on stdout", async (t) => {
  const { cli, root } = await project(t, { "001_t.sql": CREATE_T });
  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "app", type: "module", stepwise: { database: "app.db", nonsense: true } }));
  const commands = [
    ["status"],
    ["up"],
    ["up", "--dry-run"],
    ["down"],
    ["history"],
    ["info"],
    ["reset", "--yes"],
    ["repair", "--applied", "1", "--yes"],
    ["verify"],
    ["baseline", "1", "--yes"],
    ["gen"],
    ["gen", "--check"],
  ];
  const results = await Promise.all(commands.map((args) => cli([...args, "--json"])));
  results.forEach((result, index) => {
    const label = commands[index]!.join(" ");
    assert.equal(result.code, 2, `${label}: ${result.stderr}`);
    assert.equal(jsonError(result).code, "USAGE", label);
  });
});

test("usage errors, an unknown driver and an unusable database file are JSON errors under --json too", async (t) => {
  const { cli, root } = await project(t, { "001_t.sql": CREATE_T });
  writeFileSync(path.join(root, "not-a-database.db"), "this is not a SQLite file, just text long enough to have a header".repeat(20));
  mkdirSync(path.join(root, "a-folder"));
  const cases: Array<[readonly string[], number, string]> = [
    [["up", "--json", "--to", "nope"], 2, "USAGE"],
    [["status", "--json", "--no-such-flag"], 2, "USAGE"],
    [["up", "--json", "--driver", "no-such-driver"], 2, "DRIVER_UNKNOWN"],
    [["info", "--json"], 2, "USAGE"],
    [["status", "--json", "--db", "not-a-database.db"], 1, "DATABASE_UNUSABLE"],
    [["up", "--json", "--db", "a-folder/"], 2, "DATABASE_PATH_INVALID"],
  ];
  const results = await Promise.all(cases.map(([args]) => cli(args)));
  results.forEach((result, index) => {
    const [args, exit, code] = cases[index]!;
    assert.equal(result.code, exit, `${args.join(" ")}: ${result.stderr}`);
    assert.equal(jsonError(result).code, code, args.join(" "));
  });
});

test("up --json on a failed migration prints the error with its fields and the line it failed at; the database is as it was", async (t) => {
  const { cli, database } = await project(t, { "001_t.sql": CREATE_T, "002_gives_up.ts": THROWS_AT_LINE_6 });
  const result = await cli(["up", "--json"]);
  assert.equal(result.code, 1, result.stderr);
  const error = jsonError(result);
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.version, 2);
  assert.equal(error.file, "migrations/002_gives_up.ts");
  assert.equal(error.rolledBack, true);
  assert.deepEqual(error.location, { file: "migrations/002_gives_up.ts", line: 6, column: error.location?.column });
  assert.match(String(error.fix), /^fix migrations\/002_gives_up\.ts:6, then run "stepwise gen" and "stepwise up" again/);
  // The text says the same next step on stderr.
  assert.match(result.stderr, /^Next: fix migrations\/002_gives_up\.ts:6, /m);
  const db = new Database(database, { readonly: true });
  t.after(() => db.close());
  assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 0 }, "the failed migration's row was kept");
});

test("a failed transaction: false migration's next step (the repair commands) is on stderr too, as in --json's fix", async (t) => {
  const { cli, root, generate } = await project(t, { "001_t.sql": CREATE_T, "002_outside.sql": "-- migrate:up transaction:false\nINSERT INTO no_such_table VALUES (1);\n" });
  const text = await cli(["up"]);
  assert.equal(text.code, 1, text.stderr);
  assert.match(text.stderr, /^error \[MIGRATION_FAILED\]/m);
  assert.match(String(/^Next: (.*)$/m.exec(text.stderr)?.[1]), /"stepwise repair --applied 2 --yes".*"stepwise repair --forget 2 --yes"/);
  // On a database the command line picked, the commands name it too, or they would repair the configured one.
  const elsewhere = await cli(["up", "--db=other place.db", "--table", "history", "--json"]);
  // An object fix (CHECKSUM_MISMATCH's) names it in its command too; a fleet's own refusal names no database of its pattern.
  writeFileSync(path.join(root, "migrations", "001_t.sql"), CREATE_T.replace("note TEXT", "note TEXT, added TEXT"));
  assert.ok((await generate()).ok);
  const edited = jsonError(await cli(["up", "--db=other place.db", "--table", "history", "--json"]));
  assert.deepEqual([edited.code, (edited.fix as unknown as { command: string }).command], ["CHECKSUM_MISMATCH", "stepwise repair --db 'other place.db' --table history --checksums 1"]);
  // The message's own commands too, in --json and on stderr: a user copies them from either.
  const quoted = (message: string) => [...message.matchAll(/"stepwise [a-z]+[^"]*"/g)].map(([command]) => command);
  const editedText = await cli(["up", "--db=other place.db", "--table", "history"]);
  for (const message of [edited.message, editedText.stderr]) {
    assert.deepEqual(quoted(message), [
      '"stepwise create"',
      "\"stepwise repair --db 'other place.db' --table history --checksums 1\"",
      "\"stepwise reset --db 'other place.db' --table history --yes\"",
    ]);
  }
  const fleetWide = jsonError(await cli(["fleet", "up", "--db", "*.db", "--to", "9", "--json"]));
  assert.equal(fleetWide.code, "INVALID_TARGET");
  assert.doesNotMatch(String(fleetWide.fix), /"stepwise \w+ --db/);
  assert.deepEqual(["file:rel.db", "libsql://db.example.io?authToken=secret&tls=1", "postgres://app:secret@db/app?sslpassword=x&sslmode=require"].map(withoutPassword), [
    "file:rel.db",
    "libsql://db.example.io?tls=1",
    "postgres://app@db/app?sslmode=require",
  ]);
  assert.match(
    String(jsonError(elsewhere).fix),
    /"stepwise repair --db 'other place\.db' --table history --applied 2 --yes".*"stepwise repair --db 'other place\.db' --table history --forget 2 --yes"/,
  );
});

test("the real bin: what a migration prints with console or process.stdout goes to stderr, so --json's stdout is one JSON value, in up and on a fleet's worker threads", async (t) => {
  // process.stdout.write: what a progress bar library writes by default.
  const logging =
    'import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up(db) { console.log("backfilling rows..."); console.info("info"); process.stdout.write("50%\\n"); db.exec("CREATE TABLE a (id INTEGER)"); } });\n';
  const { root } = await project(t, { "001_a.ts": logging });
  mkdirSync(path.join(root, "tenants"));
  writeFileSync(path.join(root, "tenants", "one.db"), "");
  for (const args of [
    ["up", "--json"],
    ["fleet", "up", "--db", "tenants/*.db", "--json"],
  ]) {
    const result = await runCli(args, { cwd: root, child: true });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(typeof JSON.parse(result.stdout), "object", result.stdout);
    assert.match(result.stderr, /backfilling rows\.\.\.\ninfo\n50%\n/, args.join(" "));
  }
});

test("a walk a transactional migration's forEachBatch refuses is named at its call, and says the migration's transaction was rolled back", async (t) => {
  const misspelt =
    'import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({\n  up(db, context) {\n    db.exec("INSERT INTO t (id) VALUES (1)");\n    context.forEachBatch({ table: "t", batchsize: 10 }, () => {});\n  },\n});\n';
  const { cli } = await project(t, { "001_t.sql": CREATE_T, "002_walk.ts": misspelt });
  const [plain, json] = await Promise.all([cli(["up"]), cli(["up", "--json"])]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /error \[BATCH_OPTIONS_INVALID\]/);
  assert.match(plain.stderr, /^Thrown at migrations\/002_walk\.ts:5:\d+$/m);
  const { error } = JSON.parse(json.stdout) as { error: { code: string; option: string; message: string } };
  assert.deepEqual([error.code, error.option], ["BATCH_OPTIONS_INVALID", "batchsize"]);
  assert.match(error.message, /rolled back/);
});

test("up --dry-run names where the real run would fail, as the real run does, and its JSON holds that location among the failure's fields", async (t) => {
  const { cli } = await project(t, { "001_t.sql": CREATE_T, "002_bad.sql": "-- migrate:up\nCREATE TABLE u (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n" });
  const [text, json] = await Promise.all([cli(["up", "--dry-run"]), cli(["up", "--dry-run", "--json"])]);
  assert.equal(text.code, 1, text.stderr);
  assert.match(text.stdout, /^Thrown at migrations\/002_bad\.sql:3:1$/m);
  assert.doesNotMatch(text.stdout, /would apply/);
  const { failure } = JSON.parse(json.stdout) as { failure: { code: string; fields: { location: { file: string; line: number } } } };
  assert.deepEqual([failure.code, failure.fields.location.file, failure.fields.location.line], ["MIGRATION_FAILED", "migrations/002_bad.sql", 3]);
});

test("a failed migration names its file:line, not the executor's, with no stack; --verbose prints the stack and the causes", async (t) => {
  const { cli } = await project(t, { "001_t.sql": CREATE_T, "002_gives_up.ts": THROWS_AT_LINE_6 });
  const [plain, verbose] = await Promise.all([cli(["up"]), cli(["up", "--verbose"])]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /error \[MIGRATION_FAILED\]/);
  assert.match(plain.stderr, /^Thrown at migrations\/002_gives_up\.ts:6:\d+$/m);
  assert.doesNotMatch(plain.stderr, /executor\.ts|^\s+at .*\(/m, "a stack was printed without --verbose");
  assert.equal(verbose.code, 1);
  assert.match(verbose.stderr, /^Thrown at migrations\/002_gives_up\.ts:6:\d+$/m);
  assert.match(verbose.stderr, /^\s+at .*002_gives_up\.ts:6:\d+\)$/m, "--verbose did not print the migration's stack frame");
  assert.match(verbose.stderr, /^Caused by: Error: the migration gave up$/m);
  assert.match(verbose.stderr, /^Caused by: Error: the reason underneath$/m);
});

test("a thrown value that cannot be read (getters of name, stack or cause that throw, a Proxy whose traps throw, one with no prototype) is still reported as one JSON value and a typed error, with --verbose too, and by gen --check's replay", async (t) => {
  const throwing = (declare: string, thrown: string) =>
    [
      'import { defineMigration } from "stepwise-migrate";',
      "",
      declare,
      "",
      "export default defineMigration({",
      "  up(db) {",
      '    db.exec("INSERT INTO t (note) VALUES (1)");',
      `    throw ${thrown};`,
      "  },",
      "});",
      "",
    ].join("\n");
  const cases = [
    ...["name", "stack", "cause"].map(
      (field) => [field, `class Hostile extends Error { override get ${field}(): never { throw new Error("${field} cannot be read"); } }`, 'new Hostile("gave up")'] as const,
    ),
    [
      "proxy",
      'const trap = () => { throw new Error("trap"); };',
      'new Proxy(new Error("gave up"), { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap })',
    ] as const,
    ["proxy get", 'const trap = () => { throw new Error("trap"); };', 'new Proxy(new Error("gave up"), { get: trap })'] as const,
    ["no prototype", "", "Object.create(null)"] as const,
  ];
  for (const [label, declare, thrown] of cases) {
    const { cli, database } = await project(t, { "001_t.sql": CREATE_T, "002_hostile.ts": throwing(declare, thrown) });
    const [json, verbose, check] = await Promise.all([cli(["up", "--json"]), cli(["up", "--verbose"]), cli(["gen", "--check", "--json"])]);
    assert.equal(check.code, 1, `${label}: ${check.stdout}${check.stderr}`);
    assert.deepEqual(
      (JSON.parse(check.stdout) as { problems: { code: string; file: string }[] }).problems.map((problem) => [problem.code, problem.file]),
      [["REPLAY_FAILED", "migrations/002_hostile.ts"]],
      label,
    );
    assert.equal(json.code, 1, label);
    assert.equal(jsonError(json).code, "MIGRATION_FAILED", label);
    assert.equal(verbose.code, 1, label);
    assert.match(verbose.stderr, /error \[MIGRATION_FAILED\]/, label);
    const db = new Database(database, { readonly: true });
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 0 }, label);
    db.close();
  }
});

test("an error raised inside the driver by a migration's statement is located at the migration's line", async (t) => {
  const { cli } = await project(t, { "001_t.sql": CREATE_T, "002_bad_sql.ts": BAD_SQL_AT_LINE_5 });
  const [plain, json] = await Promise.all([cli(["up"]), cli(["up", "--json"])]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /^Thrown at migrations\/002_bad_sql\.ts:5:\d+$/m);
  const error = jsonError(json);
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.location?.line, 5);
});

test("a migration whose call into another file of the project throws is located in that file, at its line; the fix names the migration that ran it", async (t) => {
  const created = createTestProject(t, { packageJson: { stepwise: { database: "app.db" } } });
  mkdirSync(path.join(created.root, "src"), { recursive: true });
  writeFileSync(path.join(created.root, "src", "seed.ts"), 'export function seed(): void {\n  throw new Error("no seed data");\n}\n');
  created.writeMigration(
    "001_seeded.ts",
    'import { defineMigration } from "stepwise-migrate";\nimport { seed } from "../src/seed.js";\n\nexport default defineMigration({\n  up() {\n    seed();\n  },\n});\n',
  );
  assert.ok((await created.generate()).ok);
  const result = await runCli(["up", "--json"], { cwd: created.root });
  const error = jsonError(result);
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.file, "migrations/001_seeded.ts");
  assert.deepEqual({ file: (error.location as { file: string }).file, line: (error.location as { line: number }).line }, { file: "src/seed.ts", line: 2 });
  assert.match(result.stderr, /^Thrown at src\/seed\.ts:2:\d+$/m);
});

test("a failure awaited inside an anonymous async callback of a JavaScript file (V8's \"at async <file>:<line>\" frame) is located at that callback's line, not at the call that passed it", async (t) => {
  const created = createTestProject(t, { packageJson: { stepwise: { database: "app.db" } } });
  // A package that runs the callback and fails after an await of its own, as a query builder's runner does: no frame of the project is left below the callback's.
  const lib = path.join(created.root, "node_modules", "queue-lib");
  mkdirSync(lib, { recursive: true });
  writeFileSync(path.join(lib, "package.json"), '{ "name": "queue-lib", "type": "module", "exports": "./index.js" }\n');
  writeFileSync(path.join(lib, "index.js"), 'export async function inTurn(run) {\n  await run();\n}\nexport async function failLater() {\n  await null;\n  throw new Error("queue refused");\n}\n');
  // Plain JavaScript has no source map, so V8 names the callback's frame by its file URL alone, as it does in a Knex original's knex.transaction(async (trx) => …).
  mkdirSync(path.join(created.root, "src"), { recursive: true });
  writeFileSync(
    path.join(created.root, "src", "seed.js"),
    'import { inTurn, failLater } from "queue-lib";\nexport async function seed() {\n  await inTurn(async () => {\n    await failLater();\n  });\n}\n',
  );
  created.writeMigration(
    "001_queued.ts",
    'import { defineMigration } from "stepwise-migrate";\n// @ts-ignore -- plain JavaScript\nimport { seed } from "../src/seed.js";\n\nexport default defineMigration({\n  async up() {\n    await seed();\n  },\n});\n',
  );
  assert.ok((await created.generate()).ok);
  const error = jsonError(await runCli(["up", "--json"], { cwd: created.root }));
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.deepEqual({ file: (error.location as { file: string }).file, line: (error.location as { line: number }).line }, { file: "src/seed.js", line: 4 });
});

test("a failed SQL migration is located at its failing statement's line, in --json and on stderr", async (t) => {
  const { cli } = await project(t, { "001_t.sql": CREATE_T, "002_bad.sql": "-- migrate:up\nINSERT INTO t (id) VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n" });
  const result = await cli(["up", "--json"]);
  assert.equal(result.code, 1);
  const error = jsonError(result);
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.file, "migrations/002_bad.sql");
  assert.deepEqual(error.location, { file: "migrations/002_bad.sql", line: 3, column: 1 });
  assert.match(result.stderr, /^Thrown at migrations\/002_bad\.sql:3:1$/m);
});

test("durations are rounded: whole ms or tenths of a second in text, whole ms in JSON", async (t) => {
  const slow = [
    'import { defineMigration } from "stepwise-migrate";',
    "export default defineMigration({",
    "  up() {",
    // A sleep that blocks the thread, as a slow migration does, without burning a core the other test processes need.
    "    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1100);",
    "  },",
    "});",
    "",
  ].join("\n");
  const { cli, database } = await project(t, { "001_t.sql": CREATE_T, "002_slow.ts": slow, "003_index.sql": "-- migrate:up\nCREATE INDEX t_note ON t (note);\n" });
  const dryRun = await cli(["up", "--dry-run", "--json"]);
  assert.equal(dryRun.code, 0, dryRun.stderr);
  const dry = JSON.parse(dryRun.stdout) as { steps: Array<{ durationMs: number | null }> };
  for (const step of dry.steps) assert.ok(step.durationMs !== null && Number.isInteger(step.durationMs), `dry run durationMs ${step.durationMs}`);

  const up = await cli(["up", "--to", "2"]);
  assert.equal(up.code, 0, up.stderr);
  const applied = up.stdout.split("\n").filter((line) => line.includes("↑"));
  assert.equal(applied.length, 2, up.stdout);
  for (const line of applied) assert.match(line, / (\d+ ms|\d\.\d s)$/, line);
  assert.match(applied[1]!, / 1\.\d s$/, "the 1.1 s migration is not shown in seconds");
  assert.match(up.stdout, /in (\d+ ms|\d\.\d s): the database is now at version 2/);
  assert.doesNotMatch(up.stdout, /\d\.\d+ ms/);

  const json = await cli(["up", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const result = JSON.parse(json.stdout) as { steps: Array<{ durationMs: number }> };
  assert.equal(result.steps.length, 1);
  assert.ok(Number.isInteger(result.steps[0]!.durationMs), `up --json durationMs ${result.steps[0]!.durationMs}`);

  const [history, historyJson, status] = await Promise.all([cli(["history"]), cli(["history", "--json"]), cli(["status"])]);
  for (const row of JSON.parse(historyJson.stdout) as Array<{ durationMs: number | null }>) assert.ok(row.durationMs === null || Number.isInteger(row.durationMs));
  assert.match(history.stdout, /\b1\.\d s\b/, history.stdout);
  assert.match(status.stdout, /\b1\.\d s\b/, status.stdout);
  for (const text of [history.stdout, status.stdout]) assert.doesNotMatch(text, /\d\.\d+ ms/);

  // A duration edited by hand (text, negative) is no duration: null, shown as "?", never passed through.
  const db = new Database(database);
  db.exec(
    "UPDATE schema_migrations SET duration_ms = 'abc' WHERE version = 2; UPDATE schema_migrations SET duration_ms = -5 WHERE version = 1; UPDATE schema_migrations SET duration_ms = 7.6 WHERE version = 3",
  );
  db.close();
  const edited = await cli(["history", "--json"]);
  assert.equal(edited.code, 0, edited.stderr);
  assert.deepEqual(
    (JSON.parse(edited.stdout) as Array<{ version: number; durationMs: number | null }>).map((row) => [row.version, row.durationMs]),
    [
      [1, null],
      [2, null],
      [3, 8],
    ],
  );
});

test("formatDuration and roundDurations at their boundaries", () => {
  const cases: Array<[number, string]> = [
    [0, "0 ms"],
    [0.4, "0 ms"],
    [12.345, "12 ms"],
    [999.4, "999 ms"],
    [999.6, "1.0 s"],
    [1250, "1.3 s"],
    [9949, "9.9 s"],
    [9950, "10 s"],
    [59_400, "59 s"],
    [65_000, "1 min 05 s"],
    [3_725_000, "1 h 02 min"],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, `${ms}`);
  assert.deepEqual(roundDurations({ durationMs: 1.6, steps: [{ durationMs: 0.2, version: 1.5 }], waitedMs: null, name: "x" }), {
    durationMs: 2,
    steps: [{ durationMs: 0, version: 1.5 }],
    waitedMs: null,
    name: "x",
  });
});

test("gen --json and gen --check --json report ok, status, counts and each problem's code, file and line", async (t) => {
  const { cli, writeMigration, registryFile } = await project(t, { "001_t.sql": CREATE_T });
  const current = await cli(["gen", "--check", "--json"]);
  assert.equal(current.code, 0, current.stderr);
  assert.deepEqual(JSON.parse(current.stdout), {
    ok: true,
    status: "unchanged",
    registryFile: "generated/registry.ts",
    migrationCount: 1,
    latestVersion: 1,
    problems: [],
    fix: null,
    replay: { ran: true, driver: "better-sqlite3", database: "memory", where: "an empty in-memory better-sqlite3 database", applied: 1, rolledBack: 1, unavailable: [], connection: null },
  });

  writeMigration("002_index.sql", "-- migrate:up\nCREATE INDEX t_note ON t (note);\n");
  const before = readFileSync(registryFile, "utf8");
  const stale = await cli(["gen", "--check", "--json"]);
  assert.equal(stale.code, 1);
  const staleReport = JSON.parse(stale.stdout) as { ok: boolean; status: string; problems: Array<{ code: string; file: string; line: number }>; fix: string | null };
  assert.equal(staleReport.ok, false);
  assert.equal(staleReport.status, "stale");
  assert.ok(staleReport.fix?.includes("stepwise gen"), String(staleReport.fix));
  assert.equal(readFileSync(registryFile, "utf8"), before, "gen --check wrote the registry");

  writeMigration("003_broken.ts", 'import { defineMigration } from "stepwise-migrate";\nexport const notDefault = 1;\n');
  const invalid = await cli(["gen", "--json"]);
  assert.equal(invalid.code, 1);
  const invalidReport = JSON.parse(invalid.stdout) as { ok: boolean; status: string; problems: Array<{ code: string; file: string; line: number; column: number; message: string }> };
  assert.equal(invalidReport.status, "invalid");
  const problem = invalidReport.problems.find((entry) => entry.file === "migrations/003_broken.ts");
  assert.ok(problem, invalid.stdout);
  assert.equal(problem.code, "TS_NO_DEFAULT_EXPORT");
  assert.ok(problem.line >= 1 && problem.column >= 1 && problem.message.length > 0);
  assert.equal(readFileSync(registryFile, "utf8"), before, "a failed gen replaced the registry");

  writeMigration("003_broken.ts", 'import { defineMigration } from "stepwise-migrate";\nexport default defineMigration({ up() {} });\n');
  const written = await cli(["gen", "--json"]);
  assert.equal(written.code, 0, written.stderr);
  assert.deepEqual(JSON.parse(written.stdout), { ok: true, status: "written", registryFile: "generated/registry.ts", migrationCount: 3, latestVersion: 3, problems: [], fix: null, replay: null });
});

test("the embedded CLI takes programName for help, usage errors and what to run next, and version for --version", async (t) => {
  const { root } = await project(t, { "001_t.sql": CREATE_T });
  writeFileSync(
    path.join(root, "app-cli.ts"),
    [
      'import { createCli } from "stepwise-migrate/cli";',
      'import { migrations } from "./generated/registry.js";',
      "const version = process.env.APP_VERSION;",
      'const cli = createCli({ migrations, database: "app.db", programName: "myapp migrate", ...(version ? { version } : {}) });',
      "process.exitCode = await cli.run(process.argv.slice(2));",
      "",
    ].join("\n"),
  );
  const app = (args: readonly string[], env: Record<string, string | undefined> = {}) => runNode(path.join(root, "app-cli.ts"), args, { cwd: root, env });
  const [help, version, noVersion, usage, info, infoJson, upHelp] = await Promise.all([
    app(["--help"]),
    app(["--version"], { APP_VERSION: "9.9.9" }),
    app(["--version"]),
    app(["up", "--to", "nope"]),
    app(["info"]),
    app(["info", "--json"]),
    app(["up", "--help"]),
  ]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: myapp migrate /m);
  assert.match(upHelp.stdout, /^Usage: myapp migrate up /m);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout, "9.9.9\n");
  // No version given: the app's CLI has none to print, and says so as a usage error.
  assert.equal(noVersion.code, 2);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /"myapp migrate up --help"/);
  assert.equal(info.code, 2);
  assert.match(info.stderr, /myapp migrate up/);
  assert.doesNotMatch(info.stderr, /"stepwise /);
  assert.match(jsonError(infoJson).message, /myapp migrate up/);

  // A library error naming a command (`"stepwise status" shows what needs attention`) names the app's.
  const up = await app(["up"]);
  assert.equal(up.code, 0, up.stderr);
  const [repair, repairJson] = await Promise.all([app(["repair", "--applied", "1", "--yes"]), app(["repair", "--applied", "1", "--yes", "--json"])]);
  assert.equal(repair.code, 1, repair.stderr);
  assert.match(repair.stderr, /error \[INVALID_TARGET\]: .*"myapp migrate status"/);
  assert.doesNotMatch(repair.stderr, /"stepwise /);
  const refusal = jsonError(repairJson);
  assert.equal(refusal.code, "INVALID_TARGET");
  assert.match(refusal.message, /"myapp migrate status"/);
});

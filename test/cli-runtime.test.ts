/**
 * The runtime commands end to end: the real `stepwise` bin as a child process in a temp project, on a
 * real database file. Asserts on JSON fields, exit codes and error codes, not on prose.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { createPalette } from "../src/cli/format.js";
import { quoteForShell } from "../src/shared/shell-quote.js";
import { binArgs } from "./support/compiled-bin.js";
import { cliNode, createTestProject, readBytes, runCli, type RunResult } from "./support/project.js";

const ANSI_ESCAPE = "\u001b[";

function parseJson<T>(result: RunResult): T {
  assert.equal(result.code, 0, `expected exit 0, got ${result.code}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

async function project(t: Parameters<typeof createTestProject>[0], fixture = "runtime/side-effects") {
  const created = createTestProject(t, { fixture, packageJson: { stepwise: { database: "data/app.db" } } });
  const migrations = await created.load();
  const cli = (args: readonly string[], env?: Record<string, string | undefined>) => runCli(args, { cwd: created.root, env });
  return { ...created, migrations, cli, database: path.join(created.root, "data", "app.db") };
}

test("--help lists every command, and down --help lists its options", async (t) => {
  const { cli } = await project(t);
  const [help, downHelp, upHelp, genHelp] = await Promise.all([cli(["--help"]), cli(["down", "--help"]), cli(["up", "--help"]), cli(["gen", "--help"])]);
  assert.equal(help.code, 0);
  for (const command of ["status", "up", "down", "history", "version", "info", "reset", "gen", "create"]) {
    assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, "m"), `--help does not list ${command}`);
  }
  for (const option of ["--db", "--table", "--busy-timeout"]) assert.ok(help.stdout.includes(option), `--help does not list ${option}`);
  assert.equal(downHelp.code, 0);
  for (const option of ["--steps", "--to", "--json"]) assert.ok(downHelp.stdout.includes(option), `down --help does not list ${option}`);
  assert.equal(upHelp.code, 0);
  for (const option of ["--to", "--json"]) assert.ok(upHelp.stdout.includes(option), `up --help does not list ${option}`);
  // Where the rehearsal and the replay run depends on the driver and dialect: the help says so, as docs/cli.md does.
  const flat = (text: string) => text.replace(/\s+/g, " ");
  assert.match(flat(upHelp.stdout), /--dry-run rehearse on a copy \(pg, libsql-client, async migrations: in a transaction rolled back\)/);
  assert.equal(genHelp.code, 0);
  assert.match(flat(genHelp.stdout), /replayed on an empty database \(in memory; PostgreSQL: a scratch one\)/);
  // As docs/cli.md says: the lock table goes with the history table.
  const adoptHelp = await cli(["adopt", "--help"]);
  assert.match(flat(adoptHelp.stdout), /--drop-old-table drop the old tool's history table \(and Knex's or Kysely's lock table beside it\)/);
});

test("read-only commands on a missing database report version 0 and do not create the file", async (t) => {
  const { cli, database } = await project(t);
  const [status, version, history, info] = await Promise.all([cli(["status", "--json"]), cli(["version"]), cli(["history", "--json"]), cli(["info", "--json"])]);

  const parsed = parseJson<{ database: string; exists: boolean; currentVersion: number; latestVersion: number; pendingCount: number; migrations: Array<{ state: string }>; problem: unknown }>(status);
  assert.equal(parsed.database, database);
  assert.equal(parsed.exists, false);
  assert.equal(parsed.currentVersion, 0);
  assert.equal(parsed.latestVersion, 3);
  assert.equal(parsed.pendingCount, 3);
  assert.deepEqual(
    parsed.migrations.map((row) => row.state),
    ["pending", "pending", "pending"],
  );
  assert.equal(parsed.problem, null);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, "0\n");
  assert.deepEqual(parseJson(history), []);
  assert.equal(info.code, 2);
  assert.equal(existsSync(database), false, "a read-only command created the database");
  assert.equal(existsSync(path.dirname(database)), false, "a read-only command created the database's folder");
});

test("up, status, history, info and version print JSON with the right fields; a second up applies nothing", async (t) => {
  const { cli, database, migrations } = await project(t);
  const up = parseJson<{ direction: string; fromVersion: number; toVersion: number; steps: Array<{ version: number; name: string; durationMs: number }> }>(await cli(["up", "--json"]));
  assert.equal(up.direction, "up");
  assert.deepEqual([up.fromVersion, up.toVersion], [0, 3]);
  assert.deepEqual(
    up.steps.map((step) => [step.version, step.name]),
    migrations.map((m) => [m.version, m.name]),
  );
  for (const step of up.steps) assert.equal(typeof step.durationMs, "number");

  const bytesAfterUp = readBytes(database);
  const [status, history, info, version, again] = await Promise.all([cli(["status", "--json"]), cli(["history", "--json"]), cli(["info", "--json"]), cli(["version"]), cli(["up", "--json"])]);
  const parsedStatus = parseJson<{ exists: boolean; currentVersion: number; pendingCount: number; problem: unknown; migrations: Array<{ version: number; state: string; appliedAt: string | null }> }>(
    status,
  );
  assert.equal(parsedStatus.exists, true);
  assert.equal(parsedStatus.currentVersion, 3);
  assert.equal(parsedStatus.pendingCount, 0);
  assert.equal(parsedStatus.problem, null);
  assert.deepEqual(
    parsedStatus.migrations.map((row) => row.state),
    ["applied", "applied", "applied"],
  );

  const rows = parseJson<Array<{ version: number; name: string; checksum: string; appliedAt: string; durationMs: number; state: string }>>(history);
  assert.deepEqual(
    rows.map((row) => [row.version, row.name, row.checksum, row.state]),
    migrations.map((m) => [m.version, m.name, m.checksum, "applied"]),
  );
  for (const row of rows) assert.match(row.appliedAt, /Z$/);

  const parsedInfo = parseJson<{
    path: string;
    sizeBytes: number;
    currentVersion: number;
    userVersion: number;
    objects: { tables: number; indexes: number; triggers: number; views: number };
    lastMigration: { version: number; name: string; appliedAt: string } | null;
    journalMode: string;
    historyTable: string;
  }>(info);
  assert.equal(parsedInfo.path, database);
  assert.equal(parsedInfo.sizeBytes, bytesAfterUp.length);
  assert.equal(parsedInfo.currentVersion, 3);
  assert.equal(parsedInfo.userVersion, 3);
  assert.deepEqual(parsedInfo.objects, { tables: 3, indexes: 1, triggers: 0, views: 0 });
  assert.equal(parsedInfo.lastMigration?.version, 3);
  assert.equal(parsedInfo.lastMigration?.name, "bump_counter");
  assert.equal(parsedInfo.lastMigration?.appliedAt, rows[2]!.appliedAt);
  assert.equal(parsedInfo.journalMode, "delete");
  assert.equal(parsedInfo.historyTable, "schema_migrations");

  assert.equal(version.code, 0);
  assert.equal(version.stdout, "3\n");
  assert.deepEqual(parseJson<{ steps: unknown[] }>(again).steps, []);
  assert.ok(readBytes(database).equals(bytesAfterUp), "read commands or a second up changed the file");
});

test("down by steps and to 0 through the CLI", async (t) => {
  const { cli } = await project(t);
  assert.equal((await cli(["up"])).code, 0);
  const oneStep = parseJson<{ fromVersion: number; toVersion: number; steps: Array<{ version: number }> }>(await cli(["down", "--steps", "2", "--json"]));
  assert.deepEqual(
    oneStep.steps.map((step) => step.version),
    [3, 2],
  );
  assert.equal(oneStep.toVersion, 1);
  assert.equal((await cli(["up", "--to", "2"])).code, 0);
  assert.equal((await cli(["version"])).stdout, "2\n");
  const all = parseJson<{ toVersion: number; steps: Array<{ version: number }> }>(await cli(["down", "--to", "0", "--json"]));
  assert.deepEqual(
    all.steps.map((step) => step.version),
    [2, 1],
  );
  assert.equal((await cli(["version"])).stdout, "0\n");
});

test("exit codes: 1 with the error code for a refusal, 2 for usage errors, and nothing changed", async (t) => {
  const { cli, database, migrationsDir, load } = await project(t, "runtime/irreversible");
  assert.equal((await cli(["up"])).code, 0);
  const bytes = readBytes(database);

  const [irreversible, badOption, stepsAndTo, resetWithoutYes, badNumber, badTarget] = await Promise.all([
    cli(["down", "--to", "0"]),
    cli(["up", "--bogus"]),
    cli(["down", "--steps", "1", "--to", "0"]),
    cli(["reset"]),
    cli(["down", "--steps", "two"]),
    cli(["up", "--to", "9"]),
  ]);
  assert.equal(irreversible.code, 1);
  assert.ok(irreversible.stderr.includes("IRREVERSIBLE_MIGRATION"), irreversible.stderr);
  assert.equal(badOption.code, 2);
  assert.equal(stepsAndTo.code, 2);
  assert.equal(resetWithoutYes.code, 2);
  assert.equal(badNumber.code, 2);
  assert.equal(badTarget.code, 1);
  assert.ok(badTarget.stderr.includes("INVALID_TARGET"), badTarget.stderr);
  assert.equal((await cli(["no-such-command"])).code, 2);
  assert.ok(readBytes(database).equals(bytes), "a refused or mistyped command changed the database");

  // Drift: status and up both exit 1 and name the code.
  const edited = path.join(migrationsDir, "003_add_pinned.sql");
  writeFileSync(edited, readFileSync(edited, "utf8").replace("DEFAULT 0", "DEFAULT 1"));
  await load();
  const [status, up, info] = await Promise.all([cli(["status", "--json"]), cli(["up"]), cli(["info", "--json"])]);
  assert.equal(status.code, 1);
  // info still reports what the database holds: its last migration is the edited one.
  assert.equal(parseJson<{ lastMigration: { version: number } | null }>(info).lastMigration?.version, 3);
  assert.equal((JSON.parse(status.stdout) as { problem: { code: string } }).problem.code, "CHECKSUM_MISMATCH");
  assert.equal(up.code, 1);
  assert.ok(up.stderr.includes("CHECKSUM_MISMATCH"), up.stderr);
  assert.ok(readBytes(database).equals(bytes));
});

test("reset --yes drops every user object, including ones made outside migrations, and re-applies", async (t) => {
  const { cli, database } = await project(t);
  assert.equal((await cli(["up"])).code, 0);
  const db = new Database(database);
  db.exec(`
    CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT);
    CREATE INDEX idx_scratch_note ON scratch (note);
    CREATE VIEW item_labels AS SELECT label FROM items;
    CREATE TRIGGER items_touch AFTER INSERT ON items BEGIN INSERT INTO scratch (note) VALUES ('touched'); END;
    INSERT INTO items (label) VALUES ('made by hand');
    INSERT INTO side_effects (version, note) VALUES (99, 'made by hand');
  `);
  db.close();

  // It says what it dropped: the version the database was at, which its fromVersion (0, after the drops) cannot.
  const reset = await cli(["reset", "--yes", "--json"]);
  assert.equal(reset.code, 0, reset.stderr);
  const result = JSON.parse(reset.stdout) as { resetFromVersion: number; fromVersion: number; toVersion: number; steps: unknown[] };
  assert.deepEqual([result.resetFromVersion, result.fromVersion, result.toVersion, result.steps.length], [3, 0, 3, 3]);

  const after = new Database(database, { readonly: true });
  t.after(() => after.close());
  const objects = after.prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name").all();
  assert.deepEqual(objects, [
    { type: "index", name: "idx_items_label" },
    { type: "table", name: "counter" },
    { type: "table", name: "items" },
    { type: "table", name: "schema_migrations" },
    { type: "table", name: "side_effects" },
  ]);
  assert.deepEqual(after.prepare("SELECT version FROM side_effects ORDER BY version").pluck().all(), [1, 2, 3]);
  assert.equal(after.prepare("SELECT count(*) FROM items WHERE label = 'made by hand'").pluck().get(), 0);
  assert.deepEqual(after.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all(), [1, 2, 3]);
  assert.equal(after.pragma("user_version", { simple: true }), 3);

  assert.equal((await cli(["down", "--steps", "2"])).code, 0);
  const text = await cli(["reset", "--yes"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Dropped everything the database held at version 1, then applied 3 migrations in .*: the database is now at version 3\.$/m);
});

test("colour follows NO_COLOR and FORCE_COLOR; piped output has none by default", async (t) => {
  const { cli } = await project(t);
  const [forced, noColor, both, neither] = await Promise.all([
    cli(["status"], { NO_COLOR: undefined, FORCE_COLOR: "1" }),
    cli(["status"], { NO_COLOR: "1", FORCE_COLOR: undefined }),
    cli(["status"], { NO_COLOR: "1", FORCE_COLOR: "1" }),
    cli(["status"], { NO_COLOR: undefined, FORCE_COLOR: undefined }),
  ]);
  for (const result of [forced, noColor, both, neither]) assert.equal(result.code, 0, result.stderr);
  assert.ok(forced.stdout.includes(ANSI_ESCAPE), "FORCE_COLOR=1 should colour the output");
  assert.ok(!noColor.stdout.includes(ANSI_ESCAPE), "NO_COLOR should remove colour");
  assert.ok(!both.stdout.includes(ANSI_ESCAPE), "NO_COLOR wins over FORCE_COLOR");
  assert.ok(!neither.stdout.includes(ANSI_ESCAPE), "output to a pipe should not be coloured");
  // FORCE_COLOR=0 or false is how Node and the terminal tools read "no colour", on a terminal too.
  for (const value of ["0", "false", "FALSE"]) {
    const off = await cli(["status"], { NO_COLOR: undefined, FORCE_COLOR: value });
    assert.ok(!off.stdout.includes(ANSI_ESCAPE), `FORCE_COLOR=${value} should remove colour`);
    assert.equal(createPalette({ FORCE_COLOR: value }, true).red("x"), "x", `FORCE_COLOR=${value} on a terminal`);
  }
  assert.equal(createPalette({}, true).red("x"), "\u001b[31mx\u001b[39m");
});

// `script` gives the bin a terminal for stdout, as a developer's shell does, while stderr goes to a file.
test("at a terminal, stderr redirected to a file gets no colour while stdout keeps it", async (t) => {
  // Looked for here, not at import: in a shard, a file's top-level code runs (and a spawnSync there blocks the
  // process) while the files before it are testing.
  if (spawnSync("script", ["--version"]).status !== 0) return t.skip("no util-linux script here");
  const { root } = await project(t);
  const errors = path.join(root, "errors.log");
  const command = [cliNode(), ...binArgs(), "up", "--to", "x"].map(quoteForShell).join(" ");
  const withTerminal = (redirect: string) =>
    spawnSync("script", ["-qec", `${command}${redirect}`, "/dev/null"], { cwd: root, env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined }, encoding: "utf8" }).stdout;
  withTerminal(` 2>${quoteForShell(errors)}`);
  assert.match(readFileSync(errors, "utf8"), /^error \[USAGE\]: /);
  assert.ok(withTerminal("").includes(`${ANSI_ESCAPE}31merror [USAGE]`), "a terminal's stderr keeps its colour");
});

test("--db and --table override the config", async (t) => {
  const { cli, root, database } = await project(t);
  const up = await cli(["up", "--db", "other.db", "--table", "app_migrations", "--json"]);
  assert.equal(parseJson<{ toVersion: number }>(up).toVersion, 3);
  assert.equal(existsSync(database), false);
  const db = new Database(path.join(root, "other.db"), { readonly: true });
  t.after(() => db.close());
  assert.deepEqual(db.prepare("SELECT version FROM app_migrations").pluck().all(), [1, 2, 3]);
});

test("a --table that is not a plain identifier is a usage error (exit 2) and touches nothing", async (t) => {
  const { cli, database } = await project(t);
  const [status, up] = await Promise.all([cli(["status", "--table", "bad-name"]), cli(["up", "--table", "bad-name"])]);
  assert.equal(status.code, 2, status.stderr);
  assert.equal(up.code, 2, up.stderr);
  assert.equal(existsSync(database), false, "a refused --table created the database");
});

test("a failed up, down or reset --json lists beside its error the migrations it committed before the failure, as a success's steps lists them; a run as one transaction committed none", async (t) => {
  const { cli, database, migrations } = await project(t, "whole-run-fails-at-3");
  type Failure = { error: { code: string; version: number }; steps?: Array<{ version: number; name: string; durationMs: number }> };
  const failed = async (args: readonly string[]) => {
    const result = await cli([...args, "--json"]);
    assert.equal(result.code, 1, result.stderr);
    return JSON.parse(result.stdout) as Failure;
  };
  const shape = (steps: Failure["steps"] = []) => steps.map((step) => ({ ...step, durationMs: typeof step.durationMs }));

  const whole = await failed(["up", "--transaction", "all"]);
  assert.deepEqual([whole.error.code, whole.error.version, whole.steps], ["MIGRATION_FAILED", 3, []]);

  const up = await failed(["up"]);
  assert.deepEqual([up.error.code, up.error.version], ["MIGRATION_FAILED", 3]);
  const expected = [
    { version: 1, name: "create_authors", durationMs: "number" },
    { version: 2, name: "create_books", durationMs: "number" },
  ];
  assert.deepEqual(shape(up.steps), expected);
  // The same shape as the success report's steps.
  const succeeded = parseJson<{ steps: Failure["steps"] }>(await cli(["up", "--to", "2", "--json", "--db", path.join(path.dirname(database), "fresh.db")]));
  assert.deepEqual(shape(succeeded.steps), expected);

  const reset = await failed(["reset", "--yes"]);
  assert.deepEqual([reset.error.code, shape(reset.steps)], ["MIGRATION_FAILED", expected]);

  // down reverts 2, then fails at 1 (its table was dropped by hand): 2's revert was committed.
  const db = new Database(database);
  db.exec("PRAGMA foreign_keys = OFF; DROP TABLE authors");
  db.close();
  const down = await failed(["down", "--to", "0"]);
  assert.deepEqual([down.error.code, down.error.version, shape(down.steps)], ["MIGRATION_FAILED", 1, [expected[1]]]);

  // A command that runs no migration adds nothing beside its error, also from an embedded CLI whose last run was a failed up.
  const status = JSON.parse((await cli(["repair", "--forget", "9", "--yes", "--json"])).stdout) as Failure;
  assert.equal(status.steps, undefined);
  const { createCli } = await import("../src/cli/index.js");
  let stdout = "";
  const embedded = createCli({ migrations, database: path.join(path.dirname(database), "embedded.db"), io: { stdout: (text) => void (stdout += text), stderr: () => {}, env: {}, isTTY: false } });
  assert.equal(await embedded.run(["up", "--json"]), 1);
  assert.deepEqual(shape((JSON.parse(stdout) as Failure).steps), expected);
  stdout = "";
  assert.equal(await embedded.run(["repair", "--forget", "9", "--yes", "--json"]), 1);
  assert.equal((JSON.parse(stdout) as Failure).steps, undefined);
});

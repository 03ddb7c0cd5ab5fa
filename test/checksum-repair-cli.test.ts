/**
 * `stepwise repair --checksums` through the real bin, in a temp project: the report (exit 1, nothing
 * written), `--yes` (exit 0, recorded as `--by`, `STEPWISE_REPAIRED_BY` or the OS user), `history`
 * and `history --json` showing the event, a second run saying there is nothing to do, and the
 * refusals (a version not applied, options that do not go together). Every place that renders a
 * CHECKSUM_MISMATCH (`status`, `status --json`, `up`, `down`, `verify`) names the way out.
 *
 *   node --import tsx --test test/checksum-repair-cli.test.ts
 */
import assert from "node:assert/strict";
import { userInfo } from "node:os";
import { test } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { createTestProject, readBytes, runCli, type TestProject } from "./support/project.js";
import { cliUnavailable } from "./support/safety-net-checks.js";
import { createTestDatabase } from "./support/postgres-server.js";

const skip = await cliUnavailable();

const NOTES = "-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n-- migrate:down\nDROP TABLE notes;\n";
/** Migration 2; `type` is what a deliberate edit changes, to something the database already agrees with. */
const COLOR = (type: string) => `import { defineMigration } from "stepwise-migrate";

export default defineMigration({
  description: "Add a color",
  up(db: { exec(sql: string): unknown }) {
    db.exec("ALTER TABLE notes ADD COLUMN color ${type}");
  },
  down(db: { exec(sql: string): unknown }) {
    db.exec("ALTER TABLE notes DROP COLUMN color");
  },
});
`;

/** A project at version 2 whose migration 2 was then edited on purpose and regenerated. */
async function mismatchedProject(t: { after(fn: () => void): void }): Promise<TestProject> {
  const project = createTestProject(t);
  project.writeMigration("001_notes.sql", NOTES);
  project.writeMigration("002_add_color.ts", COLOR("TEXT"));
  // Both gens as `stepwise gen` writes the registry (with its gen cache), in-process: this file's subject is what the bin does after them.
  await project.generateAsBin();
  const up = await runCli(["up", "--db", "app.db"], { cwd: project.root });
  assert.equal(up.code, 0, up.stderr);
  project.writeMigration("002_add_color.ts", COLOR("TEXT DEFAULT NULL"));
  await project.generateAsBin();
  return project;
}

test("every CHECKSUM_MISMATCH names repair --checksums and restoring the file: status, status --json, up, down, verify", { skip }, async (t) => {
  const project = await mismatchedProject(t);
  const cwd = project.root;
  const status = await runCli(["status", "--db", "app.db"], { cwd });
  assert.equal(status.code, 1);
  const statusJson = JSON.parse((await runCli(["status", "--db", "app.db", "--json"], { cwd })).stdout) as { problem: { code: string; fix: { command: string } } };
  assert.equal(statusJson.problem.code, "CHECKSUM_MISMATCH");
  // The command reaches the database this run was given.
  assert.equal(statusJson.problem.fix.command, "stepwise repair --db app.db --checksums 2");
  for (const args of [["status"], ["up"], ["down"], ["verify"]]) {
    const run = await runCli([...args, "--db", "app.db"], { cwd });
    assert.equal(run.code, 1, `${args[0]}: ${run.stderr}`);
    const output = run.stdout + run.stderr;
    assert.match(output, /CHECKSUM_MISMATCH/, args[0]);
    assert.match(output, /stepwise repair --db app\.db --checksums/, args[0]);
    assert.match(output, /restore migrations\/002_add_color\.ts/, args[0]);
  }
  // Under --json the refusal's fix keeps its structure: both ways out, and the command to run.
  for (const command of ["up", "down"]) {
    const run = await runCli([command, "--db", "app.db", "--json"], { cwd });
    assert.equal(run.code, 1, run.stderr);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; version: number; fix: { command: string; accidental: string; deliberate: string } } };
    assert.equal(error.code, "CHECKSUM_MISMATCH");
    assert.equal(error.version, 2);
    assert.equal(error.fix.command, "stepwise repair --db app.db --checksums 2");
    assert.match(error.fix.accidental, /002_add_color/);
    assert.match(error.fix.deliberate, /"stepwise repair --db app.db --checksums 2"/);
    // A migration edited while it is still being written: the development database starts over with the edit, as the code's documented fix says.
    assert.match(error.fix.deliberate, /"stepwise reset --db app.db --yes"/);
  }
  assert.equal((await runCli(["reset", "--db", "app.db", "--yes"], { cwd })).code, 0);
  assert.equal((await runCli(["status", "--db", "app.db"], { cwd })).code, 0);
});

test("repair --checksums reports and exits 1; --yes realigns and records who; history shows it; a second run has nothing to do", { skip }, async (t) => {
  const project = await mismatchedProject(t);
  const cwd = project.root;
  const database = project.databasePath();
  const before = readBytes(database);

  const report = await runCli(["repair", "--checksums", "--db", "app.db"], { cwd });
  assert.equal(report.code, 1, report.stderr);
  assert.match(report.stdout, /002_add_color/);
  assert.deepEqual(readBytes(database), before, "the report writes nothing");
  const reportJson = JSON.parse((await runCli(["repair", "--checksums", "--json", "--db", "app.db"], { cwd })).stdout) as {
    applied: boolean;
    realignments: Array<{ version: number; oldChecksum: string; newChecksum: string; reason: string }>;
  };
  assert.equal(reportJson.applied, false);
  assert.deepEqual(
    reportJson.realignments.map((change) => [change.version, change.reason]),
    [[2, "edited"]],
  );
  assert.notEqual(reportJson.realignments[0]!.oldChecksum, reportJson.realignments[0]!.newChecksum);

  const repaired = await runCli(["repair", "--checksums", "--yes", "--by", "alice", "--json", "--db", "app.db"], { cwd });
  assert.equal(repaired.code, 0, repaired.stderr);
  const result = JSON.parse(repaired.stdout) as { applied: boolean; repairedBy: string; repairedAt: string };
  assert.equal(result.applied, true);
  assert.equal(result.repairedBy, "alice");

  assert.equal((await runCli(["status", "--db", "app.db"], { cwd })).code, 0);
  const history = await runCli(["history", "--db", "app.db"], { cwd });
  assert.match(history.stdout, /Checksum repairs/);
  assert.match(history.stdout, /002_add_color\s+by alice/);
  const historyJson = JSON.parse((await runCli(["history", "--json", "--db", "app.db"], { cwd })).stdout) as Array<{ version: number; checksumRepairs?: Array<Record<string, unknown>> }>;
  assert.equal(historyJson[0]!.checksumRepairs, undefined);
  assert.deepEqual(
    historyJson[1]!.checksumRepairs?.map((event) => [event.version, event.oldChecksum, event.newChecksum, event.repairedBy, event.repairedAt]),
    [[2, reportJson.realignments[0]!.oldChecksum, reportJson.realignments[0]!.newChecksum, "alice", result.repairedAt]],
  );

  const again = await runCli(["repair", "--checksums", "--db", "app.db"], { cwd });
  assert.equal(again.code, 0);
  assert.match(again.stdout, /nothing to repair/);
  const againYes = await runCli(["repair", "--checksums", "--yes", "--db", "app.db"], { cwd });
  assert.equal(againYes.code, 0);

  const down = await runCli(["down", "--db", "app.db"], { cwd });
  assert.equal(down.code, 0, down.stderr);
  // Applied again after the repair: the new row ran with the registry's checksum and was never realigned; the text still lists the repair.
  assert.equal((await runCli(["up", "--db", "app.db"], { cwd })).code, 0);
  const reapplied = JSON.parse((await runCli(["history", "--json", "--db", "app.db"], { cwd })).stdout) as Array<{ version: number; checksumRepairs?: unknown }>;
  assert.deepEqual(
    reapplied.map((row) => [row.version, row.checksumRepairs]),
    [
      [1, undefined],
      [2, undefined],
    ],
  );
  assert.match((await runCli(["history", "--db", "app.db"], { cwd })).stdout, /002_add_color\s+by alice/);
});

test("a recorded value with a control character (--by, --old-table) is USAGE naming the option, nothing written; history escapes what a table already holds", { skip }, async (t) => {
  const project = await mismatchedProject(t);
  const cwd = project.root;
  const database = project.databasePath();
  const before = readBytes(database);
  const refusedOption = async (args: string[]) => {
    const run = await runCli([...args, "--json", "--db", "app.db"], { cwd });
    assert.equal(run.code, 2, run.stdout + run.stderr);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; option?: string } };
    return [error.code, error.option];
  };
  for (const forged of ["eve\u001b[31mRED\nfake: 003 applied by admin", "eve\u0000", "eve\u007f", "eve\u009b31m", "eve\u2028fake", "eve\u2029fake"]) {
    assert.deepEqual(await refusedOption(["repair", "--checksums", "--yes", "--by", forged]), ["USAGE", "--by"], JSON.stringify(forged));
  }
  assert.deepEqual(await refusedOption(["baseline", "1", "--old-table", "knex\nfake"]), ["USAGE", "--old-table"]);
  assert.deepEqual(await refusedOption(["adopt", "--old-table", "knex\u001b[2K"]), ["USAGE", "--old-table"]);
  assert.deepEqual(readBytes(database), before);

  // Written by hand, or by a version that took anything: printed escaped, on the lines it belongs to.
  assert.equal((await runCli(["repair", "--checksums", "--yes", "--by", "alice", "--db", "app.db"], { cwd })).code, 0);
  const db = new Database(database);
  db.prepare("UPDATE schema_migrations_checksum_repairs SET repaired_by = ?").run("eve\u001b[31mRED\nfake: 003 applied by admin\u2028");
  db.prepare("UPDATE schema_migrations SET name = ? WHERE version = 1").run("notes\r\u009b2K");
  db.close();
  const history = await runCli(["history", "--db", "app.db"], { cwd });
  assert.equal(history.code, 0, history.stderr);
  assert.doesNotMatch(history.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
  assert.match(history.stdout, /by eve\\u001b\[31mRED\\u000afake: 003 applied by admin\\u2028:/);
  assert.match(history.stdout, /^001 notes\\u000d\\u009b2K /m);
  assert.doesNotMatch(history.stdout, /^fake/m);
});

test("who is recorded: STEPWISE_REPAIRED_BY, else the OS user", { skip }, async (t) => {
  for (const [env, expected] of [
    [{ STEPWISE_REPAIRED_BY: "deploy-bot" }, "deploy-bot"],
    [{ STEPWISE_REPAIRED_BY: undefined }, userInfo().username],
  ] as const) {
    const project = await mismatchedProject(t);
    const run = await runCli(["repair", "--checksums", "--yes", "--json", "--db", "app.db"], { cwd: project.root, env });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { repairedBy: string }).repairedBy, expected);
  }
});

test("refusals: a version that is not applied or not in the registry, --by alone, --checksums with --applied; nothing written", { skip }, async (t) => {
  const project = await mismatchedProject(t);
  const cwd = project.root;
  const database = project.databasePath();
  const before = readBytes(database);
  const missing = await runCli(["repair", "--checksums", "7", "--yes", "--db", "app.db"], { cwd });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /INVALID_TARGET/);
  const by = await runCli(["repair", "--by", "alice", "--applied", "2", "--yes", "--db", "app.db"], { cwd });
  assert.equal(by.code, 2);
  const both = await runCli(["repair", "--checksums", "--applied", "2", "--yes", "--db", "app.db"], { cwd });
  assert.equal(both.code, 2);
  assert.deepEqual(readBytes(database), before);
  const absent = await runCli(["repair", "--checksums", "--db", "missing.db"], { cwd });
  assert.equal(absent.code, 2);
});

test("on pg: the mismatch names the way out, repair --checksums reports then realigns, history shows it, verify sees no drift", async (t) => {
  const project = createTestProject(t, { fixture: "dialect/postgres", packageJson: { stepwise: { dialect: "postgres" } } });
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const cli = (args: readonly string[]) => runCli(["--driver", "pg", "--url", database.url, ...args], { cwd: project.root, env: { DATABASE_URL: undefined, PGPASSWORD: undefined } });
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  assert.equal((await cli(["up"])).code, 0);
  // What a deliberate edit after the run leaves: the recorded checksum is not the registry's.
  // A connection per statement: the database is dropped after the test, which ends every session.
  const sql = async (text: string) => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query(text)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  };
  await sql("UPDATE schema_migrations SET checksum = 'before-the-edit' WHERE version = 2");

  const status = await cli(["status", "--json"]);
  assert.equal(status.code, 1);
  assert.equal((JSON.parse(status.stdout) as { problem: { fix: { command: string } } }).problem.fix.command, `stepwise repair --url ${database.url} --driver pg --checksums 2`);
  const report = await cli(["repair", "--checksums", "--json"]);
  assert.equal(report.code, 1, report.stderr);
  assert.deepEqual(
    (JSON.parse(report.stdout) as { realignments: Array<{ version: number; oldChecksum: string }> }).realignments.map((change) => [change.version, change.oldChecksum]),
    [[2, "before-the-edit"]],
  );
  assert.equal((await sql("SELECT to_regclass('public.schema_migrations_checksum_repairs') AS found"))[0]!.found, null, "the report creates nothing");

  const repaired = await cli(["repair", "--checksums", "--yes", "--by", "ops"]);
  assert.equal(repaired.code, 0, repaired.stderr);
  assert.equal((await cli(["status"])).code, 0);
  const history = JSON.parse((await cli(["history", "--json"])).stdout) as Array<{ version: number; checksumRepairs?: Array<{ repairedBy: string; oldChecksum: string }> }>;
  assert.deepEqual(
    history.find((row) => row.version === 2)?.checksumRepairs?.map((event) => [event.repairedBy, event.oldChecksum]),
    [["ops", "before-the-edit"]],
  );
  const verify = await cli(["verify"]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  const again = await cli(["repair", "--checksums", "--yes"]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /nothing to repair/);
});

/**
 * `up --transaction <mode>` and `down --transaction <mode>` through the real bin, as a child process
 * in a temp project on a real database file: one transaction for the run, all or nothing; the
 * refusals before anything runs (and, for `up`, before a database file is made); a bad value as a
 * usage error; `--json` in the shape the default mode prints. Asserts on codes, fields and exit codes.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { openWithAnyDriver } from "./support/driver-matrix.js";
import { createTestProject, runCli, type RunResult } from "./support/project.js";

/** The last revert of a roll-back-all (migration 1's) fails after its DROP ran. */
const REVERT_FAILS_LAST = {
  "001_create_authors.sql":
    "-- migrate:up\nCREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nINSERT INTO authors (name) VALUES ('Ursula');\n-- migrate:down\nDROP TABLE authors;\nINSERT INTO missing_table VALUES (1);\n",
  "002_create_books.sql": "-- migrate:up\nCREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors (id));\n-- migrate:down\nDROP TABLE books;\n",
  "003_create_reviews.sql": "-- migrate:up\nCREATE TABLE reviews (id INTEGER PRIMARY KEY, book_id INTEGER NOT NULL);\n-- migrate:down\nDROP TABLE reviews;\n",
};

/** Migration 2 runs outside any transaction (VACUUM), so it cannot join one for the run. */
const WITH_TRANSACTION_FALSE = {
  "001_create_notes.sql": "-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE notes;\n",
  "002_vacuum.sql": "-- migrate:up transaction:false\nVACUUM;\n-- migrate:down\nVACUUM;\n",
  "003_create_tags.sql": "-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE tags;\n",
};

async function project(t: Parameters<typeof createTestProject>[0], migrations: Record<string, string>) {
  const created = createTestProject(t, { packageJson: { stepwise: { database: "data/app.db" } } });
  for (const [file, text] of Object.entries(migrations)) created.writeMigration(file, text);
  const generated = await created.generate();
  assert.equal(generated.ok, true, JSON.stringify(generated));
  const database = path.join(created.root, "data", "app.db");
  const cli = (args: readonly string[]) => runCli(args, { cwd: created.root });
  /** Tables and history rows (every column), read through a driver: what "nothing changed" compares. */
  const contents = async () => {
    const db = await openWithAnyDriver(database);
    try {
      return { tables: db.tableNames(), history: db.rows("SELECT * FROM schema_migrations ORDER BY version"), userVersion: db.userVersion() };
    } finally {
      db.close();
    }
  };
  return { cli, database, contents };
}

function json<T>(result: RunResult, code = 0): T {
  assert.equal(result.code, code, `expected exit ${code}, got ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

interface JsonResult {
  direction: string;
  fromVersion: number;
  toVersion: number;
  steps: { version: number; name: string; durationMs: number }[];
}

/** A result's keys and its steps' keys: what must not differ between the two modes. */
function shapeOf(result: JsonResult): string[][] {
  return [Object.keys(result).sort(), ...result.steps.map((step) => Object.keys(step).sort())];
}

test("down --transaction all reverts the run in one transaction: a failure in the last revert leaves every migration applied; --json keeps down's shape", async (t) => {
  const { cli, contents } = await project(t, REVERT_FAILS_LAST);
  json(await cli(["up", "--json"]));
  const before = await contents();

  const failed = json<{ error: Record<string, unknown> }>(await cli(["down", "--to", "0", "--transaction", "all", "--json"]), 1);
  assert.deepEqual([failed.error.code, failed.error.version, failed.error.direction, failed.error.rolledBack], ["MIGRATION_FAILED", 1, "down", true]);
  assert.deepEqual(await contents(), before, "the reverts of 3 and 2 were rolled back with 1's");

  const all = json<JsonResult>(await cli(["down", "--to", "1", "--transaction", "all", "--json"]));
  assert.deepEqual([all.direction, all.fromVersion, all.toVersion, all.steps.map((step) => step.version)], ["down", 3, 1, [3, 2]]);
  assert.deepEqual((await contents()).tables, ["authors", "schema_migrations"]);

  // The default mode's output, for the shape: the same keys, result and steps alike.
  json(await cli(["up", "--json"]));
  const each = json<JsonResult>(await cli(["down", "--to", "1", "--transaction", "each", "--json"]));
  assert.deepEqual(
    each.steps.map((step) => step.version),
    [3, 2],
  );
  assert.deepEqual(shapeOf(all), shapeOf(each));
  json(await cli(["up", "--json"]));
  assert.deepEqual(shapeOf(json<JsonResult>(await cli(["down", "--to", "1", "--json"]))), shapeOf(all));
});

test("--transaction all is refused before anything runs when a migration of the run has transaction: false; up's refusal makes no database file", async (t) => {
  const { cli, database, contents } = await project(t, WITH_TRANSACTION_FALSE);

  const upRefused = json<{ error: Record<string, unknown> }>(await cli(["up", "--transaction", "all", "--json"]), 1);
  assert.deepEqual(
    [upRefused.error.code, upRefused.error.version, upRefused.error.file, upRefused.error.obstacle, upRefused.error.direction],
    ["WHOLE_RUN_TRANSACTION_REFUSED", 2, "migrations/002_vacuum.sql", "transaction-false", "up"],
  );
  assert.equal(existsSync(database), false, "the refused up created the database");
  // The fix names CLI commands that get past it: the part before the obstacle in one transaction.
  assert.equal(upRefused.error.firstOfRun, false);
  assert.match(String(upRefused.error.fix), /"stepwise up --to 1 --transaction all"/);
  // The same refusal from a dry run, which rehearses one migration at a time.
  const dryRun = json<{ error: Record<string, unknown> }>(await cli(["up", "--dry-run", "--transaction", "all", "--json"]), 1);
  assert.equal(dryRun.error.code, "WHOLE_RUN_TRANSACTION_REFUSED");
  assert.equal(existsSync(database), false, "the dry run created the database");

  json(await cli(["up", "--json"]));
  const before = await contents();
  const downRefused = json<{ error: Record<string, unknown> }>(await cli(["down", "--to", "0", "--transaction", "all", "--json"]), 1);
  assert.deepEqual([downRefused.error.code, downRefused.error.version, downRefused.error.obstacle, downRefused.error.direction], ["WHOLE_RUN_TRANSACTION_REFUSED", 2, "transaction-false", "down"]);
  assert.match(String(downRefused.error.fix), /"stepwise down --to 2 --transaction all"/);
  assert.deepEqual(await contents(), before, "migration 3, which could have been reverted, was not");
  const above = json<JsonResult>(await cli(["down", "--to", "2", "--transaction", "all", "--json"]));
  assert.deepEqual(
    above.steps.map((step) => step.version),
    [3],
  );
});

test("up --transaction all --backup on an existing database refuses a run that cannot share one transaction before it snapshots: no backup is written", async (t) => {
  const { cli, database, contents } = await project(t, WITH_TRANSACTION_FALSE);
  const backups = path.join(path.dirname(database), "backups");
  json(await cli(["up", "--to", "1", "--json"]));
  json(await cli(["down", "--json"]));
  // One snapshot before the refused run.
  json(await cli(["up", "--to", "1", "--backup", "--json"]));
  const before = { contents: await contents(), backups: readdirSync(backups) };
  assert.equal(before.backups.length, 1);

  const refused = json<{ error: Record<string, unknown> }>(await cli(["up", "--transaction", "all", "--backup", "--json"]), 1);
  assert.deepEqual([refused.error.code, refused.error.version, refused.error.obstacle], ["WHOLE_RUN_TRANSACTION_REFUSED", 2, "transaction-false"]);
  assert.deepEqual(await contents(), before.contents);
  assert.deepEqual(readdirSync(backups), before.backups, "the refused run took a snapshot");
});

test("a bad --transaction value, or two different ones, is a usage error (exit 2) that changes nothing; --help lists the option for up and down", async (t) => {
  const { cli, contents } = await project(t, WITH_TRANSACTION_FALSE);
  json(await cli(["up", "--to", "1", "--json"]));
  const before = await contents();
  const attempts = [
    ["up", "--transaction", "none"],
    ["down", "--transaction", "ALL"],
    ["down", "--transaction", ""],
    ["up", "--transaction", "all", "--transaction", "each"],
    ["down", "--transaction"],
  ];
  for (const args of attempts) {
    const result = await cli([...args, "--json"]);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, "USAGE", args.join(" "));
  }
  assert.deepEqual(await contents(), before);
  for (const command of ["up", "down"]) {
    const help = await cli([command, "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--transaction <mode>/, `${command} --help`);
    assert.match(help.stdout, /choices:\s+"each",\s+"all"/, `${command} --help lists the choices`);
    // Both of the run's refusals, as the library's: transaction: false, and foreign keys switched off while on.
    assert.match(help.stdout, /transaction:\s+false/, `${command} --help`);
    assert.match(help.stdout, /foreign\s+keys\s+off/, `${command} --help names the foreign-key refusal too`);
  }
});

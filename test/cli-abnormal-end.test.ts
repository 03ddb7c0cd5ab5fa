/**
 * How the real bin reports a run that ends abnormally, as docs/cli.md promises every run: an exit code
 * of 0, 1 or 2, every error as `error [CODE]: message` on stderr, and under `--json` one value on stdout.
 * Only a process shows these (its exit code, its streams), so each runs the bin as a child.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { test } from "node:test";
import { binArgs } from "./support/compiled-bin.js";
import { cliNode, createTestProject, runCli } from "./support/project.js";
import { runEmbeddingApp } from "./support/in-process-cli.js";

const CREATE_T = "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n";

test("stdout that cannot be written (a full disk) fails the run with an error on stderr; a closed pipe stays quiet", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_t.sql", CREATE_T);
  await project.generateAsBin();
  const full = openSync("/dev/full", "w");
  t.after(() => closeSync(full));
  for (const args of [["status", "--json"], ["version"]]) {
    const result = spawnSync(cliNode(), [...binArgs(), "--db", project.databasePath(), ...args], {
      cwd: project.root,
      stdio: ["ignore", full, "pipe"],
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    assert.equal(result.status, 1, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /^error \[UNEXPECTED\]: stdout could not be written \(ENOSPC/m);
  }
  // The reader of a pipe that stopped reading (`| head -1`) has what it wanted.
  const piped = spawnSync("sh", ["-c", `"$0" "$@" | head -c 1 >/dev/null`, cliNode(), ...binArgs(), "--db", project.databasePath(), "status", "--json"], { cwd: project.root, encoding: "utf8" });
  assert.equal(piped.stderr, "");
});

/** A migration 002 whose `up` creates a table, then runs `then`. */
const migrationThat = (then: string) => `import { defineMigration } from "stepwise-migrate";
export default defineMigration({
  up(db) {
    db.exec("CREATE TABLE late (x INTEGER)");
    ${then}
  },
});
`;

interface JsonError {
  readonly error: { readonly code: string; readonly version?: number; readonly rolledBack?: boolean; readonly file?: string };
  readonly steps?: readonly { readonly version: number }[];
}

test("a migration that calls process.exit(0) fails the run as MIGRATION_FAILED naming it, exit 1, --json's value included; its transaction was never committed", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_t.sql", CREATE_T);
  project.writeMigration("002_exit.ts", migrationThat("process.exit(0);"));
  await project.generateAsBin();
  const db = ["--db", project.databasePath()];
  const result = await runCli([...db, "up", "--json"], { cwd: project.root, child: true });
  assert.equal(result.code, 1, result.stderr);
  const report = JSON.parse(result.stdout) as JsonError;
  assert.equal(report.error.code, "MIGRATION_FAILED");
  assert.equal(report.error.version, 2);
  assert.equal(report.error.rolledBack, true);
  assert.deepEqual(
    report.steps?.map((step) => step.version),
    [1],
  );
  assert.match(result.stderr, /^error \[MIGRATION_FAILED\]: .*process\.exit\(0\)/m);
  const status = JSON.parse((await runCli([...db, "status", "--json"], { cwd: project.root })).stdout) as { currentVersion: number; pendingCount: number };
  assert.deepEqual([status.currentVersion, status.pendingCount], [1, 1]);
});

test("a migration whose top-level await never settles is REGISTRY_LOAD_FAILED, exit 1, not Node's silent exit 13", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_t.sql", CREATE_T);
  project.writeMigration("002_hang.ts", `await new Promise<void>(() => {});\n${migrationThat("")}`);
  await project.generateAsBin();
  const result = await runCli(["--db", project.databasePath(), "status", "--json"], { cwd: project.root, child: true });
  assert.equal(result.code, 1, result.stderr);
  assert.equal((JSON.parse(result.stdout) as JsonError).error.code, "REGISTRY_LOAD_FAILED");
  assert.match(result.stderr, /^error \[REGISTRY_LOAD_FAILED\]: Could not load generated\/registry\.ts: .*never settle/m);
});

test("an error a committed migration leaves behind (an un-awaited rejection) keeps --json's one value and says so as error [UNEXPECTED], exit 1, no stack", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_t.sql", CREATE_T);
  project.writeMigration("002_late.ts", migrationThat('void Promise.reject(new Error("left behind"));'));
  await project.generateAsBin();
  const result = await runCli(["--db", project.databasePath(), "up", "--json"], { cwd: project.root, child: true });
  assert.equal(result.code, 1, result.stderr);
  // It committed: the report that says so is the one value.
  assert.deepEqual(
    (JSON.parse(result.stdout) as { steps: { version: number }[] }).steps.map((step) => step.version),
    [1, 2],
  );
  assert.match(result.stderr, /^error \[UNEXPECTED\]: After the command finished, .*: left behind\./m);
  assert.match(result.stderr, /^Thrown at migrations\/002_late\.ts:5:/m);
  assert.doesNotMatch(result.stderr, /^\s+at /m);
});

test("an app that embeds the CLI keeps its exit code: its process.exit(0) under a migration ends the process with 0, and the CLI reports nothing", async (t) => {
  const result = await runEmbeddingApp(
    t,
    `const migrations = [asyncTsEntry(1, { up: () => new Promise((resolve) => setTimeout(resolve, 500)) })];
setTimeout(() => process.exit(0), 100);
await createCli({ migrations, cwd: dir, database: "app.db" }).run(["up"]);`,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /error \[/);
});

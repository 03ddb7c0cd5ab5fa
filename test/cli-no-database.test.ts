/**
 * Issue 13 item 8: "No database given" names every place the bin looked and what each held, so a
 * config in the wrong file or under the wrong key is found from the message alone. Run through the
 * real bin as a child process, read as JSON (`--json`) for the structured `searched` field.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createTestProject, makeTempDir, runCli } from "./support/project.js";
import { describeRun } from "./support/packed-app.js";
import { createCli } from "../src/cli/index.js";

interface JsonError {
  error: { code: string; name: string; message: string; searched: { place: string; found: string }[] };
}

async function statusJson(cwd: string, env: Record<string, string | undefined> = {}): Promise<JsonError> {
  const result = await runCli(["status", "--json"], { cwd, env: { DATABASE_URL: undefined, ...env } });
  assert.equal(result.code, 2, describeRun(result));
  return JSON.parse(result.stdout) as JsonError;
}

test("No database given lists --db, stepwise.config.json, package.json and DATABASE_URL with what each held, and creates nothing", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { migrationsDir: "db/migrations" } } });
  const before = readdirSync(project.root).sort();
  const { error } = await statusJson(project.root);
  assert.equal(error.code, "USAGE");
  assert.equal(error.name, "StepwiseError");
  assert.deepEqual(error.searched, [
    { place: "--db", found: "not given" },
    { place: path.join(project.root, "stepwise.config.json"), found: "not found" },
    { place: path.join(project.root, "package.json"), found: 'its "stepwise" key sets "migrationsDir", but no "database"' },
    { place: "DATABASE_URL", found: "not set" },
  ]);
  // The text says the same as the fields, a line each.
  for (const lookup of error.searched) assert.ok(error.message.includes(`${lookup.place}: ${lookup.found}`), error.message);
  assert.deepEqual(readdirSync(project.root).sort(), before);
});

test("No database given names a config file stepwise does not read, and a config file without the database", async (t) => {
  const project = createTestProject(t);
  writeFileSync(path.join(project.root, "stepwise.config.json"), JSON.stringify({ tableName: "migrations_log" }));
  writeFileSync(path.join(project.root, "stepwise.config.ts"), 'export default { database: "data/app.db" };\n');
  writeFileSync(path.join(project.root, ".stepwiserc"), "{}");
  const { error } = await statusJson(project.root, { DATABASE_URL: "  " });
  const found = Object.fromEntries(error.searched.map((lookup) => [lookup.place, lookup.found]));
  assert.equal(found[path.join(project.root, "stepwise.config.json")], 'the file sets "tableName", but no "database"');
  assert.equal(found[path.join(project.root, "package.json")], 'no "stepwise" key');
  assert.match(found[path.join(project.root, "stepwise.config.ts")]!, /^exists, but is not read/);
  assert.match(found[path.join(project.root, ".stepwiserc")]!, /^exists, but is not read/);
  assert.equal(found.DATABASE_URL, "blank");
  assert.ok(!existsSync(path.join(project.root, "data")));
});

test("No database given from a folder with no package.json above it says which folder was taken as the project root", async (t) => {
  // A folder of the system temp folder, outside any project.
  const lonely = makeTempDir(t, "stepwise-lonely-");
  const { error } = await statusJson(lonely);
  const packageLookup = error.searched.find((lookup) => lookup.place === path.join(lonely, "package.json"));
  assert.match(packageLookup?.found ?? "", /^not found \(no package\.json at or above the working folder/);
});

test("a database named in the config is used: the message's advice works", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { database: "data/app.db" } } });
  project.writeMigration("001_first.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n");
  await project.generate();
  const up = await runCli(["up"], { cwd: project.root, env: { DATABASE_URL: undefined } });
  assert.equal(up.code, 0, describeRun(up));
  assert.ok(existsSync(path.join(project.root, "data", "app.db")));
});

test("an embedded CLI with no database setting lists --db, the app's setting and DATABASE_URL, and never reads a config file", async () => {
  const run = async (database: (() => string | null) | undefined) => {
    let stdout = "";
    const cli = createCli({ migrations: [], database, io: { stdout: (text) => (stdout += text), stderr: () => {}, env: {}, isTTY: false } });
    const code = await cli.run(["status", "--json"]);
    assert.equal(code, 2, stdout);
    return (JSON.parse(stdout) as JsonError).error;
  };
  const without = await run(undefined);
  assert.equal(without.name, "StepwiseError");
  assert.deepEqual(without.searched, [
    { place: "--db", found: "not given" },
    { place: "DATABASE_URL", found: "not set" },
  ]);
  assert.doesNotMatch(without.message, /stepwise config|package\.json/);
  const fromApp = await run(() => null);
  assert.deepEqual(
    fromApp.searched.map((lookup) => lookup.place),
    ["--db", "the app's database setting", "DATABASE_URL"],
  );
});

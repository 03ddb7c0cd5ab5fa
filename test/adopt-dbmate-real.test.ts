/**
 * `stepwise adopt` of a database real dbmate migrated (its npm package ships the binary): runs only when `STEPWISE_TEST_DBMATE` names that binary, since dbmate is not a dependency of this repo
 * (`npm install --prefix /tmp/dbmate dbmate`, then `STEPWISE_TEST_DBMATE=/tmp/dbmate/node_modules/.bin/dbmate`). dbmate applies the fixture in its string order and writes its own table.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createTestProject, fixturesDir, runCli } from "./support/project.js";

const dbmate = process.env.STEPWISE_TEST_DBMATE;

test("dbmate: a database real dbmate migrated is adopted, and verify is clean", { skip: dbmate ? false : "STEPWISE_TEST_DBMATE is not set" }, async (t) => {
  const project = createTestProject(t);
  const source = path.join(project.root, "db", "migrations");
  cpSync(path.join(fixturesDir, "import", "dbmate"), source, { recursive: true });
  const database = project.databasePath("dbmate.db");
  execFileSync(dbmate!, ["--url", `sqlite:${database}`, "--migrations-dir", source, "--no-dump-schema", "up"], { stdio: "pipe" });
  const imported = await runCli(["import", "dbmate", "db/migrations", "--empty-down", "no-op", "--yes"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stderr);
  await project.generateAsBin();
  const run = async (...args: string[]) => {
    const result = await runCli([...args, "--db", database, "--table", "stepwise_migrations", "--json"], { cwd: project.root });
    return { code: result.code, json: JSON.parse(result.stdout) as Record<string, unknown> };
  };
  const adopted = await run("adopt");
  assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
  assert.deepEqual(adopted.json.recorded, [1, 2, 3, 4, 5]);
  assert.equal((await run("verify")).json.ok, true);
  assert.equal((await run("adopt")).json.alreadyAdopted, true);
});

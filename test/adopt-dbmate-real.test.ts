/**
 * `stepwise adopt` of a database real dbmate migrated (its npm package ships the binary), on SQLite and PostgreSQL: runs when `STEPWISE_TEST_DBMATE` names that binary, as `.ci/run` sets it
 * (`npm pack @dbmate/linux-x64`; dbmate is no dev dependency, since its lock entries for other platforms cannot be complete here). dbmate applies the fixture in its string order and writes its
 * own table.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createTestProject, fixturesDir, runCli } from "./support/project.js";
import { createTestDatabase } from "./support/postgres-server.js";

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

test(
  "dbmate on PostgreSQL: a database real dbmate migrated is adopted (stepwise's own table named apart from dbmate's schema_migrations), up is a no-op, verify is clean, before and after --drop-old-table",
  { skip: dbmate ? false : "STEPWISE_TEST_DBMATE is not set" },
  async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres", tableName: "stepwise_migrations" } } });
    const source = path.join(project.root, "db", "migrations");
    cpSync(path.join(fixturesDir, "import", "dbmate"), source, { recursive: true });
    execFileSync(dbmate!, ["--url", `${database.url}${database.url.includes("?") ? "&" : "?"}sslmode=disable`, "--migrations-dir", source, "--no-dump-schema", "up"], { stdio: "pipe" });
    const imported = await runCli(["import", "dbmate", "db/migrations", "--empty-down", "no-op", "--yes"], { cwd: project.root });
    assert.equal(imported.code, 0, imported.stderr);
    await project.generateAsBin();
    const run = async (...args: string[]) => {
      const result = await runCli([...args, "--driver", "pg", "--url", database.url, "--json"], { cwd: project.root, env: { DATABASE_URL: undefined, PGPASSWORD: undefined } });
      return { code: result.code, json: JSON.parse(result.stdout) as Record<string, unknown> };
    };
    const adopted = await run("adopt");
    assert.equal(adopted.code, 0, JSON.stringify(adopted.json));
    assert.deepEqual(adopted.json.recorded, [1, 2, 3, 4, 5]);
    assert.equal((await run("up")).code, 0);
    assert.equal((await run("verify")).json.ok, true);
    assert.equal((await run("adopt", "--drop-old-table")).json.oldTableDropped, true);
    assert.equal((await run("verify")).json.ok, true);
  },
);

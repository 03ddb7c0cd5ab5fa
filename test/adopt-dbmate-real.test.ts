/**
 * `stepwise adopt` of a database real dbmate migrated (a dev dependency: its npm package ships the binary, for the platforms it builds). dbmate applies the fixture in its
 * string order and writes its own table.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createTestProject, fixturesDir, repoRoot, runCli } from "./support/project.js";

// The platforms dbmate's npm package ships a binary for; on any other this test cannot run.
const shipped = ["linux-x64", "linux-arm64", "linux-ia32", "linux-arm", "darwin-x64", "darwin-arm64", "win32-x64"].includes(`${process.platform}-${process.arch}`);
const dbmate = path.join(repoRoot, "node_modules", ".bin", process.platform === "win32" ? "dbmate.cmd" : "dbmate");

test("dbmate: a database real dbmate migrated is adopted, and verify is clean", { skip: shipped ? false : "dbmate ships no binary for this platform" }, async (t) => {
  const project = createTestProject(t);
  const source = path.join(project.root, "db", "migrations");
  cpSync(path.join(fixturesDir, "import", "dbmate"), source, { recursive: true });
  const database = project.databasePath("dbmate.db");
  execFileSync(dbmate, ["--url", `sqlite:${database}`, "--migrations-dir", source, "--no-dump-schema", "up"], { stdio: "pipe" });
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

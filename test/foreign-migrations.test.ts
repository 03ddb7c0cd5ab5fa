/**
 * A migrations folder of another tool's migrations is one FOREIGN_MIGRATIONS problem that names the
 * tool (and says how to port), never a problem per file, and gen writes no registry from it; a
 * migration in a subfolder, which gen does not read, is MIGRATIONS_IN_SUBFOLDER, so no registry
 * (empty or not) ever leaves out a migration-like file unseen, even when the gen cache answered before.
 * Real folders in temp projects, gen in-process; the bin once, for the exit code.
 *
 *   node --import tsx --test test/foreign-migrations.test.ts
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { defaultGenCacheDir } from "../codegen/gen-cache.js";
import { generateRegistry } from "../codegen/generate.js";
import { createTestProject, runCli, type TestProject } from "./support/project.js";

const SQL = "CREATE TABLE users (id INTEGER PRIMARY KEY);\n";

/** Writes `files` (path → text) under the project's migrations folder. */
function writeTree(project: TestProject, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    const target = path.join(project.migrationsDir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}

const knex = "exports.up = function (knex) {\n  return knex.schema.createTable('users', (t) => t.increments());\n};\nexports.down = (knex) => knex.schema.dropTable('users');\n";

const TOOLS: Record<string, Record<string, string>> = {
  Diesel: { "2019-02-26-002946_create_user/up.sql": SQL, "2019-02-26-002946_create_user/down.sql": "DROP TABLE users;\n", "00000000000000_diesel_initial_setup/up.sql": "SELECT 1;\n" },
  sqlx: { "20210422143411_create_users.sql": SQL, "20210423100000_add_email.sql": "ALTER TABLE users ADD COLUMN email TEXT;\n" },
  dbmate: { "20151129054053_create_users.sql": `-- migrate:up\n${SQL}\n-- migrate:down\nDROP TABLE users;\n`, "20151130000000_more.sql": "-- migrate:up\nSELECT 1;\n" },
  // golang-migrate's `-seq` and `sqlx migrate add --sequential -r` both write these names: only the database's history table tells the two apart.
  "golang-migrate or sqlx": { "0001_create_users.up.sql": SQL, "0001_create_users.down.sql": "DROP TABLE users;\n", "0002_add_email.up.sql": "SELECT 1;\n" },
  goose: { "20170506082420_create_users.sql": `-- +goose Up\n${SQL}-- +goose Down\nDROP TABLE users;\n`, "00002_more.sql": "-- +goose Up\nSELECT 1;\n" },
  Flyway: { "V1__create_users.sql": SQL, "V2__add_email.sql": "SELECT 1;\n", "U1__create_users.sql": "DROP TABLE users;\n" },
  drizzle: { "0000_careless_groot.sql": SQL, "meta/_journal.json": '{"version":"7","dialect":"sqlite","entries":[]}', "meta/0000_snapshot.json": "{}" },
  Prisma: { "20230101000000_init/migration.sql": SQL, "migration_lock.toml": 'provider = "sqlite"\n' },
  "drizzle-kit 1.0": { "20250101000000_careless_groot/migration.sql": SQL, "20250101000000_careless_groot/snapshot.json": "{}" },
  wrangler: { "0001_create_users.sql": `-- Migration number: 0001 \t 2024-05-01T10:00:00.000Z\n${SQL}`, "0002_more.sql": "-- Migration number: 0002 \t 2024-05-02T10:00:00.000Z\nSELECT 1;\n" },
  Knex: { "20210101120000_create_users.js": knex, "20210102120000_add_email.js": knex },
  Kysely: {
    "2023-08-01T10-00-00_create_users.ts": "import { Kysely } from 'kysely';\n\nexport async function up(db: Kysely<unknown>): Promise<void> {\n  await db.schema.createTable('users').execute();\n}\n",
  },
  Umzug: {
    "2020.01.01T00.00.00.create_users.ts":
      "export const up = async ({ context }: { context: { query(sql: string): Promise<void> } }) => {\n  await context.query('CREATE TABLE users (id INTEGER)');\n};\n",
  },
  Sequelize: { "20200101000000-create-user.js": "module.exports = {\n  async up(queryInterface) {\n    await queryInterface.createTable('users', {});\n  },\n};\n" },
  "node-pg-migrate": { "1612345678901_create_users.js": "exports.up = (pgm) => {\n  pgm.createTable('users', { id: 'id' });\n};\n" },
  MikroORM: {
    "Migration20210101000000.ts":
      "import { Migration } from '@mikro-orm/migrations';\n\nexport class Migration20210101000000 extends Migration {\n  async up(): Promise<void> {\n    this.addSql('CREATE TABLE users (id INTEGER)');\n  }\n}\n",
  },
  Alembic: { "env.py": "from alembic import context\n", "script.py.mako": "", "versions/ae1027a6acf_create_users.py": "def upgrade():\n    pass\n" },
  Liquibase: { "db.changelog-master.yaml": "databaseChangeLog:\n  - include:\n      file: 001.sql\n" },
  TypeORM: {
    "1612345678901-CreateUsers.ts":
      "import { MigrationInterface, QueryRunner } from 'typeorm';\n\nexport class CreateUsers1612345678901 implements MigrationInterface {\n  async up(queryRunner: QueryRunner) {}\n  async down() {}\n}\n",
  },
};

test("each tool's folder is one FOREIGN_MIGRATIONS problem naming the tool, and gen writes no registry", async (t) => {
  for (const [tool, files] of Object.entries(TOOLS)) {
    const project = createTestProject(t);
    writeTree(project, files);
    for (const check of [false, true]) {
      const result = await project.generate({ check });
      assert.deepEqual(
        result.problems.map((problem) => [problem.code, problem.foreign?.tool]),
        [["FOREIGN_MIGRATIONS", tool]],
        `${tool}: ${result.problems.map((problem) => `${problem.file}: ${problem.message}`).join("\n")}`,
      );
      assert.equal(result.ok, false);
      assert.equal(existsSync(project.registryFile), false, tool);
    }
  }
});

test("342 Diesel folders are one problem, not 342; renamed so they do not start with a digit they are still Diesel's, and no empty registry is written", async (t) => {
  const project = createTestProject(t);
  const files: Record<string, string> = {};
  for (let index = 0; index < 342; index++) {
    const stamp = `2019-02-26-${String(index).padStart(6, "0")}`;
    files[`${stamp}_step_${index}/up.sql`] = SQL;
    files[`${stamp}_step_${index}/down.sql`] = "DROP TABLE users;\n";
  }
  writeTree(project, files);
  const result = await project.generate();
  assert.deepEqual(
    result.problems.map((problem) => [problem.code, problem.foreign?.tool]),
    [["FOREIGN_MIGRATIONS", "Diesel"]],
  );

  const renamed = createTestProject(t);
  writeTree(renamed, { "create_user/up.sql": SQL, "create_user/down.sql": "DROP TABLE users;\n" });
  const after = await renamed.generate();
  assert.deepEqual(
    after.problems.map((problem) => [problem.code, problem.foreign?.tool]),
    [["FOREIGN_MIGRATIONS", "Diesel"]],
  );
  assert.equal(existsSync(renamed.registryFile), false, "an empty registry was written");

  // The bin exits 1 and writes nothing.
  const bin = await runCli(["gen"], { cwd: renamed.root });
  assert.equal(bin.code, 1, bin.stdout + bin.stderr);
  assert.match(bin.stderr, /\[FOREIGN_MIGRATIONS\]/);
  assert.equal(existsSync(renamed.registryFile), false);
});

test("one file of another tool's shape among stepwise's own is that file's problem, at its lines, not the folder's", async (t) => {
  const project = createTestProject(t);
  writeTree(project, {
    "001_users.sql": `-- migrate:up\n${SQL}`,
    "002_email.sql": "-- migrate:up\nALTER TABLE users ADD COLUMN email TEXT;\n",
    "003_goose.sql": "-- +goose Up\nSELECT 1;\n",
  });
  const result = await project.generate();
  assert.deepEqual(
    result.problems.map((problem) => [problem.code, problem.file, problem.line]),
    [["SQL_MALFORMED_MARKER", "migrations/003_goose.sql", 1]],
  );
});

test("a migration in a subfolder is MIGRATIONS_IN_SUBFOLDER, however deep (to three levels), also when the gen cache vouched for the folder before; helpers there are fine", async (t) => {
  const project = createTestProject(t);
  // A helper, notes, and SQL that is not named as a migration (a schema.sql moved aside, as BAD_FILE_NAME advises) stay in peace.
  writeTree(project, {
    "001_users.sql": `-- migrate:up\n${SQL}`,
    "lib/helpers.ts": "export const x = 1;\n",
    "lib/README.md": "helpers\n",
    "lib/schema.sql": SQL,
    "config.cjs": "module.exports = { retries: 3 };\n",
  });
  const cacheDir = defaultGenCacheDir(project.root);
  const options = { projectRoot: project.root, migrationsDir: project.migrationsDir, registryFile: project.registryFile, cacheDir };
  assert.deepEqual((await generateRegistry(options)).problems, []);

  for (const nested of ["lib/002_notes.sql", "archive/002_email.sql", "old/2021/q1/002_email.sql", "lib/deeper/002_email.sql"]) {
    // The cache vouches for the folder as it is, so what follows is a change it must see.
    assert.equal((await generateRegistry({ ...options, check: true })).status, "unchanged");
    writeTree(project, { [nested]: "-- migrate:up\nSELECT 1;\n" });
    for (const check of [true, false]) {
      const result = await generateRegistry({ ...options, check });
      assert.deepEqual(
        result.problems.map((problem) => [problem.code, problem.file]),
        [["MIGRATIONS_IN_SUBFOLDER", `migrations/${nested}`]],
        nested,
      );
    }
    rmSync(path.join(project.migrationsDir, nested), { force: true });
    assert.deepEqual((await generateRegistry(options)).problems, []);
  }
});

/**
 * A Prisma migration on SQLite hand-edited with a double-quoted string (`VALUES ("instance-id")`), the shape a real project's history holds: Prisma's SQLite reads it as a string, while
 * better-sqlite3, node:sqlite and libsql build SQLite without double-quoted strings and refuse it. `gen --check` names the imported file and line (REPLAY_FAILED); the fix goes in the imported
 * file, and a database Prisma migrated from the original is still adopted, since the map keeps the checksum Prisma recorded. The tool's database is built with sql.js, whose SQLite reads
 * double-quoted strings as Prisma's does. The bin in-process.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import initSqlJs from "sql.js";
import { parseProblemLines } from "./support/problem-lines.js";
import { createTestProject, runCli } from "./support/project.js";

const MIGRATIONS = {
  "20240101000000_init/migration.sql": '-- CreateTable\nCREATE TABLE "setting" (\n    "instance_id" TEXT NOT NULL PRIMARY KEY,\n    "closed" BOOLEAN\n);\n',
  "20240102000000_seed/migration.sql": '-- Insert initial record\nINSERT INTO "setting" ("instance_id", "closed") VALUES ("instance-id", NULL);\n',
};

test("a Prisma SQLite migration with a double-quoted string: gen --check names the imported file and line; fixed there, it applies, and a database Prisma migrated from the original is adopted", async (t) => {
  const { project, source } = await importedProject(t);
  const check = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(check.code, 1);
  assert.deepEqual(parseProblemLines(check.stderr), [{ file: "migrations/002_seed.sql", line: 4, column: 1, code: "REPLAY_FAILED" }]);

  // The fix, in the imported file only: the original keeps the bytes Prisma's checksum was taken of.
  const seed = path.join(project.migrationsDir, "002_seed.sql");
  writeFileSync(seed, readFileSync(seed, "utf8").replace('("instance-id", NULL)', "('instance-id', NULL)"));
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  const fixed = await runCli(["gen", "--check"], { cwd: project.root });
  assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
  assert.equal((await runCli(["up", "--db", project.databasePath("fresh.db")], { cwd: project.root })).code, 0);

  const migrated = await prismaMigratedDatabase(project.databasePath("prisma.db"), source);
  const adopted = await runCli(["adopt", "--db", migrated, "--json"], { cwd: project.root });
  assert.equal(adopted.code, 0, adopted.stdout + adopted.stderr);
  assert.equal((JSON.parse(adopted.stdout) as { version: number }).version, 2);
  const verified = await runCli(["verify", "--db", migrated, "--json"], { cwd: project.root });
  assert.equal((JSON.parse(verified.stdout) as { ok: boolean }).ok, true, verified.stdout);
});

/** A database Prisma migrated from the original files in `source`, with its history as Prisma records it (sql.js reads double-quoted strings as Prisma's SQLite does). */
async function prismaMigratedDatabase(migrated: string, source: string): Promise<string> {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.exec(`CREATE TABLE "_prisma_migrations" ("id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME, "migration_name" TEXT NOT NULL, "logs" TEXT,
    "rolled_back_at" DATETIME, "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)`);
  for (const [file, text] of Object.entries(MIGRATIONS)) {
    db.exec(text);
    const checksum = createHash("sha256")
      .update(readFileSync(path.join(source, file)))
      .digest("hex");
    db.run("INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES (?, ?, current_timestamp, ?, 1)", [file, checksum, path.dirname(file)]);
  }
  writeFileSync(migrated, db.export());
  db.close();
  return migrated;
}

/** The project with `MIGRATIONS` imported and generated, not fixed. */
async function importedProject(t: Parameters<typeof createTestProject>[0]) {
  const project = createTestProject(t);
  const source = path.join(project.root, "prisma-migrations");
  for (const [file, text] of Object.entries({ ...MIGRATIONS, "migration_lock.toml": 'provider = "sqlite"\n' })) {
    mkdirSync(path.dirname(path.join(source, file)), { recursive: true });
    writeFileSync(path.join(source, file), text);
  }
  const imported = await runCli(["import", "prisma", "prisma-migrations", "--empty-down", "irreversible", "--yes"], { cwd: project.root });
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  assert.equal((await runCli(["gen"], { cwd: project.root })).code, 0);
  return { project, source };
}

test("adopt and baseline whose replay fails at a migration name that migration's line and say to run them again, with the options they were given, not up on the database they check; nothing is written", async (t) => {
  const { project, source } = await importedProject(t);
  const migrated = await prismaMigratedDatabase(project.databasePath("prisma.db"), source);
  // Prisma's history under another name: adopt finds it only with --old-table, so running it again without the flag would not reach the replay.
  const renamed = project.databasePath("renamed.db");
  const SQL = await initSqlJs();
  const copy = new SQL.Database(readFileSync(migrated));
  copy.exec("ALTER TABLE _prisma_migrations RENAME TO prisma_history");
  writeFileSync(renamed, copy.export());
  copy.close();
  const cases = [
    { args: ["adopt"], db: migrated },
    { args: ["baseline", "2"], db: migrated },
    { args: ["adopt", "--old-table", "prisma_history"], db: renamed },
    { args: ["baseline", "2", "--force"], db: migrated },
  ];
  for (const { args, db } of cases) {
    const run = await runCli([...args, "--db", db, "--json"], { cwd: project.root });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; location: { file: string; line: number } | null; fix: string } };
    assert.equal(error.code, "MIGRATION_FAILED");
    assert.deepEqual({ file: error.location?.file, line: error.location?.line }, { file: "migrations/002_seed.sql", line: 4 });
    assert.ok(error.fix.includes(`then run "stepwise gen" and "stepwise ${args.join(" ")} --db ${db}" again`), error.fix);
    assert.doesNotMatch(error.fix, /stepwise up/);
  }
  for (const checked of [migrated, renamed]) {
    const db = new SQL.Database(readFileSync(checked));
    assert.deepEqual(db.exec("SELECT name FROM sqlite_master WHERE name LIKE 'schema_migrations%'"), []);
    db.close();
  }
});

/**
 * The runtime side of issue 13.5: a migration that rebuilds a table other tables reference, with
 * foreign keys on, fails at `up` with SQLite's bare "FOREIGN KEY constraint failed". The error must
 * name the table, its children and the fix (`foreignKeyRebuild` on MIGRATION_FAILED), and only when
 * that is the cause: a bad row is another fix. Every sync driver; the async drivers' suite for
 * libsql-client. The history is the ported 56-migration fixture, the rebuild in 018.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ALTER_IN_PLACE_FIX } from "../src/core/foreign-key-rebuild.js";
import { describeEachAsyncDriver, describeEachDriver } from "./support/driver-matrix.js";
import { createTestProject } from "./support/project.js";
import type { StepwiseError } from "../src/core/errors.js";

const FIXTURE = "ported-tracker-history";
const REBUILD = "018_roles_rank_integer.sql";

function isRebuildFailure(error: StepwiseError<"MIGRATION_FAILED">, version: number, table: string, fix: string): boolean {
  return (
    error.code === "MIGRATION_FAILED" &&
    error.details.version === version &&
    error.details.direction === "up" &&
    error.details.rolledBack &&
    error.details.foreignKeyRebuild?.table === table &&
    error.details.foreignKeyRebuild.fix === fix
  );
}

await describeEachDriver("a rebuild of a referenced table names foreign_keys:off", { quickOn: ["better-sqlite3", "sql.js"] }, (h) => {
  test("the ported history fails at 018 with MIGRATION_FAILED naming roles, its children and the flag; the database stays at 17", async (t) => {
    const project = createTestProject(t, { fixture: FIXTURE });
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    db.exec("PRAGMA foreign_keys = ON");
    const manager = db.manager(migrations);
    manager.up({ to: 17 });
    const before = db.snapshot();
    assert.throws(
      () => manager.up(),
      (error: StepwiseError<"MIGRATION_FAILED">) =>
        isRebuildFailure(error, 18, "roles", "-- migrate:up foreign_keys:off") &&
        error.details.file === `migrations/${REBUILD}` &&
        JSON.stringify(error.details.foreignKeyRebuild!.referencedBy) === JSON.stringify(["invites", "memberships", "role_permissions"]),
    );
    assert.deepEqual(db.snapshot(), before, "the failed rebuild changed the database");
  });

  test("with the flag the same history applies in full and keeps every seeded child row", async (t) => {
    if (h.lacks(t, "foreignKeySwitch")) return;
    const project = createTestProject(t, { fixture: FIXTURE });
    const file = path.join(project.migrationsDir, REBUILD);
    writeFileSync(file, readFileSync(file, "utf8").replace("-- migrate:up\n", "-- migrate:up foreign_keys:off\n"));
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    db.exec("PRAGMA foreign_keys = ON");
    db.manager(migrations).up();
    assert.equal(db.value("SELECT max(version) FROM schema_migrations"), 56);
    assert.equal(db.value("SELECT count(*) FROM role_permissions"), 7);
    assert.equal(db.value("SELECT typeof(rank) FROM roles WHERE name = 'owner'"), "integer");
  });

  test("a FOREIGN KEY failure from a bad row gets no rebuild hint, even in a migration that also rebuilds an unreferenced table", async (t) => {
    const project = createTestProject(t);
    project.writeMigration(
      "001_parents.sql",
      "-- migrate:up\nCREATE TABLE parents (id INTEGER PRIMARY KEY);\nCREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents (id));\nCREATE TABLE notes (body TEXT);\n",
    );
    project.writeMigration(
      "002_bad_row.sql",
      "-- migrate:up\nCREATE TABLE notes_new (body TEXT NOT NULL);\nINSERT INTO notes_new SELECT body FROM notes;\nDROP TABLE notes;\nALTER TABLE notes_new RENAME TO notes;\nINSERT INTO children (parent_id) VALUES (42);\n",
    );
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    db.exec("PRAGMA foreign_keys = ON");
    const manager = db.manager(migrations);
    assert.throws(
      () => manager.up(),
      (error: StepwiseError<"MIGRATION_FAILED">) => error.code === "MIGRATION_FAILED" && error.details.version === 2 && error.details.foreignKeyRebuild === null,
    );
    assert.equal(manager.currentVersion(), 1);
  });

  test("a TypeScript rebuild, quoted names and the rename-first variant get the hint with disableForeignKeys", async (t) => {
    const project = createTestProject(t);
    project.writeMigration(
      "001_parents.sql",
      '-- migrate:up\nCREATE TABLE "Teams" (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE players (id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL REFERENCES "Teams" (id));\nINSERT INTO "Teams" VALUES (1, \'a\');\nINSERT INTO players VALUES (1, 1);\n',
    );
    project.writeMigration(
      "002_rebuild_teams.ts",
      `import { defineMigration } from "stepwise-migrate";
export default defineMigration({
  up(db: { exec(sql: string): void }) {
    db.exec(\`ALTER TABLE "Teams" RENAME TO teams_old\`);
    db.exec(\`CREATE TABLE "Teams" (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '')\`);
    db.exec(\`INSERT INTO "Teams" SELECT id, coalesce(name, '') FROM teams_old\`);
    db.exec(\`DROP TABLE teams_old\`);
  },
});
`,
    );
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    db.exec("PRAGMA foreign_keys = ON");
    const manager = db.manager(migrations);
    // Renaming the parent first rewrites the children's references to teams_old, which is then dropped.
    assert.throws(
      () => manager.up(),
      (error: StepwiseError<"MIGRATION_FAILED">) =>
        error.details.version === 2 && error.details.foreignKeyRebuild?.fix === "disableForeignKeys: true" && ["Teams", "teams_old"].includes(error.details.foreignKeyRebuild.table),
    );
    assert.equal(manager.currentVersion(), 1);
  });
});

/**
 * The check reads which tables may reference another once per run and keeps that while nothing can
 * have changed it: each case below changes it between two drops of one run, and the second drop must
 * still see the child. The first drop (of `scratch`) makes the check read the schema.
 */
await describeEachDriver("a reference made or renamed during a run is seen by the next drop", { quickOn: ["better-sqlite3", "sql.js"] }, (h) => {
  const PARENTS = "-- migrate:up\nCREATE TABLE parents (id INTEGER PRIMARY KEY);\nINSERT INTO parents VALUES (1);\nCREATE TABLE scratch (x);\n";
  const CHILDREN = "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id) ON DELETE CASCADE)";
  const DROP_SCRATCH = "-- migrate:up\nDROP TABLE scratch;\n";
  const DROP_PARENTS = "-- migrate:up\nDROP TABLE parents;\n";

  /**
   * Runs `up` over the project's four migrations, in one call, or in two with `between` run on the
   * same connection after the first two: the drop of parents (4) must be refused, its child kept.
   */
  async function assertSecondDropRefused(
    t: { after(fn: () => void): void },
    project: ReturnType<typeof createTestProject>,
    child: string,
    between?: (db: { exec(sql: string): void }) => void,
  ): Promise<void> {
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    db.exec("PRAGMA foreign_keys = ON");
    const manager = db.manager(migrations);
    if (between) {
      manager.up({ to: 2 });
      between(db);
    }
    assert.throws(
      () => manager.up(),
      (error: StepwiseError<"MIGRATION_FAILED">) =>
        isRebuildFailure(error, 4, "parents", "-- migrate:up foreign_keys:off") && JSON.stringify(error.details.foreignKeyRebuild!.referencedBy) === JSON.stringify([child]),
    );
    assert.equal(manager.currentVersion(), 3);
    assert.equal(db.value(`SELECT count(*) FROM ${child}`), 1, "the child's row was deleted with its parent");
  }

  test("a child created by SQL after the first drop", async (t) => {
    const project = createTestProject(t);
    project.writeMigration("001_parents.sql", PARENTS);
    project.writeMigration("002_drop_scratch.sql", DROP_SCRATCH);
    project.writeMigration("003_children.sql", `-- migrate:up\n${CHILDREN};\nINSERT INTO children (parent_id) VALUES (1);\n`);
    project.writeMigration("004_drop_parents.sql", DROP_PARENTS);
    await assertSecondDropRefused(t, project, "children");
  });

  test("a child renamed after the first drop", async (t) => {
    const project = createTestProject(t);
    project.writeMigration("001_parents.sql", `${PARENTS}${CHILDREN.replace("children", "kids")};\nINSERT INTO kids (parent_id) VALUES (1);\n`);
    project.writeMigration("002_drop_scratch.sql", DROP_SCRATCH);
    project.writeMigration("003_rename_kids.sql", "-- migrate:up\nALTER TABLE kids RENAME TO children;\n");
    project.writeMigration("004_drop_parents.sql", DROP_PARENTS);
    await assertSecondDropRefused(t, project, "children");
  });

  test("a child created by a TypeScript migration whose SQL is built at run time", async (t) => {
    const project = createTestProject(t);
    project.writeMigration("001_parents.sql", PARENTS);
    project.writeMigration("002_drop_scratch.sql", DROP_SCRATCH);
    project.writeMigration(
      "003_children.ts",
      `import { defineMigration } from "stepwise-migrate";
export default defineMigration({
  up(db: { exec(sql: string): void }) {
    db.exec(${JSON.stringify(CHILDREN.replace("REFERENCES", "%KEY%"))}.replace("%KEY%", ["REFER", "ENCES"].join("")));
    db.exec("INSERT INTO children (parent_id) VALUES (1)");
  },
});
`,
    );
    project.writeMigration("004_drop_parents.sql", DROP_PARENTS);
    await assertSecondDropRefused(t, project, "children");
  });

  test("a child another connection created between two migrations of one run", async (t) => {
    // Two connections to one file need a database other processes share, as every file driver's does.
    if (h.lacks(t, "fileLocking")) return;
    const project = createTestProject(t);
    project.writeMigration("001_parents.sql", PARENTS);
    project.writeMigration("002_drop_scratch.sql", DROP_SCRATCH);
    project.writeMigration("003_other.sql", "-- migrate:up\nCREATE TABLE other (x);\n");
    project.writeMigration("004_drop_parents.sql", DROP_PARENTS);
    const migrations = await project.load();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    db.exec("PRAGMA foreign_keys = ON");
    const other = await h.open(project.databasePath());
    t.after(() => other.close());
    const manager = db.manager(migrations, {
      onEvent: (event) => {
        if (event.type !== "migrated" || event.version !== 2) return;
        other.exec(CHILDREN);
        other.exec("INSERT INTO children (parent_id) VALUES (1)");
      },
    });
    assert.throws(
      () => manager.up(),
      (error: StepwiseError<"MIGRATION_FAILED">) =>
        isRebuildFailure(error, 4, "parents", "-- migrate:up foreign_keys:off") && JSON.stringify(error.details.foreignKeyRebuild!.referencedBy) === JSON.stringify(["children"]),
    );
    assert.equal(manager.currentVersion(), 3);
    assert.equal(db.value("SELECT count(*) FROM children"), 1, "the child's row was deleted with its parent");
  });

  test("a child the app's own connection created between two runs", async (t) => {
    const project = createTestProject(t);
    project.writeMigration("001_parents.sql", PARENTS);
    project.writeMigration("002_drop_scratch.sql", DROP_SCRATCH);
    project.writeMigration("003_other.sql", "-- migrate:up\nCREATE TABLE other (x);\n");
    project.writeMigration("004_drop_parents.sql", DROP_PARENTS);
    // The same connection: SQLite's change counter moves only for other connections' commits.
    await assertSecondDropRefused(t, project, "children", (db) => {
      db.exec(CHILDREN);
      db.exec("INSERT INTO children (parent_id) VALUES (1)");
    });
  });
});

await describeEachAsyncDriver("a rebuild of a referenced table names the fix the driver takes (async drivers)", { quickOn: ["libsql-client (file:)"] }, (h) => {
  test("the ported history fails at 018 with the hint on the async API", async (t) => {
    if (h.underTest.dialect !== "sqlite") {
      t.skip("the hint is SQLite's: PostgreSQL rebuilds no tables");
      return;
    }
    const project = createTestProject(t, { fixture: FIXTURE });
    const migrations = await project.load();
    await h.withDatabase(async (db) => {
      await db.rows("PRAGMA foreign_keys = ON");
      const manager = db.manager(migrations);
      await assert.rejects(
        async () => manager.up(),
        // The fix this driver takes: the flag where it can switch foreign keys off, else an in-place change.
        (error: StepwiseError<"MIGRATION_FAILED">) => isRebuildFailure(error, 18, "roles", h.capabilities.foreignKeySwitch ? "-- migrate:up foreign_keys:off" : ALTER_IN_PLACE_FIX),
      );
      assert.equal(await manager.currentVersion(), 17);
    });
  });
});

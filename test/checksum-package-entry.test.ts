/**
 * Which stepwise entry a migration takes `defineMigration` from is not part of what it does, so it is
 * not part of its checksum: `stepwise-migrate`, `stepwise-migrate/<driver>`, and the package's
 * earlier name `stepwise` and `stepwise/<driver>` all hash as `"stepwise"` always did. A database
 * migrated while an entry's specifier was hashed as written still starts: the registry carries that
 * earlier form as the entry's legacy checksum. Nor is the package's name: an import of anything else
 * from `stepwise-migrate/<entry>` hashes as the same import from `stepwise/<entry>` did, in every form.
 *
 *   node --import tsx --test test/checksum-package-entry.test.ts
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { scanMigrations, type ScannedMigration } from "../codegen/scan.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { createTestProject, makeTempDir } from "./support/project.js";
import { openWithAnyDriver } from "./support/driver-matrix.js";

function scanner(t: { after(fn: () => void): void }) {
  const root = makeTempDir(t);
  let count = 0;
  return (source: string, helper?: string): ScannedMigration => {
    const migrationsDir = path.join(root, `variant-${++count}`);
    mkdirSync(migrationsDir);
    writeFileSync(path.join(migrationsDir, "001_variant.ts"), source);
    if (helper !== undefined) {
      mkdirSync(path.join(migrationsDir, "lib"));
      writeFileSync(path.join(migrationsDir, "lib", "helper.ts"), helper);
    }
    const result = scanMigrations({ projectRoot: root, migrationsDir });
    assert.deepEqual(result.problems, []);
    return result.migrations[0]!;
  };
}

const migration = (importLine: string, description = "") => `${importLine}

export default defineMigration({${description}
  up(db) {
    db.exec("CREATE TABLE nicknames (id INTEGER PRIMARY KEY)");
  },
});
`;

/** The checksum every release recorded for {@link migration} importing from "stepwise" (pinned: it must never move). */
const ROOT_CHECKSUM = "414eaf8d0dd93915752f786c92d0b566504219c3f60479f3d98a362538c05d34";
/** What the release before this change recorded for the same file importing from "stepwise/better-sqlite3": without, then with the description. */
const EARLIER_BETTER_SQLITE3 = "8971002de6f293b71ce1f32a5de10784d7c7e3166bf1ac56b62daa0f571053d5";
const EARLIER_BETTER_SQLITE3_DESCRIBED = "a8fed558ed12b117eff339a124dd18bed5b64f999c2a612ad34195e60025110a";
const EARLIER_PG = "b45c056a5f4bc65ca23f271f69a9e1ec03101ebf87da09882b108d82de991b26";

test("defineMigration from any stepwise entry, under the package's current or earlier name, gives the checksum the root import always had", (t) => {
  const scan = scanner(t);
  const specifiers = ["stepwise", "stepwise/better-sqlite3", "stepwise/pg", "stepwise/d1", "stepwise/durable-objects", "stepwise-migrate", "stepwise-migrate/sql-js", "stepwise-migrate/libsql-client"];
  for (const specifier of specifiers) {
    assert.equal(scan(migration(`import { defineMigration } from "${specifier}";`)).checksum, ROOT_CHECKSUM, specifier);
    assert.equal(scan(migration(`import { defineMigration } from '${specifier}';`, '\n  description: "Nicknames",')).checksum, ROOT_CHECKSUM, `${specifier}, described`);
  }
  // Types imported beside it are erased: they change nothing either.
  assert.equal(
    scan(migration(`import { defineMigration, type Database } from "stepwise/better-sqlite3";`)).checksum,
    scan(migration(`import { defineMigration, type Database } from "stepwise";`)).checksum,
  );
  assert.equal(
    scan(migration(`import { defineMigration } from "stepwise";\nimport type { PgConnection } from "stepwise-migrate/pg";`)).checksum,
    scan(migration(`import { defineMigration } from "stepwise";\nimport type { PgConnection } from "stepwise";`)).checksum,
  );
  // The root import records no legacy form: nothing about it ever changed.
  assert.equal(scan(migration(`import { defineMigration } from "stepwise";`)).legacyChecksum, null);
  assert.equal(scan(migration(`import { defineMigration } from "stepwise-migrate";`)).legacyChecksum, null);
});

test("renaming the package in an import moves no checksum: a value from an entry, a namespace, import(), an export, and every earlier form", (t) => {
  const scan = scanner(t);
  const same = (source: (name: string) => string) => {
    const before = scan(source("stepwise"));
    const after = scan(source("stepwise-migrate"));
    assert.equal(after.checksum, before.checksum, source("stepwise-migrate"));
    assert.equal(after.legacyChecksum, before.legacyChecksum, source("stepwise-migrate"));
  };
  same((name) => migration(`import { defineMigration, MigrationManager } from "${name}/pg";\nvoid MigrationManager;`));
  same((name) => migration(`import { defineMigration } from "${name}";\nimport * as runtime from "${name}/d1";\nvoid runtime;`));
  same((name) => migration(`import { defineMigration } from "${name}";\nexport { MigrationManager } from "${name}/libsql";\nvoid import("${name}/cli");`));
  same((name) => migration(`import { defineMigration } from "${name}";`, '\n  description: "Nicknames",'));
  same((name) => migration(`import { defineMigration } from "${name}/better-sqlite3";`, '\n  description: "Nicknames",'));

  // Under the new name, the earlier release's forms are still the ones it recorded.
  assert.deepEqual(scan(migration(`import { defineMigration } from "stepwise-migrate/better-sqlite3";`)).legacyChecksum?.split(" "), [EARLIER_BETTER_SQLITE3]);
  assert.deepEqual(scan(migration(`import { defineMigration } from "stepwise-migrate/pg";`)).legacyChecksum?.split(" "), [EARLIER_PG]);
  const described = scan(migration(`import { defineMigration } from "stepwise-migrate/better-sqlite3";`, '\n  description: "Nicknames",'));
  assert.deepEqual(described.legacyChecksum?.split(" ").sort(), [EARLIER_BETTER_SQLITE3, EARLIER_BETTER_SQLITE3_DESCRIBED].sort());

  // Only where a module is named: the same text as data is data.
  const data = (text: string) => migration(`import { defineMigration } from "stepwise-migrate";\nconst label = "${text}";\nvoid label;`);
  assert.notEqual(scan(data("stepwise-migrate/pg")).checksum, scan(data("stepwise/pg")).checksum);
});

test("a value other than defineMigration keeps its entry in the checksum: pg's MigrationManager is not better-sqlite3's", (t) => {
  const scan = scanner(t);
  const using = (specifier: string) => migration(`import { defineMigration, MigrationManager } from "${specifier}";\nvoid MigrationManager;`);
  assert.notEqual(scan(using("stepwise/pg")).checksum, scan(using("stepwise/better-sqlite3")).checksum);
  const namespace = (specifier: string) => migration(`import { defineMigration } from "stepwise";\nimport * as runtime from "${specifier}";\nvoid runtime;`);
  assert.notEqual(scan(namespace("stepwise/pg")).checksum, scan(namespace("stepwise/d1")).checksum);
  // Another package of a similar name is another package.
  const other = (specifier: string) => migration(`import { defineMigration } from "stepwise";\nimport { helper } from "${specifier}";\nvoid helper;`);
  assert.notEqual(scan(other("stepwise-helpers")).checksum, scan(other("stepwise")).checksum);
});

test("an entry import recorded by the earlier release is the entry's legacy checksum: both earlier forms when it has a description; a helper's entry import too", (t) => {
  const scan = scanner(t);
  const plain = scan(migration(`import { defineMigration } from "stepwise/better-sqlite3";`));
  assert.deepEqual(plain.legacyChecksum?.split(" "), [EARLIER_BETTER_SQLITE3]);
  const described = scan(migration(`import { defineMigration } from "stepwise/better-sqlite3";`, '\n  description: "Nicknames",'));
  assert.deepEqual(described.legacyChecksum?.split(" ").sort(), [EARLIER_BETTER_SQLITE3, EARLIER_BETTER_SQLITE3_DESCRIBED].sort());
  assert.deepEqual(scan(migration(`import { defineMigration } from "stepwise/pg";`)).legacyChecksum?.split(" "), [EARLIER_PG]);

  // A helper that names an entry (a type, say) hashes as one naming the root; the migration that
  // imports it keeps the earlier combination as its legacy form.
  const importer = `import { defineMigration } from "stepwise";\nimport { createNicknames } from "./lib/helper.js";\n\nexport default defineMigration({\n  up(db) {\n    createNicknames(db);\n  },\n});\n`;
  const helper = (specifier: string) =>
    `import type { Database } from "${specifier}";\n\nexport function createNicknames(db: Database): void {\n  db.exec("CREATE TABLE nicknames (id INTEGER PRIMARY KEY)");\n}\n`;
  const viaEntry = scan(importer, helper("stepwise/better-sqlite3"));
  const viaRoot = scan(importer, helper("stepwise"));
  assert.equal(viaEntry.checksum, viaRoot.checksum);
  assert.equal(viaRoot.legacyChecksum, null);
  assert.equal(viaEntry.legacyChecksum?.split(" ").length, 1);
  assert.notEqual(viaEntry.legacyChecksum, viaEntry.checksum);
});

test("changing only the import of an applied migration (stepwise-migrate to stepwise-migrate/sql-js and back) leaves the database startable; a row the earlier release wrote for stepwise/better-sqlite3 still counts under the new name", async (t) => {
  const project = createTestProject(t);
  const down = '\n  down(db) {\n    db.exec("DROP TABLE nicknames");\n  },';
  const write = (importLine: string) => project.writeMigration("001_nicknames.ts", migration(importLine, `\n  description: "Nicknames",${down}`));
  write(`import { defineMigration } from "stepwise-migrate";`);
  const first = await project.load();
  const db = await openWithAnyDriver(project.databasePath());
  t.after(() => db.close());
  db.manager(first).up();

  write(`import { defineMigration } from "stepwise-migrate/sql-js";`);
  const moved = await project.load();
  assert.equal(moved[0]!.checksum, first[0]!.checksum);
  assert.equal(db.manager(moved).status().problem, null);
  assert.equal(db.manager(moved).up().steps.length, 0);

  // A row the earlier release wrote for the entry import under the package's earlier name, in either
  // of its forms, after the import was renamed.
  const earlierForms = scanner(t)(migration(`import { defineMigration } from "stepwise/better-sqlite3";`, `\n  description: "Nicknames",${down}`)).legacyChecksum!.split(" ");
  assert.equal(earlierForms.length, 2);
  write(`import { defineMigration } from "stepwise-migrate/better-sqlite3";`);
  const current = await project.load();
  assert.deepEqual(current[0]!.legacyChecksum!.split(" ").sort(), [...earlierForms].sort());
  for (const earlier of earlierForms) {
    db.driver.run("UPDATE schema_migrations SET checksum = ?", [earlier]);
    const manager = db.manager(current as MigrationRegistry);
    assert.equal(manager.status().problem, null, earlier);
    assert.deepEqual(
      manager.down().steps.map((step) => step.version),
      [1],
    );
    manager.up();
  }
});

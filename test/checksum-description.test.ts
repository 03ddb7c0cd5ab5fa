/**
 * A TypeScript migration's `description` is out of its checksum, as a SQL migration's comment is,
 * however it is written; a `description` that is data (a row the migration inserts) stays in. And
 * the path for databases an earlier release migrated, which recorded the checksum with the
 * description hashed in: the registry carries that form as `legacyChecksum`, the runtime accepts it,
 * and `repair --checksums` moves it to the new form.
 *
 *   node --import tsx --test test/checksum-description.test.ts
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { scanMigrations, type ScannedMigration } from "../codegen/scan.js";
import { repairChecksums } from "../src/safety/index.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { createTestProject, makeTempDir } from "./support/project.js";
import { openWithAnyDriver } from "./support/driver-matrix.js";

function scanner(t: { after(fn: () => void): void }) {
  const root = makeTempDir(t);
  let count = 0;
  return (source: string): ScannedMigration => {
    const migrationsDir = path.join(root, `variant-${++count}`);
    mkdirSync(migrationsDir);
    writeFileSync(path.join(migrationsDir, "001_variant.ts"), source);
    const result = scanMigrations({ projectRoot: root, migrationsDir });
    assert.deepEqual(result.problems, []);
    return result.migrations[0]!;
  };
}

/** A migration with `options` spliced in before and after `up`, as a person might order them. */
const migration = (before: string, after = "", body = 'db.exec("CREATE TABLE nicknames (id INTEGER PRIMARY KEY)");') => `import { defineMigration } from "stepwise-migrate";

export default defineMigration({${before}
  up(db) {
    ${body}
  },${after}
});
`;

test("a description changes no TypeScript checksum: edited, removed, emptied, quoted, a template literal, wrapped, or moved", (t) => {
  const scan = scanner(t);
  const without = scan(migration("")).checksum;
  const variants: Record<string, string> = {
    "a string literal": migration('\n  description: "Nicknames for contacts",'),
    edited: migration('\n  description: "Nicknames for contacts, typo fixed",'),
    empty: migration('\n  description: "",'),
    "single quotes": migration("\n  description: 'Nicknames',"),
    "a template literal": migration("\n  description: `Nicknames\nover two lines`,"),
    "a quoted property name": migration('\n  "description": "Nicknames",'),
    "wrapped in parentheses and as const": migration('\n  description: ("Nicknames" as const),'),
    "after up": migration("", '\n  description: "Nicknames",'),
    "after transaction": migration("", '\n  transaction: true,\n  description: "Nicknames",').replace("},\n  transaction", "},\n  transaction"),
  };
  const withTransaction = scan(migration("", "\n  transaction: true,")).checksum;
  for (const [what, source] of Object.entries(variants)) {
    const expected = what === "after transaction" ? withTransaction : without;
    assert.equal(scan(source).checksum, expected, what);
  }
});

test("a description that is data, not the migration's, stays in the checksum", (t) => {
  const scan = scanner(t);
  const insert = (text: string) => `const row = { description: "${text}" }; db.exec("INSERT INTO t VALUES ('" + row.description + "')");`;
  assert.notEqual(scan(migration("", "", insert("a"))).checksum, scan(migration("", "", insert("b"))).checksum);
});

test("the legacy checksum is the earlier release's: present only with a description, equal to what that release committed", (t) => {
  const scan = scanner(t);
  assert.equal(scan(migration("")).legacyChecksum, null);
  const described = scan(migration('\n  description: "Nicknames",'));
  assert.ok(described.legacyChecksum);
  assert.notEqual(described.legacyChecksum, described.checksum);
  assert.notEqual(scan(migration('\n  description: "Other",')).legacyChecksum, described.legacyChecksum, "the old form hashed the description");
  // The golden fixture's TypeScript migration, as the release before this change committed it in
  // test/snapshots/golden-registry.ts: a database it migrated holds exactly this.
  const root = path.resolve(import.meta.dirname, "..");
  const golden = scanMigrations({ projectRoot: root, migrationsDir: path.join(root, "test/fixtures/codegen/golden") }).migrations.find((entry) => entry.kind === "ts")!;
  assert.equal(golden.legacyChecksum, "66d83826352104faf11a7c6b99d0a17c6a085311234566d1c5f2d147f2b4804c");
});

test("a database migrated by the earlier release (legacy checksums recorded) starts clean, takes description edits after repair --checksums", async (t) => {
  const project = createTestProject(t);
  const down = '\n  down(db) {\n    db.exec("DROP TABLE nicknames");\n  },';
  project.writeMigration("001_nicknames.ts", migration('\n  description: "Nicknames",', down));
  const registry = await project.load();
  const entry = registry[0]!;
  assert.ok(entry.legacyChecksum);
  // What the earlier release's registry said: the same module, its checksum the legacy form.
  const old: MigrationRegistry = [{ ...entry, checksum: entry.legacyChecksum, legacyChecksum: undefined } as MigrationRegistry[number]];
  const db = await openWithAnyDriver(project.databasePath());
  t.after(() => db.close());
  db.manager(old).up();
  assert.equal(db.value("SELECT checksum FROM schema_migrations"), entry.legacyChecksum);

  const manager = db.manager(registry);
  assert.equal(manager.status().problem, null);
  assert.equal(manager.up().steps.length, 0);
  assert.deepEqual(
    manager.down().steps.map((step) => step.version),
    [1],
  );
  manager.up();
  // A history row written by this release holds the new form.
  assert.equal(db.value("SELECT checksum FROM schema_migrations"), entry.checksum);

  // Back to the old row: after the description is edited, the old form no longer matches; repair moves it.
  db.driver.run("UPDATE schema_migrations SET checksum = ?", [entry.legacyChecksum]);
  project.writeMigration("001_nicknames.ts", migration('\n  description: "Nicknames, reworded",', down));
  const edited = await project.load();
  assert.equal(edited[0]!.checksum, entry.checksum, "the description edit left the checksum alone");
  assert.equal(db.manager(edited).status().problem?.code, "CHECKSUM_MISMATCH");
  const repaired = repairChecksums(db.manager(edited), { apply: true, repairedBy: "upgrade" });
  assert.deepEqual(
    repaired.realignments.map((change) => change.reason),
    ["edited"],
  );
  assert.equal(db.manager(edited).status().problem, null);
});

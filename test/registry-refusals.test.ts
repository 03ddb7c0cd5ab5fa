/**
 * A manager given a broken registry refuses it with the registry checks' code, the dialect first;
 * the cases list the ways a registry can break them.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager } from "../src/entries/better-sqlite3.js";
import type { MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

function sqlEntry(version: number, fields: Partial<Record<string, unknown>> = {}): MigrationEntry {
  return {
    kind: "sql",
    version,
    name: `table_${version}`,
    file: `migrations/${String(version).padStart(3, "0")}_table_${version}.sql`,
    description: null,
    checksum: `checksum-${version}`,
    reversible: true,
    transaction: true,
    disableForeignKeys: false,
    upSql: `CREATE TABLE t${version} (id INTEGER PRIMARY KEY)`,
    downSql: `DROP TABLE t${version}`,
    ...fields,
  } as MigrationEntry;
}

function moduleEntry(version: number, down: boolean, reversible: boolean): MigrationEntry {
  return {
    kind: "ts",
    version,
    name: `module_${version}`,
    file: `migrations/${String(version).padStart(3, "0")}_module_${version}.ts`,
    description: null,
    checksum: `checksum-${version}`,
    reversible,
    transaction: true,
    disableForeignKeys: false,
    module: { up: () => undefined, ...(down ? { down: () => undefined } : {}) },
  } as MigrationEntry;
}

/** An entry whose downSql is an accessor, as a generated registry's is: taken at its flag. */
function accessorEntry(version: number, reversible: boolean): MigrationEntry {
  const { downSql: _downSql, ...rest } = sqlEntry(version, { reversible }) as MigrationEntry & { downSql: string };
  return Object.defineProperty(rest, "downSql", { enumerable: true, get: () => (reversible ? `DROP TABLE t${version}` : null) }) as MigrationEntry;
}

const base = [1, 2, 3].map((version) => sqlEntry(version));
const withLast = (entry: unknown): MigrationRegistry => [...base.slice(0, 2), entry as MigrationEntry];

const cases: Record<string, MigrationRegistry> = {
  "a clean registry": base,
  "an empty registry": [],
  "modules with and without down": [sqlEntry(1), moduleEntry(2, true, true), moduleEntry(3, false, false)],
  "accessor entries at their flags": [accessorEntry(1, true), accessorEntry(2, false), sqlEntry(3)],
  "a gap": [sqlEntry(1), sqlEntry(2), sqlEntry(4)],
  "a duplicate": [sqlEntry(1), sqlEntry(2), sqlEntry(2)],
  "a version 0 first": [sqlEntry(0), sqlEntry(1), sqlEntry(2)],
  "a fractional version": withLast(sqlEntry(2.5)),
  "a string version": withLast(sqlEntry(3, { version: "3" })),
  "a null entry": withLast(null),
  "a number as an entry": withLast(3),
  "no checksum": withLast(sqlEntry(3, { checksum: undefined })),
  "an empty checksum": withLast(sqlEntry(3, { checksum: "" })),
  "a numeric checksum": withLast(sqlEntry(3, { checksum: 3 })),
  "foreign keys off without a transaction": withLast(sqlEntry(3, { disableForeignKeys: true, transaction: false })),
  "reversible without a down": withLast(sqlEntry(3, { downSql: null })),
  "irreversible with a down": withLast(sqlEntry(3, { reversible: false })),
  "a module reversible without down": withLast(moduleEntry(3, false, true)),
  "a module irreversible with down": withLast(moduleEntry(3, true, false)),
  // Hand-written entries: a flag read as false would run a migration outside a transaction, or (disableForeignKeys) end every transaction before its migration, forever.
  "no transaction flag": withLast(sqlEntry(3, { transaction: undefined })),
  "a text transaction flag": withLast(sqlEntry(3, { transaction: "true" })),
  "no disableForeignKeys flag": withLast(sqlEntry(3, { disableForeignKeys: undefined })),
  "a numeric disableForeignKeys flag": withLast(sqlEntry(3, { disableForeignKeys: 0 })),
  "no reversible flag": withLast(sqlEntry(3, { reversible: undefined })),
  "an unknown kind": withLast(sqlEntry(3, { kind: "js" })),
  "a SQL entry without upSql": withLast((({ upSql: _upSql, ...rest }) => rest)(sqlEntry(3) as MigrationEntry & { upSql: string })),
  "a module without up": withLast({ ...moduleEntry(3, true, true), module: { down: () => undefined } }),
  // A squashedInto that names no squash would skip the migration: never run, never recorded.
  "squashedInto null": withLast(sqlEntry(3, { squashedInto: null })),
  "squashedInto as text": withLast(sqlEntry(3, { squashedInto: "3" })),
  "squashedInto past the registry": withLast(sqlEntry(3, { squashedInto: 9 })),
  "squashedInto an earlier version": withLast(sqlEntry(3, { squashedInto: 1 })),
  "squashedInto a version that is no squash": [sqlEntry(1), sqlEntry(2, { squashedInto: 3 }), sqlEntry(3)],
  "a squash whose earlier versions it does not replace": withLast(sqlEntry(3, { squashedInto: 3 })),
  "a squash of 1 to 3": [1, 2].map((version) => sqlEntry(version, { squashedInto: 3, upSql: "", downSql: null, reversible: false })).concat(sqlEntry(3, { squashedInto: 3 })),
  "a numeric name": withLast(sqlEntry(3, { name: 3 })),
  "no file": withLast(sqlEntry(3, { file: undefined })),
  "a numeric description": withLast(sqlEntry(3, { description: 3 })),
  "a null legacyChecksum": withLast(sqlEntry(3, { legacyChecksum: null })),
  "a numeric upSql": withLast(sqlEntry(3, { upSql: 42 })),
  "a numeric downSql": withLast(sqlEntry(3, { downSql: 7 })),
  "sqlLines as text": withLast(sqlEntry(3, { sqlLines: "1" })),
  "a postgres entry last": withLast(sqlEntry(3, { dialect: "postgres" })),
  "an explicit sqlite dialect": withLast(sqlEntry(3, { dialect: "sqlite" })),
};

test("a manager refuses each broken registry with the checks' code, the dialect first", () => {
  const db = new Database(":memory:");
  try {
    assert.throws(() => new MigrationManager(db, cases["a postgres entry last"]!), stepwiseFailure({ code: "REGISTRY_DIALECT_MISMATCH", version: 3 }));
    assert.throws(() => new MigrationManager(db, cases["a gap"]!), { code: "REGISTRY_INVALID" });
    // The dialect comes first, as before: a registry both for postgres and broken is the wrong file.
    assert.throws(() => new MigrationManager(db, [sqlEntry(1, { dialect: "postgres" }), sqlEntry(3)]), { code: "REGISTRY_DIALECT_MISMATCH" });
  } finally {
    db.close();
  }
});

test("a manager accepts each clean registry and refuses every broken one with a registry code", () => {
  const clean = new Set(["a clean registry", "an empty registry", "modules with and without down", "accessor entries at their flags", "an explicit sqlite dialect", "a squash of 1 to 3"]);
  const db = new Database(":memory:");
  try {
    for (const [name, migrations] of Object.entries(cases)) {
      if (clean.has(name)) assert.doesNotThrow(() => new MigrationManager(db, migrations), name);
      else
        assert.throws(
          () => new MigrationManager(db, migrations),
          (error: { code?: string }) => ["REGISTRY_INVALID", "REGISTRY_DIALECT_MISMATCH"].includes(error.code ?? ""),
          name,
        );
    }
  } finally {
    db.close();
  }
});

test("an entry whose flags are not booleans, whose kind is unknown or whose body is missing is refused at construction, naming the migration and the field", () => {
  const db = new Database(":memory:");
  try {
    const shapes: [string, RegExp][] = [
      ["no transaction flag", /\btransaction\b/],
      ["a text transaction flag", /\btransaction\b/],
      ["no disableForeignKeys flag", /\bdisableForeignKeys\b/],
      ["a numeric disableForeignKeys flag", /\bdisableForeignKeys\b/],
      ["no reversible flag", /\breversible\b/],
      ["an unknown kind", /\bkind\b/],
      ["a SQL entry without upSql", /\bupSql\b/],
      ["a module without up", /\bup\b/],
      ["squashedInto null", /\bsquashedInto\b/],
      ["squashedInto as text", /\bsquashedInto\b/],
      ["squashedInto past the registry", /\bsquashedInto\b/],
      ["squashedInto an earlier version", /\bsquashedInto\b/],
      ["a squash whose earlier versions it does not replace", /\bsquashedInto\b/],
      ["a numeric name", /\bname\b/],
      ["no file", /\bfile\b/],
      ["a numeric description", /\bdescription\b/],
      ["a null legacyChecksum", /\blegacyChecksum\b/],
      ["a numeric upSql", /\bupSql\b/],
      ["a numeric downSql", /\bdownSql\b/],
      ["sqlLines as text", /\bsqlLines\b/],
    ];
    for (const [name, field] of shapes) {
      assert.throws(
        () => new MigrationManager(db, cases[name]!),
        (error: { code?: string; details?: { problems?: { version: number | null; file: string | null; message: string }[] } }) => {
          assert.equal(error.code, "REGISTRY_INVALID", name);
          const [problem, ...rest] = error.details?.problems ?? [];
          assert.equal(rest.length, 0, name);
          assert.equal(problem?.version, 3, name);
          assert.equal(problem?.file, (cases[name]![2] as MigrationEntry).file ?? null, name);
          assert.match(problem?.message ?? "", field, name);
          return true;
        },
      );
    }
    // Nothing was created: the refusal comes before the first statement.
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_master").all(), []);
  } finally {
    db.close();
  }
});

test("a registry array changed after the manager was made changes nothing: the manager runs the registry it checked", () => {
  // In a child with a time limit: an unchecked entry pushed afterwards (no disableForeignKeys) once made up() spin forever.
  const script = `
    import Database from "better-sqlite3";
    import { MigrationManager } from ${JSON.stringify(new URL("../src/entries/better-sqlite3.ts", import.meta.url).href)};
    const entry = (version, fields = {}) => ({ kind: "sql", version, name: "t" + version, file: "migrations/" + version + ".sql", description: null, checksum: "c" + version,
      reversible: true, transaction: true, disableForeignKeys: false, upSql: "CREATE TABLE t" + version + " (id INTEGER)", downSql: "DROP TABLE t" + version, ...fields });
    const migrations = [entry(1), entry(2)];
    const manager = new MigrationManager(new Database(":memory:"), migrations);
    migrations.push(entry(3, { disableForeignKeys: undefined }));
    migrations[1] = entry(2, { squashedInto: null });
    const result = manager.up();
    console.log(JSON.stringify({ steps: result.steps.map((step) => step.version), latest: manager.migrations.length }));
  `;
  const child = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), "--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
  assert.equal(child.signal, null, "up() did not end");
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { steps: [1, 2], latest: 2 });
});

test("an entry edited in place after the manager was made changes nothing: the manager runs the entries it checked, each frozen", () => {
  const migrations = [
    sqlEntry(1, { upSql: "CREATE TABLE a (x INTEGER)", downSql: null, reversible: false }),
    sqlEntry(2, { upSql: "INSERT INTO a VALUES (2)", downSql: null, reversible: false }),
    sqlEntry(3, { upSql: "INSERT INTO a VALUES (3)", downSql: null, reversible: false }),
  ];
  const db = new Database(":memory:");
  const manager = new MigrationManager(db, migrations);
  manager.up({ to: 1 });
  Object.assign(migrations[1]!, { version: 7, upSql: "DROP TABLE a" });
  assert.ok(manager.migrations.every((checked) => Object.isFrozen(checked)));
  assert.deepEqual(
    manager.up().steps.map((step) => step.version),
    [2, 3],
  );
  assert.deepEqual(db.prepare("SELECT x FROM a ORDER BY x").pluck().all(), [2, 3]);
  assert.deepEqual(
    manager.history().map((row) => row.version),
    [1, 2, 3],
  );
});

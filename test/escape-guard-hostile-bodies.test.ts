/**
 * TypeScript bodies that try to end stepwise's transaction in ways a plain `exec("COMMIT")` test
 * would not show: through a statement they prepared, through one an earlier migration's body prepared
 * and kept, and by forging the guard's proof. The proof is a savepoint whose name no migration can
 * guess; where SQLite lists the text of every live statement on the connection (the `sqlite_stmt`
 * table, which libsql builds in), a cached `SAVEPOINT "…"` would hand the name to the body, which could
 * then commit, begin again and re-open it. Each test runs on every driver with savepoints; on the
 * others the storage refuses transaction control outright.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { caught, createItems, rejection, tsEntry, type PortableConnection } from "./support/registry-builders.js";
import type { MigrationEntry } from "../src/core/types.js";

/** A library's prepared statement, as every SQLite library here spells running one. */
interface Runnable {
  run(): unknown;
}

type Preparing = PortableConnection & { prepare(sql: string): Runnable };

const appliedVersions = (db: TestDatabase) => db.rows("SELECT version FROM schema_migrations ORDER BY version").map((row) => row.version);
const notes = (db: TestDatabase) => db.rows("SELECT note FROM items ORDER BY id").map((row) => row.note);

/** The text of every live statement on `db`'s connection that opens or releases a savepoint; none where SQLite cannot list them. */
function savepointNamesInLiveStatements(db: TestDatabase): string[] {
  let texts: string[];
  try {
    texts = db.rows("SELECT sql FROM sqlite_stmt").map((row) => String(row.sql));
  } catch {
    return []; // no sqlite_stmt in this build of SQLite
  }
  return texts.flatMap((sql) => [...sql.matchAll(/(?:SAVEPOINT|RELEASE)\s+"([^"]+)"/gi)].map((match) => match[1]!));
}

/**
 * Migration `version`: writes a row, commits stepwise's transaction, begins another and opens in it
 * every savepoint name it could find in the connection's live statements, then (when `fail`) throws.
 */
function forgingMigration(db: TestDatabase, version: number, fail: boolean, found: string[][]): MigrationEntry {
  return tsEntry<PortableConnection>(version, {
    up(d) {
      const names = savepointNamesInLiveStatements(db);
      found.push(names);
      d.exec(`INSERT INTO items (note) VALUES ('forged'); COMMIT; BEGIN IMMEDIATE;${names.map((name) => ` SAVEPOINT "${name}";`).join("")}`);
      if (fail) throw new Error("fails after its commit");
    },
  });
}

/** A connection that can register a SQL function: `function` (better-sqlite3, node:sqlite, Bun, libsql) or `create_function` (sql.js). */
type Registering = PortableConnection & { function?(name: string, fn: () => unknown): unknown; create_function?(name: string, fn: () => unknown): unknown };

/** Registers `fn` as the SQL function `name` on `d`; a library that cannot (libsql: "not implemented") is left as it is. */
function registerFunction(d: Registering, name: string, fn: () => unknown): void {
  try {
    if (typeof d.create_function === "function") d.create_function(name, fn);
    else d.function?.(name, fn);
  } catch {
    // Nothing to forge with: the real total_changes() answers.
  }
}

/** How a body can take the run's witness table away from the guard: its name is in `temp.sqlite_master`. */
const WITNESS_TAMPERING: ReadonlyArray<readonly [string, (table: string) => string]> = [
  ["drops", (table) => `DROP TABLE temp."${table}"`],
  ["renames", (table) => `ALTER TABLE temp."${table}" RENAME TO taken`],
  ["replaces with a view", (table) => `DROP TABLE temp."${table}"; CREATE TEMP VIEW "${table}" AS SELECT 0 AS token`],
];

const writeNote = (version: number, note: string) => tsEntry<PortableConnection>(version, { up: (d) => void d.exec(`INSERT INTO items (note) VALUES ('${note}')`) });

await describeEachDriver("a TypeScript body that ends stepwise's transaction behind the guard's back", (h) => {
  for (const fail of [false, true]) {
    test(`one that reads the live statements' text, commits, begins again and re-opens every savepoint it found${fail ? ", then throws" : ""}: TRANSACTION_ESCAPED, committed "yes", never recorded`, (t) =>
      h.withDatabase((db) => {
        if (h.lacks(t, "savepoints")) return;
        const found: string[][] = [];
        // Migration 2 runs under the guard first, so a statement of the run's savepoint would be cached by now.
        const migrations = [createItems, writeNote(2, "two"), forgingMigration(db, 3, fail, found), writeNote(4, "four")];
        const error = caught(() => db.manager(migrations).up());
        assert.equal(error.code, "TRANSACTION_ESCAPED");
        assert.equal(error.version, 3);
        assert.equal(error.direction, "up");
        assert.equal(error.committed, "yes");
        assert.deepEqual(found, [[]], "the guard's savepoint name was readable from a live statement while the body ran");
        assert.deepEqual(appliedVersions(db), [1, 2]);
        assert.deepEqual(notes(db), ["two", "forged"]);
        assert.equal(db.userVersion(), 2);
        assert.equal(db.inTransaction(), false);
      }));
  }

  for (const end of ["ROLLBACK", "ROLLBACK; BEGIN"]) {
    test(`one that runs ${end}: TRANSACTION_ESCAPED with no cause (the history guard's triggers went with the rollback, the table did not), nothing kept or recorded`, (t) =>
      h.withDatabase((db) => {
        if (h.lacks(t, "savepoints")) return;
        const rollingBack = tsEntry(2, {
          up(d) {
            d.exec("INSERT INTO items (note) VALUES ('two')");
            d.exec(end);
          },
        });
        const error = caught(() => db.manager([createItems, rollingBack]).up());
        assert.equal(error.code, "TRANSACTION_ESCAPED");
        assert.equal(error.version, 2);
        assert.equal(error.file, rollingBack.file);
        assert.equal(error.cause, undefined);
        assert.deepEqual(appliedVersions(db), [1]);
        assert.deepEqual(notes(db), []);
        assert.equal(db.inTransaction(), false);
      }));
  }

  test('the same forgery under transaction: "all" is TRANSACTION_ESCAPED, committed "yes"', (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "savepoints")) return;
      const found: string[][] = [];
      const migrations = [createItems, writeNote(2, "two"), forgingMigration(db, 3, false, found), writeNote(4, "four")];
      const error = caught(() => db.manager(migrations).up({ transaction: "all" }));
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(error.version, 3);
      assert.equal(error.committed, "yes");
      assert.deepEqual(found, [[]]);
      assert.deepEqual(notes(db), ["two", "forged"]);
      assert.equal(db.inTransaction(), false);
    }));

  test('the same forgery through the async runner is TRANSACTION_ESCAPED, committed "yes", never recorded', (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "savepoints")) return;
      const found: string[][] = [];
      const migrations = [createItems, writeNote(2, "two"), forgingMigration(db, 3, false, found), writeNote(4, "four")];
      const error = await rejection(() => new h.entry.AsyncMigrationManager(db.native, migrations).up());
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(error.version, 3);
      assert.equal(error.committed, "yes");
      assert.deepEqual(found, [[]]);
      assert.deepEqual(appliedVersions(db), [1, 2]);
      assert.deepEqual(notes(db), ["two", "forged"]);
      assert.equal(db.inTransaction(), false);
    }));

  test('a COMMIT and BEGIN the body runs as statements it prepared, not through exec: TRANSACTION_ESCAPED, committed "yes"', (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "savepoints")) return;
      const migrations = [
        createItems,
        writeNote(2, "two"),
        tsEntry<Preparing>(3, {
          up(d) {
            d.exec("INSERT INTO items (note) VALUES ('three')");
            d.prepare("COMMIT").run();
            d.prepare("BEGIN").run();
          },
        }),
      ];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(error.version, 3);
      assert.equal(error.committed, "yes");
      assert.deepEqual(appliedVersions(db), [1, 2]);
      assert.deepEqual(notes(db), ["two", "three"]);
      assert.equal(db.inTransaction(), false);
    }));

  for (const [how, tamper] of WITNESS_TAMPERING) {
    test(`a body that ${how} the run's witness table: the next migrations still apply, and a later escape is TRANSACTION_ESCAPED, committed "yes"`, (t) =>
      h.withDatabase((db) => {
        if (h.lacks(t, "savepoints")) return;
        const migrations = [
          createItems,
          tsEntry<PortableConnection>(2, {
            up(d) {
              const table = String(db.value("SELECT name FROM temp.sqlite_master WHERE type = 'table' AND name LIKE 'stepwise\\_guard\\_%' ESCAPE '\\'"));
              d.exec(tamper(table));
            },
          }),
          writeNote(3, "three"),
          tsEntry<PortableConnection>(4, { up: (d) => void d.exec("INSERT INTO items (note) VALUES ('four'); COMMIT; BEGIN IMMEDIATE") }),
        ];
        const error = caught(() => db.manager(migrations).up());
        assert.equal(error.code, "TRANSACTION_ESCAPED");
        assert.equal(error.version, 4);
        assert.equal(error.committed, "yes");
        assert.deepEqual(appliedVersions(db), [1, 2, 3]);
        assert.deepEqual(notes(db), ["three", "four"]);
        assert.equal(db.userVersion(), 3);
        assert.equal(db.inTransaction(), false);
      }));
  }

  test('one that commits, re-makes the witness table and registers its own total_changes() answering the count from before it wrote: TRANSACTION_ESCAPED, committed "unknown", never "no"', (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "savepoints")) return;
      const migrations = [
        createItems,
        writeNote(2, "two"),
        tsEntry<Registering>(3, {
          up(d) {
            const table = String(db.value("SELECT name FROM temp.sqlite_master WHERE type = 'table' AND name LIKE 'stepwise\\_guard\\_%' ESCAPE '\\'"));
            const before = Number(db.value("SELECT total_changes()"));
            d.exec(`INSERT INTO items (note) VALUES ('three'); COMMIT; DROP TABLE temp."${table}"; CREATE TEMP TABLE "${table}" (token INTEGER NOT NULL)`);
            registerFunction(d, "total_changes", () => before);
            d.exec("BEGIN IMMEDIATE");
          },
        }),
      ];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(error.version, 3);
      assert.equal(error.committed, "unknown");
      assert.deepEqual(appliedVersions(db), [1, 2]);
      assert.deepEqual(notes(db), ["two", "three"]);
      assert.equal(db.inTransaction(), false);
    }));

  test("a COMMIT prepared by an earlier migration's body and run by a later one's: TRANSACTION_ESCAPED names the later, committed \"yes\"", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "savepoints")) return;
      const kept: { commit?: Runnable; begin?: Runnable } = {};
      const migrations = [
        createItems,
        tsEntry<Preparing>(2, {
          up(d) {
            kept.commit = d.prepare("COMMIT");
            kept.begin = d.prepare("BEGIN IMMEDIATE");
            d.exec("INSERT INTO items (note) VALUES ('two')");
          },
        }),
        writeNote(3, "three"),
        tsEntry<Preparing>(4, {
          up(d) {
            d.exec("INSERT INTO items (note) VALUES ('four')");
            kept.commit!.run();
            kept.begin!.run();
          },
        }),
      ];
      const error = caught(() => db.manager(migrations).up());
      assert.equal(error.code, "TRANSACTION_ESCAPED");
      assert.equal(error.version, 4);
      assert.equal(error.committed, "yes");
      assert.deepEqual(appliedVersions(db), [1, 2, 3]);
      assert.deepEqual(notes(db), ["two", "three", "four"]);
      assert.equal(db.userVersion(), 3);
      assert.equal(db.inTransaction(), false);
    }));
});

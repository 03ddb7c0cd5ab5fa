/**
 * Async migrations on the sync SQLite drivers, one suite over every driver of the matrix: the async
 * API (`migrateAsync`, `AsyncMigrationManager`) holds each migration's write transaction across its
 * awaits, so a failure after an await leaves nothing; the sync API refuses a registry with async
 * migrations before anything runs; and what stepwise promises about the app's own statements while
 * an async migration awaits: on the same connection they join its transaction, other connections
 * wait for its lock, and a second stepwise call on the same connection is refused.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { makeTempDir, repoRoot } from "./support/project.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { asyncTsEntry, caught, entryFile, namedSqlEntry, rejection, type PortableConnection } from "./support/registry-builders.js";
import type { MigrationDefinition } from "../src/core/types.js";
import { factsOf, stepwiseFailure } from "./support/stepwise-failure.js";

/** The package's `exports` keys: what a refusal may tell an app to import from. */
const packageExports = new Set(Object.keys((JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { exports: object }).exports));

/** A real turn of the event loop: other code (the app's, a timer) may run before the body goes on. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A promise and its resolver, to let the test act while a migration body awaits. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

const contacts = namedSqlEntry(1, "contacts", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "DROP TABLE contacts;");
const versions = (result: { steps: readonly { version: number }[] }) => result.steps.map((step) => step.version);
const asyncEntry = (module: MigrationDefinition<PortableConnection>) => asyncTsEntry(2, module);

/** An async up that writes twice, awaiting before each write, then throws. */
const failsAfterTwoAwaits = asyncEntry({
  async up(db) {
    await tick();
    db.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT)");
    await tick();
    db.exec("INSERT INTO contacts (name) VALUES ('half way')");
    throw new Error("fails after two awaited statements");
  },
});

function assertFailedAndRolledBack(error: unknown): true {
  const fields = factsOf(error);
  assert.equal(fields.code, "MIGRATION_FAILED");
  assert.equal(fields.version, 2);
  assert.equal(fields.rolledBack, true);
  assert.equal((fields.cause as Error).message, "fails after two awaited statements");
  return true;
}

await describeEachDriver("async migrations", (h) => {
  test("an async up applies through migrateAsync with its transaction open across its awaits, and a second run changes nothing", () =>
    h.withDatabase(async (db) => {
      const inTransaction: boolean[] = [];
      const registry = [
        contacts,
        asyncEntry({
          async up(connection) {
            await tick();
            connection.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT)");
            inTransaction.push(db.inTransaction());
            await tick();
            connection.exec("INSERT INTO audit (note) VALUES ('after two awaits')");
            inTransaction.push(db.inTransaction());
          },
        }),
      ];
      const result = await h.entry.migrateAsync(db.native, registry);
      assert.deepEqual(versions(result), [1, 2]);
      assert.deepEqual(inTransaction, [true, true]);
      assert.deepEqual(db.tableNames(), ["audit", "contacts", "schema_migrations"]);
      assert.deepEqual(db.rows("SELECT note FROM audit"), [{ note: "after two awaits" }]);
      assert.deepEqual(db.rows("SELECT version FROM schema_migrations ORDER BY version"), [{ version: 1 }, { version: 2 }]);
      assert.equal(db.userVersion(), 2);
      assert.equal(db.inTransaction(), false);

      const again = await h.entry.migrateAsync(db.native, registry);
      assert.deepEqual(again.steps, []);
      assert.equal(await new h.entry.AsyncMigrationManager(db.native, registry).currentVersion(), 2);
    }));

  test("an async up that throws after two awaited statements leaves nothing: schema, rows, history and user_version as before", () =>
    h.withDatabase(async (db) => {
      await h.entry.migrateAsync(db.native, [contacts]);
      const before = db.snapshot();
      await assert.rejects(h.entry.migrateAsync(db.native, [contacts, failsAfterTwoAwaits]), assertFailedAndRolledBack);
      assert.deepEqual(db.snapshot(), before);
      assert.equal(db.inTransaction(), false);
    }));

  test('with transaction "all", an async failure after two awaits takes the earlier migrations of the run with it', () =>
    h.withDatabase(async (db) => {
      const before = db.snapshot();
      const manager = new h.entry.AsyncMigrationManager(db.native, [contacts, failsAfterTwoAwaits]);
      await assert.rejects(manager.up({ transaction: "all" }), assertFailedAndRolledBack);
      assert.deepEqual(db.snapshot(), before);
      assert.equal(await manager.currentVersion(), 0);
    }));

  test("an async down reverts after its awaits; one that throws after an await leaves the migration applied", () =>
    h.withDatabase(async (db) => {
      let failDown = true;
      const registry = [
        contacts,
        asyncEntry({
          async up(connection) {
            await tick();
            connection.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY)");
          },
          async down(connection) {
            await tick();
            connection.exec("DROP TABLE audit");
            await tick();
            if (failDown) throw new Error("down fails after an awaited statement");
          },
        }),
      ];
      const manager = new h.entry.AsyncMigrationManager(db.native, registry);
      await manager.up();
      const applied = db.snapshot();

      await assert.rejects(manager.down(), stepwiseFailure({ code: "MIGRATION_FAILED", version: 2, direction: "down", rolledBack: true }));
      assert.deepEqual(db.snapshot(), applied);

      failDown = false;
      assert.deepEqual(versions(await manager.down()), [2]);
      assert.deepEqual(db.tableNames(), ["contacts", "schema_migrations"]);
      assert.deepEqual(db.rows("SELECT version FROM schema_migrations"), [{ version: 1 }]);
      assert.equal(db.userVersion(), 1);
    }));

  test("an async transaction: false migration runs outside a transaction and is recorded once", () =>
    h.withDatabase(async (db) => {
      const inTransaction: boolean[] = [];
      const registry = [
        contacts,
        asyncEntry({
          transaction: false,
          async up(connection) {
            await tick();
            inTransaction.push(db.inTransaction());
            connection.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY)");
            await tick();
            connection.exec("INSERT INTO audit (id) VALUES (1)");
          },
        }),
      ];
      const result = await h.entry.migrateAsync(db.native, registry);
      assert.deepEqual(versions(result), [1, 2]);
      assert.deepEqual(inTransaction, [false]);
      assert.deepEqual(db.rows("SELECT id FROM audit"), [{ id: 1 }]);
      const status = await new h.entry.AsyncMigrationManager(db.native, registry).status();
      assert.equal(status.currentVersion, 2);
      assert.equal(status.pendingCount, 0);
      assert.equal(status.problem, null);
    }));

  test("the async API reports every refusal as a rejection, never a throw, and changes nothing", () =>
    h.withDatabase(async (db) => {
      const manager = new h.entry.AsyncMigrationManager(db.native, [contacts]);
      const calls: Array<[() => Promise<unknown>, string]> = [
        [() => manager.reset({} as never), "USAGE"],
        [() => manager.up({ backup: { directory: db.dir } } as never), "USAGE"],
        [() => manager.planUp({ rehearse: true } as never), "USAGE"],
        [() => h.entry.migrateAsync(db.native, [contacts], { verifySchema: () => undefined } as never), "USAGE"],
        [() => h.entry.migrateAsync(db.native, [namedSqlEntry(2, "after_a_gap", "SELECT 1;")]), "REGISTRY_INVALID"],
      ];
      for (const [call, code] of calls) {
        let pending: Promise<unknown> | undefined;
        assert.doesNotThrow(() => (pending = call()));
        await assert.rejects(pending!, { code });
      }
      assert.deepEqual(db.tableNames(), []);
      // A misspelt option's refusal lists only what the async call takes: verifySchema, which it refuses, is not offered.
      const misspelt = await rejection(() => h.entry.migrateAsync(db.native, [contacts], { tableNam: "t" } as never));
      assert.equal(misspelt.code, "USAGE");
      assert.doesNotMatch(String(misspelt.message), /verifySchema/);
      assert.match(String(misspelt.message), /tableName/);
    }));

  test("the sync migrate() and MigrationManager refuse a registry with async migrations, naming them, and create nothing", () =>
    h.withDatabase((db) => {
      const registry = [contacts, failsAfterTwoAwaits];
      for (const attempt of [() => h.entry.migrate(db.native, registry), () => new h.entry.MigrationManager(db.native, registry)]) {
        const error = caught(attempt);
        assert.equal(error.code, "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER");
        assert.deepEqual(error.versions, [2]);
        assert.deepEqual(error.files, [entryFile(2, "ts")]);
        assert.equal(error.driver, db.driver.name);
        // It says what to write instead: the async call from the entry the app imports (sql.js's driver is named for its library, its entry is sql-js). The never-seen
        // driver, written in test/, has no entry of the package: it is named as it names itself.
        const packaged = h.underTest.entry.startsWith("src/entries/");
        const entry = packaged ? `stepwise-migrate/${path.basename(h.underTest.entry, ".ts")}` : `stepwise-migrate/${db.driver.name}`;
        if (packaged) assert.ok(packageExports.has(entry.replace("stepwise-migrate", ".")), entry);
        assert.equal(error.entry, entry);
        assert.equal(error.fix, `import { migrateAsync } from "${entry}";\nawait migrateAsync(db, migrations);`);
        assert.ok(String(error.message).includes(String(error.fix).replace(/^/gm, "  ")), String(error.message));
      }
      assert.deepEqual(db.tableNames(), []);
      assert.equal(db.userVersion(), 0);
    }));

  test("an async body that ends stepwise's transaction after an await is TRANSACTION_ESCAPED; a ROLLBACK keeps nothing", () =>
    h.withDatabase(async (db) => {
      await h.entry.migrateAsync(db.native, [contacts]);
      const before = db.snapshot();
      const escaping = (statement: string) =>
        asyncEntry({
          async up(connection) {
            await tick();
            connection.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY)");
            await tick();
            connection.exec(statement);
          },
        });
      await assert.rejects(h.entry.migrateAsync(db.native, [contacts, escaping("ROLLBACK")]), stepwiseFailure({ code: "TRANSACTION_ESCAPED", committed: "no" }));
      assert.deepEqual(db.snapshot(), before);
      await assert.rejects(h.entry.migrateAsync(db.native, [contacts, escaping("COMMIT")]), stepwiseFailure({ code: "TRANSACTION_ESCAPED", committed: "yes" }));
      assert.equal(db.inTransaction(), false);
    }));

  test("the app's statements on the same connection while an async migration awaits join its transaction: rolled back with it, committed with it", () =>
    h.withDatabase(async (db) => {
      await h.entry.migrateAsync(db.native, [contacts]);
      const before = db.snapshot();
      const waitForApp = (fail: boolean) => {
        const started = signal();
        const appDone = signal();
        const entry = asyncEntry({
          async up(connection) {
            await tick();
            connection.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY)");
            started.resolve();
            await appDone.promise;
            if (fail) throw new Error("fails after the app wrote");
          },
        });
        return { entry, started: started.promise, appDone: appDone.resolve };
      };

      const failing = waitForApp(true);
      const failed = h.entry.migrateAsync(db.native, [contacts, failing.entry]);
      await failing.started;
      assert.equal(db.inTransaction(), true);
      db.exec("INSERT INTO contacts (name) VALUES ('written by the app meanwhile')");
      failing.appDone();
      await assert.rejects(failed, stepwiseFailure({ code: "MIGRATION_FAILED", version: 2 }));
      assert.deepEqual(db.snapshot(), before);

      const passing = waitForApp(false);
      const passed = h.entry.migrateAsync(db.native, [contacts, passing.entry]);
      await passing.started;
      db.exec("INSERT INTO contacts (name) VALUES ('written by the app meanwhile')");
      passing.appDone();
      assert.deepEqual(versions(await passed), [2]);
      assert.deepEqual(db.rows("SELECT name FROM contacts"), [{ name: "written by the app meanwhile" }]);
    }));

  test("while an async migration awaits, a second stepwise call on the same connection is refused and the first completes", () =>
    h.withDatabase(async (db) => {
      const started = signal();
      const appDone = signal();
      const registry = [
        contacts,
        asyncEntry({
          async up(connection) {
            await tick();
            connection.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY)");
            started.resolve();
            await appDone.promise;
          },
        }),
      ];
      const first = h.entry.migrateAsync(db.native, registry);
      await started.promise;
      await assert.rejects(h.entry.migrateAsync(db.native, registry), stepwiseFailure({ code: "ASYNC_RUN_IN_PROGRESS", driver: db.driver.name }));
      await assert.rejects(new h.entry.AsyncMigrationManager(db.native, registry).status(), { code: "ASYNC_RUN_IN_PROGRESS" });
      // The sync API too: it used to be told the app's transaction was open (TRANSACTION_OPEN), and between two async migrations it would have run alongside.
      assert.equal(caught(() => new h.entry.MigrationManager(db.native, [contacts]).up()).code, "ASYNC_RUN_IN_PROGRESS");
      appDone.resolve();
      assert.deepEqual(versions(await first), [1, 2]);
      assert.deepEqual(db.rows("SELECT version FROM schema_migrations ORDER BY version"), [{ version: 1 }, { version: 2 }]);
    }));

  test("while an async migration awaits, other connections cannot write: the write lock is held across the awaits", (t) => {
    if (h.lacks(t, "fileLocking")) return;
    return h.withDatabase(async (db) => {
      await h.entry.migrateAsync(db.native, [contacts]);
      const other = await db.reopen();
      other.exec("PRAGMA busy_timeout = 0");
      const started = signal();
      const appDone = signal();
      const registry = [
        contacts,
        asyncEntry({
          async up(connection) {
            await tick();
            connection.exec("INSERT INTO contacts (name) VALUES ('by the migration')");
            started.resolve();
            await appDone.promise;
          },
        }),
      ];
      const run = h.entry.migrateAsync(db.native, registry);
      await started.promise;
      let refused: unknown = null;
      try {
        other.exec("INSERT INTO contacts (name) VALUES ('by another connection')");
      } catch (error) {
        refused = error;
      }
      assert.notEqual(refused, null, "another connection wrote while the migration held the write lock");
      assert.equal(other.driver.classifyError(refused).kind, "locked");
      appDone.resolve();
      assert.deepEqual(versions(await run), [2]);
      other.exec("INSERT INTO contacts (name) VALUES ('by another connection')");
      assert.deepEqual(db.rows("SELECT name FROM contacts ORDER BY id"), [{ name: "by the migration" }, { name: "by another connection" }]);
    });
  });

  for (const transaction of [true, false]) {
    test(`transaction: ${transaction}: an async body that closes its connection after an await is MIGRATION_FAILED naming it, not a library error`, async (t) => {
      // Not withDatabase: the migration closes the connection, and a second close throws on some libraries.
      const dir = makeTempDir(t);
      const db = await h.open(path.join(dir, "app.db"));
      try {
        const closing = asyncEntry({
          transaction,
          async up(connection) {
            await tick();
            connection.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY)");
            await tick();
            connection.close();
          },
        });
        await assert.rejects(h.entry.migrateAsync(db.native, [contacts, closing]), stepwiseFailure({ code: "MIGRATION_FAILED", version: 2, rolledBack: false }));
      } finally {
        try {
          db.close();
        } catch {
          // Closed by the migration, as intended.
        }
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

/**
 * A TypeScript body that awaits, in a registry `gen` did not mark async (a hand-written registry, or a
 * body gen cannot see is async: `up: importedAsyncFn`, a plain function returning a promise), run by
 * the sync API (`migrate()`, `MigrationManager`) of every sync driver. The sync runner cannot await,
 * so it refuses (`MIGRATION_FAILED`, cause `ASYNC_IN_SYNC_RUNNER`); what these tests pin is that the
 * refusal leaves the database exactly as it was, also after the body's continuation had its turn:
 * an `async` body is refused before it is called, and a plain body's promise leaves the connection
 * refusing writes (`PRAGMA query_only`) until it settles.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { namedSqlEntry, tsEntry, type PortableConnection } from "./support/registry-builders.js";
import type { MigrationDefinition, MigrationEntry } from "../src/core/types.js";
import { rehearseUp } from "../src/safety/index.js";
import { factsOf } from "./support/stepwise-failure.js";
import { repoRoot } from "./support/project.js";

/** The package's `exports` keys: what a refusal may tell an app to import from. */
const packageExports = new Set(Object.keys((JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { exports: object }).exports));

/** A real turn of the event loop: every microtask queued before it (a body's continuation) has run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

const contacts = namedSqlEntry(1, "contacts", "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "DROP TABLE contacts;");
const A = "INSERT INTO contacts (name) VALUES ('before the await')";
const B = "INSERT INTO contacts (name) VALUES ('after the await')";

/** Migration 2 around `module`, without the mark `gen` writes on an async one: as a hand-written registry has it. */
const unmarked = (module: MigrationDefinition<PortableConnection>): MigrationEntry => tsEntry(2, module);

/** Calls counted per body, so a test can say a refused body never ran. */
function counter(): { calls: number } {
  return { calls: 0 };
}

/** Asserts the sync refusal's shape: the migration's failure, rolled back, its cause `ASYNC_IN_SYNC_RUNNER` from `source`. */
function assertRefused(error: unknown, direction: "up" | "down" = "up"): true {
  const fields = factsOf(error);
  assert.equal(fields.code, "MIGRATION_FAILED", String(error));
  assert.equal(fields.version, 2);
  assert.equal(fields.direction, direction);
  assert.equal(fields.rolledBack, true);
  const cause = factsOf(fields.cause);
  assert.equal(cause.code, "ASYNC_IN_SYNC_RUNNER");
  assert.equal(cause.source, direction);
  assert.match(String(cause.fix), /async/);
  assert.match(String(cause.fix), /migrateAsync/);
  // The entry it names is one the package exports (sql.js's driver is named for its library, its entry is sql-js); the never-seen driver, written in test/, has none.
  const entry = /"(stepwise-migrate\/[^"]+)"/.exec(String(cause.fix))?.[1];
  assert.ok(entry !== undefined && (packageExports.has(entry.replace("stepwise-migrate", ".")) || entry === "stepwise-migrate/never-seen"), String(cause.fix));
  return true;
}

/** The two sync calls an app makes, each on a fresh run. */
/**
 * The sync calls that run a body on the app's connection, each on a fresh run.
 */
const syncCalls = (db: TestDatabase, registry: MigrationEntry[]): Array<[string, () => unknown]> => [
  ["migrate()", () => db.migrate(registry)],
  ["MigrationManager.up()", () => db.manager(registry).up()],
  // A whole run in one transaction refuses a transaction: false migration before it starts, whatever its body.
  ...(registry.every((entry) => entry.transaction) ? [['MigrationManager.up({ transaction: "all" })', () => db.manager(registry).up({ transaction: "all" })] as [string, () => unknown]] : []),
];

/** Bodies whose function is async by its tag: the sync runner refuses each before calling it. */
function detectableAsyncBodies(calls: { calls: number }): Array<[string, MigrationDefinition<PortableConnection>["up"]]> {
  async function declared(db: PortableConnection) {
    calls.calls++;
    db.exec(A);
    await Promise.resolve();
    db.exec(B);
  }
  class Migration {
    async up(db: PortableConnection) {
      calls.calls++;
      db.exec(A);
      await Promise.resolve();
      db.exec(B);
    }
  }
  return [
    ["an async method", declared],
    [
      "an async arrow",
      async (db) => {
        calls.calls++;
        db.exec(A);
        await Promise.resolve();
        db.exec(B);
      },
    ],
    ["a bound async function", declared.bind(null)],
    ["a class's async method", new Migration().up],
    [
      "an async generator",
      async function* (db: PortableConnection) {
        calls.calls++;
        db.exec(A);
        yield;
        db.exec(B);
      } as unknown as MigrationDefinition<PortableConnection>["up"],
    ],
  ];
}

await describeEachDriver("async bodies in the sync runner", (h) => {
  test("an async up in an unmarked registry is refused before it is called: nothing runs, and after a tick the database is as before", () =>
    h.withDatabase(async (db) => {
      db.migrate([contacts]);
      const before = db.snapshot();
      for (const transaction of [true, false]) {
        const calls = counter();
        for (const [form, up] of detectableAsyncBodies(calls)) {
          for (const [call, run] of syncCalls(db, [contacts, unmarked({ up, transaction })])) {
            assert.throws(run, (error) => assertRefused(error), `${form}, ${call}, transaction: ${transaction}`);
            await tick();
            assert.deepEqual(db.snapshot(), before, `${form}, ${call}, transaction: ${transaction}`);
          }
        }
        assert.equal(calls.calls, 0, "a refused async body was called");
      }
      // Nothing to resolve: no started row of a transaction: false migration, nothing pending beyond it.
      const status = db.manager([contacts]).status();
      assert.equal(status.problem, null);
      assert.equal(db.inTransaction(), false);
    }));

  test("rehearseUp reports an async body's refusal as the run would, and after a tick the database is as before", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "snapshot")) return;
      db.migrate([contacts]);
      const before = db.snapshot();
      const calls = counter();
      const bodies: Array<[string, MigrationDefinition<PortableConnection>["up"]]> = [
        ...detectableAsyncBodies(calls),
        [
          "a plain function returning a promise",
          (connection) => {
            connection.exec(A);
            return Promise.resolve().then(() => connection.exec(B)) as unknown as void;
          },
        ],
      ];
      for (const [form, up] of bodies) {
        const { rehearsal } = rehearseUp(db.manager([contacts, unmarked({ up })]));
        assert.equal(rehearsal.ok, false, form);
        assert.equal(rehearsal.failure?.code, "MIGRATION_FAILED", form);
        assert.equal(rehearsal.failure?.fields.version, 2, form);
        assert.equal(rehearsal.failure?.cause?.code, "ASYNC_IN_SYNC_RUNNER", form);
        await tick();
        assert.deepEqual(db.snapshot(), before, form);
      }
      assert.equal(calls.calls, 0, "a refused async body was called");
    }));

  test("an async down in an unmarked registry is refused before it is called, and the migration stays applied", () =>
    h.withDatabase(async (db) => {
      const calls = counter();
      const registry = [
        contacts,
        unmarked({
          up(connection) {
            connection.exec("CREATE TABLE audit (id INTEGER PRIMARY KEY)");
          },
          async down(connection) {
            calls.calls++;
            connection.exec("DROP TABLE audit");
            await Promise.resolve();
            connection.exec(B);
          },
        }),
      ];
      db.migrate(registry);
      const applied = db.snapshot();
      assert.throws(
        () => db.manager(registry).down(),
        (error) => assertRefused(error, "down"),
      );
      await tick();
      assert.equal(calls.calls, 0);
      assert.deepEqual(db.snapshot(), applied);
    }));

  test("a plain up that returns a promise is refused and rolled back, and its continuation cannot write outside a migration", () =>
    h.withDatabase(async (db) => {
      db.migrate([contacts]);
      const before = db.snapshot();
      const continuation: unknown[] = [];
      const registry = [
        contacts,
        unmarked({
          up(connection) {
            connection.exec(A);
            return Promise.resolve().then(() => {
              try {
                connection.exec(B);
                continuation.push("wrote");
              } catch (error) {
                continuation.push(db.driver.classifyError(error).kind);
                throw error;
              }
            }) as unknown as void;
          },
        }),
      ];
      for (const [call, run] of syncCalls(db, registry)) {
        assert.throws(run, (error) => assertRefused(error), call);
        await tick();
        assert.deepEqual(db.snapshot(), before, call);
      }
      // The continuation ran, and its write was refused: the connection was read-only until the promise settled.
      assert.deepEqual(
        continuation,
        syncCalls(db, registry).map(() => "readonly"),
      );
      // Then the connection is the app's again, writable as before.
      assert.equal(db.value("PRAGMA query_only"), 0);
      db.exec("INSERT INTO contacts (name) VALUES ('the app, afterwards')");
      assert.deepEqual(db.rows("SELECT name FROM contacts"), [{ name: "the app, afterwards" }]);
    }));

  test("a plain up whose promise has not settled leaves the connection refusing writes until it does, stepwise's own included", () =>
    h.withDatabase(async (db) => {
      db.migrate([contacts]);
      const before = db.snapshot();
      const pendingBody = () => {
        let settle!: () => void;
        const pending = new Promise<void>((resolve) => (settle = resolve));
        const registry = [
          contacts,
          unmarked({
            up(connection) {
              connection.exec(A);
              return pending.then(() => connection.exec(B)) as unknown as void;
            },
          }),
        ];
        return { registry, settle };
      };
      const first = pendingBody();
      const second = pendingBody();
      assert.throws(
        () => db.migrate(first.registry),
        (error) => assertRefused(error),
      );
      await tick();
      assert.equal(db.value("PRAGMA query_only"), 1);
      // stepwise's own writes are refused too while it is fenced: another run fails typed, naming query_only, and the fence stays.
      assert.throws(
        () => db.migrate(second.registry),
        (error) => {
          const fields = factsOf(error) as { code?: unknown; sqliteCode?: unknown; message?: unknown };
          assert.deepEqual([fields.code, fields.sqliteCode], ["DATABASE_UNUSABLE", "SQLITE_READONLY"]);
          assert.match(String(fields.message), /query_only/);
          return true;
        },
      );
      assert.throws(
        () => db.exec(B),
        (error) => db.driver.classifyError(error).kind === "readonly",
      );
      first.settle();
      await tick();
      assert.deepEqual(db.snapshot(), before);
      assert.equal(db.value("PRAGMA query_only"), 0);
    }));

  test("transaction: false: a plain up that returns a promise keeps what it ran before returning, as any failed transaction: false migration does, and its continuation cannot write", () =>
    h.withDatabase(async (db) => {
      db.migrate([contacts]);
      const registry = [
        contacts,
        unmarked({
          transaction: false,
          up(connection) {
            connection.exec(A);
            return Promise.resolve().then(() => connection.exec(B)) as unknown as void;
          },
        }),
      ];
      assert.throws(
        () => db.migrate(registry),
        (error) => {
          const fields = factsOf(error);
          assert.deepEqual([fields.code, fields.version, fields.rolledBack, (fields.cause as Record<string, unknown>).code], ["MIGRATION_FAILED", 2, false, "ASYNC_IN_SYNC_RUNNER"]);
          return true;
        },
      );
      await tick();
      // Outside a transaction nothing can be rolled back: its started row asks a person to decide (repair).
      assert.deepEqual(db.rows("SELECT name FROM contacts"), [{ name: "before the await" }]);
      assert.equal(db.manager(registry).status().problem?.code, "INCOMPLETE_MIGRATION");
      assert.equal(db.value("PRAGMA query_only"), 0);
    }));

  test("not guaranteed, as documented: a sync up that schedules a write it does not return applies, and the write lands after it, outside it", () =>
    h.withDatabase(async (db) => {
      db.migrate([contacts]);
      const registry = [
        contacts,
        unmarked({
          up(connection) {
            connection.exec(A);
            void Promise.resolve().then(() => connection.exec(B));
          },
        }),
      ];
      assert.deepEqual(
        db.migrate(registry).steps.map((step) => step.version),
        [2],
      );
      assert.deepEqual(db.rows("SELECT name FROM contacts ORDER BY id"), [{ name: "before the await" }]);
      await tick();
      assert.deepEqual(db.rows("SELECT name FROM contacts ORDER BY id"), [{ name: "before the await" }, { name: "after the await" }]);
    }));
});

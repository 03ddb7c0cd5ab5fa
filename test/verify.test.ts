import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { migrations, latestVersion } from "../generated/registry.js";
import { MigrationManager, SchemaDriftError, migrate, verifySchema } from "./support/stepwise.js";
import { makeTempDir, repoRoot, runCli } from "./support/project.js";

function migratedDatabase(t: Parameters<typeof makeTempDir>[0]): string {
  const file = path.join(makeTempDir(t), "app.db");
  const db = new Database(file);
  new MigrationManager(db, migrations).up();
  db.close();
  return file;
}

const HAND_EDITS = `
  ALTER TABLE contacts ADD COLUMN nick TEXT;
  DROP INDEX idx_messages_status;
  DROP TRIGGER groups_updated_at;
  CREATE TRIGGER groups_updated_at AFTER UPDATE ON groups FOR EACH ROW
  BEGIN UPDATE groups SET updated_at = 'changed by hand' WHERE id = NEW.id; END;
`;

test("verify catches an added column, a dropped index and a changed trigger", (t) => {
  const file = migratedDatabase(t);
  const db = new Database(file);
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);
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
});

test("verify catches a changed column type and a changed default", (t) => {
  const file = migratedDatabase(t);
  const db = new Database(file);
  t.after(() => db.close());
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
  const verification = verifySchema(new MigrationManager(db, migrations));
  assert.deepEqual(
    verification.differences.map((d) => [d.name, d.change, d.details.map((detail) => detail.aspect)]),
    [
      ["session_config.value", "changed", ["type"]],
      ["session_config.updated_at", "changed", ["default"]],
    ],
  );
});

test("stepwise verify exits 1 on drift and 0 when the schema matches", async (t) => {
  const file = migratedDatabase(t);
  const clean = await runCli(["--db", file, "verify"], { cwd: repoRoot });
  assert.equal(clean.code, 0, clean.stderr);

  const db = new Database(file);
  db.exec(HAND_EDITS);
  db.close();
  const drifted = await runCli(["--db", file, "verify", "--json"], { cwd: repoRoot });
  assert.equal(drifted.code, 1, drifted.stderr);
  assert.equal((JSON.parse(drifted.stdout) as { differences: unknown[] }).differences.length, 3);
});

test("migrate({ verifySchema }) logs that verification passed, and refuses a drifted schema", (t) => {
  const file = path.join(makeTempDir(t), "app.db");
  const db = new Database(file);
  t.after(() => db.close());
  const lines: string[] = [];
  const logger = { info: (line: string) => lines.push(line) };

  migrate(db, migrations, { logger, verifySchema });
  migrate(db, migrations, { logger, verifySchema });
  assert.ok(lines.filter((line) => line.startsWith("schema verification passed")).length === 2, lines.join("\n"));

  db.exec("DROP INDEX idx_contacts_username");
  assert.throws(() => migrate(db, migrations, { logger, verifySchema }), (error: unknown) => {
    assert.ok(error instanceof SchemaDriftError);
    assert.equal(error.code, "SCHEMA_DRIFT");
    assert.deepEqual(error.differences.map((d) => d.name), ["idx_contacts_username"]);
    return true;
  });
});

test("verify refuses a database with tables but no history as unmanaged, and an empty one verifies at version 0", (t) => {
  const db = new Database(path.join(makeTempDir(t), "legacy.db"));
  t.after(() => db.close());
  const manager = new MigrationManager(db, migrations);
  assert.deepEqual(verifySchema(manager), { ok: true, version: 0, differences: [], drift: [] });
  db.exec("CREATE TABLE legacy_contacts (id INTEGER PRIMARY KEY); CREATE TABLE legacy_notes (id INTEGER PRIMARY KEY);");
  assert.throws(() => verifySchema(manager), { code: "UNMANAGED_DATABASE", tables: ["legacy_contacts", "legacy_notes"] });
});

/**
 * The example app's migrations (what `npm start` applies) on a temp database with real rows: the
 * table rebuild keeps parents and children with foreign keys on, the batched backfill covers more than
 * one batch, and every down works.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { migrations } from "../generated/registry.js";
import { MigrationManager } from "./support/stepwise.js";
import type { Database as Connection } from "better-sqlite3";
import { snapshotDatabase, tableNames } from "./support/database-snapshot.js";
import { makeTempDir } from "./support/project.js";

const CHILD_TABLES = ["messages", "contact_tags", "contact_groups", "contact_preferences"] as const;
/** More than two of migration 005's 500-row batches. */
const BACKFILL_CONTACTS = 1_200;

function openDatabase(t: { after(fn: () => void): void }): Connection {
  const db = new Database(path.join(makeTempDir(t), "app.db"));
  t.after(() => db.close());
  db.pragma("foreign_keys = ON");
  return db;
}

function counts(db: Connection): Record<string, number> {
  const result: Record<string, number> = {};
  for (const table of ["contacts", ...CHILD_TABLES]) result[table] = db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  return result;
}

/** Contacts with tags, groups and messages, written against the schema of migration 001. */
function seedContactManager(db: Connection): void {
  const contact = db.prepare("INSERT INTO contacts (id, telegram_id, username, phone, is_blocked) VALUES (?, ?, ?, ?, ?)");
  for (let id = 1; id <= 20; id++) contact.run(id, String(7_000_000 + id), `user${id}`, `+1 555 01${String(id).padStart(2, "0")}`, id % 5 === 0 ? 1 : 0);
  db.exec(`
    INSERT INTO tags (id, name) VALUES (1, 'family'), (2, 'work');
    INSERT INTO groups (id, name) VALUES (1, 'book club'), (2, 'team');
    INSERT INTO contact_tags (contact_id, tag_id) SELECT id, 1 + id % 2 FROM contacts;
    INSERT INTO contact_groups (contact_id, group_id) SELECT id, 1 FROM contacts WHERE id <= 10;
    INSERT INTO messages (contact_id, telegram_message_id, direction, body, sent_at)
      SELECT id, id * 10, 'incoming', 'hello ' || id, '2024-05-01T10:00:00.000Z' FROM contacts;
    INSERT INTO messages (contact_id, direction, body, sent_at)
      SELECT id, 'outgoing', 'reply ' || id, '2024-05-01T10:05:00.000Z' FROM contacts;
  `);
}

test("the contacts rebuild (004) keeps every contact and every child row with foreign keys on", (t) => {
  const db = openDatabase(t);
  const manager = new MigrationManager(db, migrations);
  manager.up({ to: 1 });
  seedContactManager(db);
  manager.up({ to: 3 });
  // 002 seeds preferences from existing contacts: blocked ones start muted.
  assert.equal(db.prepare("SELECT count(*) FROM contact_preferences WHERE notify_on_message = 0").pluck().get(), 4);

  const before = counts(db);
  assert.deepEqual(before, { contacts: 20, messages: 40, contact_tags: 20, contact_groups: 10, contact_preferences: 20 });
  const contactsBefore = db.prepare("SELECT id, CAST(telegram_id AS INTEGER) AS telegram_id, username, phone, is_blocked FROM contacts ORDER BY id").all();

  manager.up({ to: 4 });
  assert.equal(db.pragma("foreign_keys", { simple: true }), 1, "the rebuild must restore foreign key enforcement");
  assert.deepEqual(counts(db), before);
  assert.deepEqual(db.prepare("SELECT id, telegram_id, username, phone, is_blocked FROM contacts ORDER BY id").all(), contactsBefore);
  assert.deepEqual(db.prepare("SELECT DISTINCT typeof(telegram_id) FROM contacts").pluck().all(), ["integer"]);
  assert.deepEqual(db.pragma("foreign_key_check"), []);
  // The children still point at the rebuilt table: cascades work.
  db.prepare("DELETE FROM contacts WHERE id = 1").run();
  assert.equal(db.prepare("SELECT count(*) FROM messages WHERE contact_id = 1").pluck().get(), 0);
  assert.equal(db.prepare("SELECT count(*) FROM contact_tags WHERE contact_id = 1").pluck().get(), 0);
  // The recreated trigger still keeps updated_at current.
  db.prepare("UPDATE contacts SET updated_at = '2000-01-01T00:00:00.000Z' WHERE id = 2").run();
  db.prepare("UPDATE contacts SET notes = 'x' WHERE id = 2").run();
  assert.notEqual(db.prepare("SELECT updated_at FROM contacts WHERE id = 2").pluck().get(), "2000-01-01T00:00:00.000Z");

  // Its down rebuilds back to TEXT, again without losing a child.
  const afterRebuild = counts(db);
  manager.down({ to: 3 });
  assert.equal(db.pragma("foreign_keys", { simple: true }), 1);
  assert.deepEqual(counts(db), afterRebuild);
  assert.deepEqual(db.prepare("SELECT DISTINCT typeof(telegram_id) FROM contacts").pluck().all(), ["text"]);
  assert.deepEqual(db.pragma("foreign_key_check"), []);
});

test("the batched backfill (005) normalizes every phone across more than one batch", (t) => {
  const db = openDatabase(t);
  const manager = new MigrationManager(db, migrations);
  manager.up({ to: 4 });

  const insert = db.prepare("INSERT INTO contacts (telegram_id, phone) VALUES (?, ?)");
  db.transaction(() => {
    for (let i = 1; i <= BACKFILL_CONTACTS; i++) {
      const phone = i % 10 === 0 ? null : i % 3 === 0 ? ` (555) 01-${i} ` : i % 97 === 0 ? "n/a" : `+44 20 7946 ${String(i).padStart(4, "0")}`;
      insert.run(1_000 + i, phone);
    }
  })();
  assert.equal(
    manager
      .up({ to: 5 })
      .steps.map((step) => step.version)
      .join(),
    "5",
  );

  const rows = db.prepare("SELECT id, telegram_id, phone, phone_normalized FROM contacts ORDER BY id").all() as Array<{
    telegram_id: number;
    phone: string | null;
    phone_normalized: string | null;
  }>;
  assert.equal(rows.length, BACKFILL_CONTACTS);
  for (const row of rows) {
    const i = row.telegram_id - 1_000;
    const expected = row.phone === null || row.phone === "n/a" ? null : i % 3 === 0 ? `55501${i}` : `+44207946${String(i).padStart(4, "0")}`;
    assert.equal(row.phone_normalized, expected, `contact ${i}: ${row.phone}`);
  }
  // The last batch is filled too, not only the first 500 rows.
  assert.equal(rows.at(-2)!.phone_normalized, `+44207946${String(BACKFILL_CONTACTS - 1).padStart(4, "0")}`);
  assert.ok(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'idx_contacts_phone_normalized'").get());

  manager.down({ to: 4 });
  assert.ok(!(db.prepare("PRAGMA table_info(contacts)").all() as Array<{ name: string }>).some((column) => column.name === "phone_normalized"));
  assert.equal(db.prepare("SELECT count(*) FROM contacts").pluck().get(), BACKFILL_CONTACTS);
});

test("every example migration reverts: down to 0, then up again reaches the same schema", (t) => {
  const db = openDatabase(t);
  const manager = new MigrationManager(db, migrations);
  manager.up();
  const schema = snapshotDatabase(db).schema;

  const down = manager.down({ to: 0 });
  // Derived from the registry, so trying a recipe's new migration in this repo keeps the test true.
  assert.deepEqual(
    down.steps.map((step) => step.version),
    migrations.map((entry) => entry.version).reverse(),
  );
  assert.deepEqual(tableNames(db), ["schema_migrations"]);
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name <> 'schema_migrations'").pluck().get(), 0);
  assert.equal(manager.currentVersion(), 0);

  manager.up();
  assert.deepEqual(snapshotDatabase(db).schema, schema);
  assert.equal(manager.currentVersion(), migrations.length);
});

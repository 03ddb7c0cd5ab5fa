import { defineMigration } from "stepwise-migrate";

/**
 * A TypeScript migration: DDL plus a seed computed from existing rows, which plain SQL could do too,
 * but which shows the shape of a migration that needs code.
 */
export default defineMigration({
  description: "Per-contact notification preferences",
  up(db) {
    db.exec(`
      CREATE TABLE contact_preferences (
        contact_id INTEGER PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
        notify_on_message INTEGER NOT NULL DEFAULT 1 CHECK (notify_on_message IN (0, 1)),
        muted_until TEXT,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      );
    `);
    // Blocked contacts start muted, so unblocking someone does not flood the user with old alerts.
    db.prepare(
      `INSERT INTO contact_preferences (contact_id, notify_on_message)
       SELECT id, CASE is_blocked WHEN 1 THEN 0 ELSE 1 END FROM contacts`,
    ).run();
  },
  down(db) {
    db.exec(`DROP TABLE contact_preferences`);
  },
});

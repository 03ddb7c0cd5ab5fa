import { defineMigration } from "stepwise";

/** Rows per batch: small enough to keep each statement's memory flat on a large contacts table. */
const BATCH_SIZE = 500;

/**
 * Strips formatting from a phone number, keeping a leading "+" and digits, so lookups can use an
 * index instead of scanning every row with a LIKE.
 */
function normalizePhone(phone: string): string | null {
  const trimmed = phone.trim();
  const digits = trimmed.replace(/\D/g, "");
  if (digits === "") return null;
  return trimmed.startsWith("+") ? `+${digits}` : digits;
}

/** A data migration that walks the table in keyed batches, so its cost stays linear. */
export default defineMigration({
  description: "Normalized phone numbers for contact lookup, backfilled in batches",
  up(db) {
    db.exec(`ALTER TABLE contacts ADD COLUMN phone_normalized TEXT`);
    const readBatch = db.prepare<[number, number], { id: number; phone: string }>(
      `SELECT id, phone FROM contacts WHERE id > ? AND phone IS NOT NULL ORDER BY id LIMIT ?`,
    );
    const update = db.prepare(`UPDATE contacts SET phone_normalized = ? WHERE id = ?`);
    let lastId = 0;
    for (;;) {
      const batch = readBatch.all(lastId, BATCH_SIZE);
      if (batch.length === 0) break;
      for (const row of batch) update.run(normalizePhone(row.phone), row.id);
      lastId = batch[batch.length - 1]!.id;
    }
    db.exec(`CREATE INDEX idx_contacts_phone_normalized ON contacts (phone_normalized)`);
  },
  down(db) {
    db.exec(`
      DROP INDEX idx_contacts_phone_normalized;
      ALTER TABLE contacts DROP COLUMN phone_normalized;
    `);
  },
});

import { defineMigration } from "stepwise-migrate";

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

/**
 * A data migration that walks the table in keyed batches, so its cost stays linear, and reports
 * progress, which `stepwise up` shows as a bar on a terminal.
 */
export default defineMigration({
  description: "Normalized phone numbers for contact lookup, backfilled in batches",
  up(db, context) {
    db.exec(`ALTER TABLE contacts ADD COLUMN phone_normalized TEXT`);
    const update = db.prepare(`UPDATE contacts SET phone_normalized = ? WHERE id = ?`);
    context.forEachBatch<{ id: number; phone: string }>({ table: "contacts", key: "id", columns: ["phone"], where: "phone IS NOT NULL", batchSize: BATCH_SIZE }, (rows) => {
      for (const row of rows) update.run(normalizePhone(row.phone), row.id);
    });
    db.exec(`CREATE INDEX idx_contacts_phone_normalized ON contacts (phone_normalized)`);
  },
  down(db) {
    db.exec(`
      DROP INDEX idx_contacts_phone_normalized;
      ALTER TABLE contacts DROP COLUMN phone_normalized;
    `);
  },
});

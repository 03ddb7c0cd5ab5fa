-- description: Store contacts.telegram_id as INTEGER (table rebuild)
-- SQLite cannot change a column's type in place, so the table is rebuilt: create the new shape, copy
-- the rows, drop the old table, rename, and recreate its indexes and trigger. foreign_keys:off keeps
-- DROP TABLE from cascading into messages, contact_tags, contact_groups and contact_preferences;
-- stepwise checks every foreign key before it commits.
-- migrate:up foreign_keys:off
CREATE TABLE contacts_rebuild (
  id INTEGER PRIMARY KEY,
  telegram_id INTEGER NOT NULL UNIQUE,
  username TEXT,
  first_name TEXT,
  last_name TEXT,
  phone TEXT,
  notes TEXT,
  is_blocked INTEGER NOT NULL DEFAULT 0 CHECK (is_blocked IN (0, 1)),
  last_seen_at TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO contacts_rebuild (id, telegram_id, username, first_name, last_name, phone, notes, is_blocked, last_seen_at, created_at, updated_at)
  SELECT id, CAST(telegram_id AS INTEGER), username, first_name, last_name, phone, notes, is_blocked, last_seen_at, created_at, updated_at
  FROM contacts;
DROP TABLE contacts;
ALTER TABLE contacts_rebuild RENAME TO contacts;
CREATE INDEX idx_contacts_username ON contacts (username);
CREATE INDEX idx_contacts_last_seen_at ON contacts (last_seen_at);
CREATE TRIGGER contacts_updated_at AFTER UPDATE ON contacts
FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
  UPDATE contacts SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;

-- migrate:down
CREATE TABLE contacts_rebuild (
  id INTEGER PRIMARY KEY,
  telegram_id TEXT NOT NULL UNIQUE,
  username TEXT,
  first_name TEXT,
  last_name TEXT,
  phone TEXT,
  notes TEXT,
  is_blocked INTEGER NOT NULL DEFAULT 0 CHECK (is_blocked IN (0, 1)),
  last_seen_at TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO contacts_rebuild (id, telegram_id, username, first_name, last_name, phone, notes, is_blocked, last_seen_at, created_at, updated_at)
  SELECT id, CAST(telegram_id AS TEXT), username, first_name, last_name, phone, notes, is_blocked, last_seen_at, created_at, updated_at
  FROM contacts;
DROP TABLE contacts;
ALTER TABLE contacts_rebuild RENAME TO contacts;
CREATE INDEX idx_contacts_username ON contacts (username);
CREATE INDEX idx_contacts_last_seen_at ON contacts (last_seen_at);
CREATE TRIGGER contacts_updated_at AFTER UPDATE ON contacts
FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
  UPDATE contacts SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;

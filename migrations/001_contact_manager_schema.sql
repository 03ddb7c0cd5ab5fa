-- description: Contact manager schema: contacts, groups, tags, messages, session config and sync log
-- migrate:up
CREATE TABLE contacts (
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
CREATE INDEX idx_contacts_username ON contacts (username);
CREATE INDEX idx_contacts_last_seen_at ON contacts (last_seen_at);

CREATE TABLE groups (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE tags (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  color TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE contact_tags (
  contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
  tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (contact_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX idx_contact_tags_tag_id ON contact_tags (tag_id);

CREATE TABLE contact_groups (
  contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
  group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (contact_id, group_id)
) WITHOUT ROWID;
CREATE INDEX idx_contact_groups_group_id ON contact_groups (group_id);

CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
  telegram_message_id INTEGER,
  direction TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
  body TEXT NOT NULL,
  sent_at TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_messages_contact_id_sent_at ON messages (contact_id, sent_at);
CREATE UNIQUE INDEX idx_messages_telegram_message_id ON messages (contact_id, telegram_message_id)
  WHERE telegram_message_id IS NOT NULL;

CREATE TABLE session_config (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE sync_log (
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  contacts_synced INTEGER NOT NULL DEFAULT 0,
  messages_synced INTEGER NOT NULL DEFAULT 0,
  error TEXT
);
CREATE INDEX idx_sync_log_started_at ON sync_log (started_at);

-- Keep updated_at current without every UPDATE having to remember it. The WHEN clause stops the
-- trigger's own UPDATE from firing it again.
CREATE TRIGGER contacts_updated_at AFTER UPDATE ON contacts
FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
  UPDATE contacts SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;

CREATE TRIGGER groups_updated_at AFTER UPDATE ON groups
FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
  UPDATE groups SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;

CREATE TRIGGER session_config_updated_at AFTER UPDATE ON session_config
FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
  UPDATE session_config SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE key = NEW.key;
END;

-- migrate:down
DROP TABLE sync_log;
DROP TABLE session_config;
DROP TABLE messages;
DROP TABLE contact_groups;
DROP TABLE contact_tags;
DROP TABLE tags;
DROP TABLE groups;
DROP TABLE contacts;

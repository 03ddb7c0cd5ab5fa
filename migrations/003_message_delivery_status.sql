-- description: Delivery status for messages
-- migrate:up
ALTER TABLE messages ADD COLUMN status TEXT NOT NULL DEFAULT 'sent'
  CHECK (status IN ('pending', 'sent', 'delivered', 'read', 'failed'));
CREATE INDEX idx_messages_status ON messages (status) WHERE status IN ('pending', 'failed');

-- migrate:down
DROP INDEX idx_messages_status;
ALTER TABLE messages DROP COLUMN status;

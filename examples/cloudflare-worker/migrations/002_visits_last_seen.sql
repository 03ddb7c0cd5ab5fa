-- description: When each page was last visited
-- migrate:up
ALTER TABLE visits ADD COLUMN last_seen TEXT;
CREATE INDEX visits_last_seen ON visits (last_seen);
-- migrate:down
DROP INDEX visits_last_seen;
ALTER TABLE visits DROP COLUMN last_seen;

-- description: Visits, counted per page
-- migrate:up
CREATE TABLE visits (page TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0);
-- migrate:down
DROP TABLE visits;

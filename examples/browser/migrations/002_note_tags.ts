import { defineMigration } from "stepwise-migrate/sql-js";

export default defineMigration({
  description: "Tags on notes, with a tag for every note written before this version",
  up(db) {
    db.exec(`CREATE TABLE note_tags (note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE, tag TEXT NOT NULL, PRIMARY KEY (note_id, tag))`);
    db.exec(`INSERT INTO note_tags (note_id, tag) SELECT id, 'inbox' FROM notes`);
  },
  down(db) {
    db.exec(`DROP TABLE note_tags`);
  },
});

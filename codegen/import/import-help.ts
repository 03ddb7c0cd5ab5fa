/** What the bin declares for `import` without loading the importer. */

/** The options of `import`, as commander hands them over. */
export type ImportFlags = { dir?: string; dialect?: string; emptyDown?: string; yes?: boolean; json?: boolean };

/** The help text after the options. */
export const IMPORT_HELP = `
Paths are relative to the project root.

Each migration becomes one NNN_<name>.sql file, numbered from 1 in the order the tool applies them, with
its SQL as written, the tool's markers turned into stepwise's, and run as the tool ran it (in a transaction
or not; on SQLite, foreign keys off where the tool leaves them off). stepwise-import-map.json beside them
maps each to its original id, for adopting a database the tool migrated. Without --yes nothing is written.
See docs/adopting.md.
`;

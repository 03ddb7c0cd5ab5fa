/** What the bin declares for `import` without loading the importer. */

/** The options of `import`, as commander hands them over. */
export type ImportFlags = { dir?: string; dialect?: string; emptyDown?: string; glob?: string; yes?: boolean; json?: boolean };

/** The map `import` writes beside the migrations, and `adopt` reads by default. */
export const IMPORT_MAP_FILE = "stepwise-import-map.json";

/** The help text after the options. */
export const IMPORT_HELP = `
Paths are relative to the project root.

Each migration becomes one NNN_<name>.sql file, numbered from 1 in the order the tool applies them, with
its SQL as written, the tool's markers turned into stepwise's, and run as the tool ran it (in a transaction
or not; on SQLite, foreign keys off where the tool leaves them off). stepwise-import-map.json beside them
maps each to its original id, for adopting a database the tool migrated. Without --yes nothing is written.

A Knex, Kysely, node-pg-migrate or Umzug migration becomes one NNN_<name>.ts wrapper that imports the original
file where it is (keep that folder: gen's checksums cover it) and runs it unchanged through a helper written
to lib/stepwise-<tool>.ts, which serves the tool's API over stepwise's connection: Knex's knex, Kysely's db,
node-pg-migrate's pgm (PostgreSQL only), Umzug's { name, path, context } with the connection as context.
The wrappers import defineMigration from the entry of --driver (default: the config's driver, else
better-sqlite3 on SQLite and pg on PostgreSQL; libsql is served too).

wrangler (D1's "wrangler d1 migrations apply"): <dir> is the migrations folder, or the folder of the
Wrangler config, whose D1 binding's migrations_dir, migrations_pattern and migrations_table are followed
(the config is looked for in <dir> and above it, as wrangler does). Each file runs in one transaction, as
D1 ran it in one batch; the map records migrations_table for adopt. A D1 database is adopted through a
local copy: see "Cloudflare D1" in docs/adopting.md.
See docs/adopting.md.
`;

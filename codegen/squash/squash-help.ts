/** What the bin declares for `squash` without loading it. */

/** The options of `squash`, as commander hands them over. */
export type SquashFlags = { to?: string; dir?: string; dialect?: string; yes?: boolean; json?: boolean };

/** The help text after the options. */
export const SQUASH_HELP = `
Replays migrations 1 to K on an empty database of the project's dialect (in memory for SQLite, a scratch
database on the configured server for PostgreSQL) and writes one migration, numbered K, that builds the
schema they built. A database already at K or beyond runs on unchanged: the squash records the checksums
it holds. Rows the migrations left, and statements of theirs that changed rows, are marked
"-- stepwise:review" in the file, and gen refuses it until you have read them and deleted the marks.
With --yes it deletes migrations 1 to K (commit them first: git history keeps them) and runs gen.
gen --check then proves on every run that the squash builds the schema they built. See docs/migrations.md.
`;

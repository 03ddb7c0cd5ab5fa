/**
 * The gzipped size each budgeted entry's bundle may not grow past: what it measured when the
 * ceiling was last set, plus a little room, so a change to the core that pulls weight into a Worker's
 * or a page's bundle fails `npm run bench` (exit 1) and `test/bench-bundle-sizes.test.ts` instead of
 * passing unseen. Lower one whenever a change makes the entry smaller; raise one only saying why in
 * the commit.
 */

/** Room above the measured size, so a few bytes of unrelated growth do not fail the run. */
const ROOM_BYTES = 512;

/** An entry's two ceilings, in gzipped bytes: `migrate` imported alone, and `MigrationManager` with `migrate`. */
export interface BundleCeiling {
  readonly migrate: number;
  readonly manager: number;
}

/**
 * Gzipped bytes per entry (the file name under `src/entries/`), measured with
 * `npm run bench -- --only bundles`, plus {@link ROOM_BYTES}. Each bundle has its own, so `migrate`'s,
 * the smaller, cannot grow into the room the manager's leaves. Set where the guarantees of the shared
 * core put them: the history table's guard, a failed SQL statement's line, the measured lock wait,
 * PostgreSQL's failure reading and both spellings of every fix all run in every driver's bundle.
 */
export const BUNDLE_GZIP_CEILINGS: Readonly<Record<string, BundleCeiling>> = {
  // migrate builds the entry's manager, as every entry's does, since the executor no longer comes in
  // a manager-less cut (issue 26): migrate alone weighs what the manager does, and the manager less.
  "durable-objects": { migrate: 25_763 + ROOM_BYTES, manager: 25_763 + ROOM_BYTES },
  d1: { migrate: 25_064 + ROOM_BYTES, manager: 25_064 + ROOM_BYTES },
  "sql-js": { migrate: 29_523 + ROOM_BYTES, manager: 29_523 + ROOM_BYTES },
};

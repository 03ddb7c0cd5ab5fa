/**
 * The gzipped size each budgeted entry's bundle may not grow past: what it measured when the
 * ceiling was last set, plus a little room, so a change to the core that pulls weight into a Worker's
 * or a page's bundle fails `npm run bench` (exit 1) and `test/bench-bundle-sizes.test.ts` instead of
 * passing unseen. Issue 14's 10 KB budget is the goal these ceilings step down to: lower one whenever
 * a change makes the entry smaller, never raise one without saying why in the commit.
 */

/** Room above the measured size, so a few bytes of unrelated growth do not fail the run. */
const ROOM_BYTES = 512;

/** An entry's two ceilings, in gzipped bytes: `migrate` imported alone, and `MigrationManager` with `migrate`. */
export interface BundleCeiling {
  readonly migrate: number;
  readonly manager: number;
}

/**
 * Gzipped bytes per entry (the file name under `src/entries/`), measured 2026-11-22 on the slim
 * branch with `npm run bench -- --only bundles`, plus {@link ROOM_BYTES}. Each bundle has its own, so
 * `migrate`'s, the smaller, cannot grow into the room the manager's leaves.
 */
export const BUNDLE_GZIP_CEILINGS: Readonly<Record<string, BundleCeiling>> = {
  // Set 2026-11-23 (slim, session 9, third pass) to what the tree measures after each step of the pass
  // (bench/README.md, "What the third pass changed"). The pass started from 19,308 / 16,584 / 23,353
  // bytes for migrate (main had grown since session 7 set the last ones), and each step shrank every bundle.
  // Raised 2026-11-23 (pg, session 10) by exactly what the pg hardening adds to each bundle, measured
  // against main's head: the history statements' and forEachBatch's operators written through the
  // store and the resolved key (`eq`, `textType`, `sqlOf`), so PostgreSQL's can be pg_catalog's, and
  // HISTORY_ROW_MISSING's message naming a trigger or rule. The room left is what main's head had.
  // Raised 2026-11-23 (lead, session 10) by exactly what the escape guard's two hostile-body fixes
  // add, measured against the tree before them (8dcf847): the witness table re-made when a body
  // dropped or replaced it, and the verdict's check for an app-defined total_changes()
  // (transaction-guard.ts). Only the bundles that carry the guard grow.
  // Raised 2026-11-23 (pgapply, session 11) by exactly what the whole run's hook for several SQL
  // migrations in one request adds (whole-run-strategy.ts asks the dialect, which only PostgreSQL's
  // answers; script-batch.ts itself is bundled by the pg entry alone), measured against the tree before it.
  // Raised 2026-11-23 (apply, session 11) for sql.js alone by exactly what its fresh-apply loop adds
  // (878 / 915 bytes, measured against the branch without it): the one loop over a run of SQL
  // migrations (sql-run.ts) and the connection settings read in one statement, which the file
  // drivers already carried. sql.js's fresh apply was the furthest from the hand loop (1.41x).
  // Raised 2026-11-23 (review, session 11) for sql.js by exactly what calling each pragma_<name>()
  // as a function adds (2 / 3 bytes): a view or table of that name no longer answers for a setting.
  // Raised 2026-11-23 (pg failures, session 12) by exactly what telling a PostgreSQL migration's
  // failure adds to the shared core, measured against the tree before it (dbc7cb7): the executor asks
  // the dialect to read a failure (lost connection, lock timeout), names a failed COMMIT as such, and
  // MIGRATION_FAILED carries the server's DETAIL, HINT and invalid indexes as fields. The reading itself
  // (postgres-failures.ts) is bundled by the pg entry alone.
  // Raised 2026-11-23 (cli, session 12) by exactly what the CLI's fixes add to the core, measured
  // against the tree before them (dbc7cb7): every message that names an option or a call written
  // once with both spellings (option-text.ts: the library's for errors, the CLI's for its output),
  // status() reporting every refusal of up as plain data (plain-error.ts, the executor's status),
  // and a lock holder named by its program. The room left is what main's head had.
  // Raised 2026-11-24 (guard) by exactly what each error class's literal name adds (measured against
  // main's head): a minifier renames classes, so `new.target.name` printed "e: ..." in a minified app.
  "durable-objects": { migrate: 18_472 + 59 + 53 + 84 + 997 + 234 + ROOM_BYTES, manager: 21_981 + 77 + 98 + 52 + 81 + 1_353 + 254 + ROOM_BYTES },
  d1: { migrate: 15_967 + 69 + 79 + 971 + 187 + ROOM_BYTES, manager: 21_018 + 79 + 92 + 56 + 80 + 1_310 + 232 + ROOM_BYTES },
  "sql-js": { migrate: 22_408 + 128 + 101 + 49 + 878 + 2 + 79 + 999 + 287 + ROOM_BYTES, manager: 24_897 + 150 + 116 + 43 + 915 + 3 + 82 + 1_322 + 291 + ROOM_BYTES },
};

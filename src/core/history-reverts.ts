/**
 * The history store's writes that only `down` (and `repair`) make, as functions over a
 * {@link HistoryStore} rather than its methods: a class's methods are bundled whether or not anything
 * calls them, and `migrate` alone (a Worker's, a page's) only applies, so its bundle carries none of these.
 */
import { assertRowChanged, type HistoryStore } from "./history.js";
import { run, type Step } from "./step.js";

/**
 * Marks `version`'s applied row as started again, for a `transaction: false` down.
 *
 * @throws `HISTORY_ROW_MISSING` when `version` has no applied row.
 */
export function* markHistoryRowStarted(store: HistoryStore, version: number, startedAt: string, owner: string): Step<void> {
  // Only an applied row: on a driver whose write section takes no lock (D1), two reverts planned
  // at once both reach this update, and the second must find nothing to mark before its body runs.
  const result = yield* run(`UPDATE ${store.quoted} SET state = 'started', applied_at = ?, duration_ms = NULL, owner = ? WHERE version ${store.eq} ? AND state ${store.eq} 'applied'`, [
    startedAt,
    owner,
    version,
  ]);
  assertRowChanged(store, result.changes, version, "mark-started");
}

/**
 * Removes `version`'s row (after a revert, or to forget an interrupted attempt).
 *
 * @throws `HISTORY_ROW_MISSING` when `version` has no row: whoever removed it did so behind the
 *   caller's back, and the caller must not report a revert it cannot account for.
 */
export function* deleteHistoryRow(store: HistoryStore, version: number): Step<void> {
  const result = yield* run(`DELETE FROM ${store.quoted} WHERE version ${store.eq} ?`, [version]);
  assertRowChanged(store, result.changes, version, "delete");
}

/**
 * A statement that fails when `version` has no applied row, and changes nothing when it has: the
 * first of a batch that reverts it (capability `atomicBatch`, D1), where no check can run between
 * statements. Two processes reverting at once then cannot both revert: the second batch fails on
 * the history table's NOT NULL `name` before any of its statements count.
 */
export function* failUnlessApplied(store: HistoryStore, version: number): Step<void> {
  yield* run(
    `INSERT INTO ${store.quoted} (version, name, checksum, applied_at, state) SELECT ?, NULL, '', '', 'applied' WHERE NOT EXISTS (SELECT 1 FROM ${store.quoted} WHERE version ${store.eq} ? AND state ${store.eq} 'applied')`,
    [version, version],
  );
}

/**
 * The history store's reads that only `history()` and the safety nets need, as
 * functions over a {@link HistoryStore} rather than its methods: a class's methods are bundled
 * whether or not anything calls them, so `migrate` alone (a Worker's, a page's) carries none of these.
 */
import type { HistoryStore } from "./history.js";
import type { AppliedMigration } from "./planner.js";
import { query, run, type Step } from "./step.js";

/** Every row of `store`, oldest first; `[]` when the table does not exist. */
export function* readAllHistory(store: HistoryStore): Step<AppliedMigration[]> {
  if (!(yield* store.existsWithValidShape())) return [];
  const rows = yield* query<{ version: number; name: string; checksum: string; applied_at: string; duration_ms: number | null; state: "applied" | "started" }>(
    `SELECT ${store.versionColumn}, name, checksum, applied_at, duration_ms, state FROM ${store.quoted} ORDER BY version`,
  );
  for (let i = 0; i < rows.length; i++) {
    yield* store.assertRowValid(rows[i]!.version, rows[i]!.checksum, rows[i]!.state, i === 0 ? null : rows[i - 1]!.version);
  }
  return rows.map((row) => ({
    version: row.version,
    name: row.name,
    checksum: row.checksum,
    appliedAt: row.applied_at,
    durationMs: row.duration_ms,
    state: row.state,
  }));
}

/**
 * Rewrites the recorded checksum of an applied row, only while it still holds `from`; returns
 * whether it did. The caller reads the rows in the same transaction, so `false` means a bug.
 */
export function* replaceHistoryChecksum(store: HistoryStore, version: number, from: string, to: string): Step<boolean> {
  const result = yield* run(`UPDATE ${store.quoted} SET checksum = ? WHERE version ${store.eq} ? AND checksum ${store.eq} ? AND state ${store.eq} 'applied'`, [to, version, from]);
  return result.changes === 1;
}

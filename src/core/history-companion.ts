/**
 * The tables stepwise keeps next to the history (`<table>_<suffix>`, such as the checksum repair
 * log), as functions over a {@link HistoryStore} rather than its methods: a class's methods are
 * bundled whether or not anything calls them, and `migrate` alone never touches these tables. A
 * store whose dialect names or finds them otherwise (PostgreSQL's, in the history's schema) has its
 * own `companionTable`/`companionExists`, which these defer to.
 */
import type { HistoryStore } from "./history.js";
import { query, type Step } from "./step.js";

/** The companion table `<table>_<suffix>` as statements write it. Its name is valid whenever the history's is. */
export function companionTable(store: HistoryStore, suffix: string): string {
  return store.companionTable ? store.companionTable(suffix) : `"${store.tableName}_${suffix}"`;
}

/** Whether {@link companionTable} exists. Does not write. */
export function* companionExists(store: HistoryStore, suffix: string): Step<boolean> {
  if (store.companionExists) return yield* store.companionExists(suffix);
  return (yield* query("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", [`${store.tableName}_${suffix}`])).length > 0;
}

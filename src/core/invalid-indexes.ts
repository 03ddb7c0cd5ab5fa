/** How a migration's failure, a lock wait that ran out and `repair` name the invalid indexes a failed `CREATE INDEX CONCURRENTLY` left. */
import type { InvalidIndex } from "./errors.js";

/** The lines that name each of `indexes` with the statement that removes it, after `lead` ("It left", "The database holds"); empty for none. */
export function describeInvalidIndexes(indexes: readonly InvalidIndex[], lead: string): string {
  if (indexes.length === 0) return "";
  const one = indexes.length === 1;
  return (
    `${lead} ${one ? "an invalid index" : `${indexes.length} invalid indexes`} (what a CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY that fails part way leaves), ` +
    `which ${one ? "makes" : "make"} the same statement fail with "already exists" when it runs again; remove ${one ? "it" : "each"} first:\n` +
    indexes.map((index) => `  ${index.drop}  -- on ${index.schema}.${index.table}\n`).join("")
  );
}

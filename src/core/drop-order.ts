/**
 * The order `reset` drops a SQLite database's tables in where foreign keys stay enforced (no switch:
 * Durable Objects, D1, a libSQL client): a table that references another goes first. Dropping a
 * parent while a child still holds rows that reference it fails (`FOREIGN KEY constraint failed`),
 * and D1 runs each statement on its own, so deferring the check to a commit does not help there.
 */
import type { SchemaObject } from "./schema-objects.js";
import { query, type Step } from "./step.js";

/**
 * `objects` with their tables reordered so that every table comes before the tables it references.
 * Other objects keep their places. A cycle of references keeps the order it had (the deferred check
 * at the commit covers it where there is one).
 */
export function* orderChildrenFirst(objects: readonly SchemaObject[]): Step<SchemaObject[]> {
  const tables = objects.filter((object) => object.type === "table");
  const references = new Map<string, Set<string>>();
  for (const table of tables) {
    const rows = yield* query<{ table: string }>(`SELECT "table" FROM pragma_foreign_key_list(?)`, [table.name]);
    references.set(table.name.toLowerCase(), new Set(rows.map((row) => String(row.table).toLowerCase()).filter((name) => name !== table.name.toLowerCase())));
  }
  const ordered: SchemaObject[] = [];
  let left = tables;
  while (left.length > 0) {
    // A table no other remaining table references can go now.
    const free = left.filter((table) => !left.some((other) => other !== table && references.get(other.name.toLowerCase())!.has(table.name.toLowerCase())));
    const next = free.length > 0 ? free : left;
    ordered.push(...next);
    left = left.filter((table) => !next.includes(table));
  }
  let index = 0;
  return objects.map((object) => (object.type === "table" ? ordered[index++]! : object));
}

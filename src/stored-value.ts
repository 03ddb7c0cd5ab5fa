/**
 * How a value read from SQLite is shown in an error message, so a broken row or key can be found
 * with the same literal in a query.
 */

/** A stored value as SQL would show it, for messages: text quoted, NULL spelled out. */
export function describeStoredValue(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "string") return `'${value}'`;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `a ${value.length}-byte blob`;
  return String(value);
}

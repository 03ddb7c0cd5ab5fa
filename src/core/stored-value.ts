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

/**
 * SQLite's order of two blobs (memcmp over the shorter length, then the shorter first): negative,
 * zero or positive. Plain bytes rather than `Buffer.compare`, which a browser page does not have.
 */
export function compareBlobs(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    if (a[index] !== b[index]) return a[index]! - b[index]!;
  }
  return a.length - b.length;
}

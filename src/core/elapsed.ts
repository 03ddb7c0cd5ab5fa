/**
 * How long a failed operation ran, kept by the error it threw: the runners time every operation and
 * note the time of one that failed, so a lock error states how long the lock was actually waited for
 * (SQLite's busy handler, a driver's own retries, or a refusal that came at once) rather than the
 * timeout that was configured. A module of its own, importing nothing, so `errors.ts` reads it
 * without a cycle.
 */

/** How long each failed operation ran before its library error came back, by that error. */
const elapsedByError = new WeakMap<object, number>();

/**
 * Records that the operation which threw `error` ran for `ms` milliseconds: the runners note it for
 * every failed operation, so a lock error can state how long it was actually waited for (SQLite's
 * busy handler, a driver's own retries, a refusal that came at once) rather than the configured
 * timeout. The first record wins: the innermost runner measured the operation itself.
 */
export function recordElapsed(error: unknown, ms: number): void {
  if (error !== null && (typeof error === "object" || typeof error === "function") && !elapsedByError.has(error)) elapsedByError.set(error, Math.round(ms));
}

/** What {@link recordElapsed} noted for `error`, or `null` when no runner timed it. */
export function elapsedOf(error: unknown): number | null {
  return error !== null && (typeof error === "object" || typeof error === "function") ? (elapsedByError.get(error) ?? null) : null;
}

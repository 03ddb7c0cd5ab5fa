/**
 * Reading a value a migration threw. JavaScript lets a body throw anything: `null`, a number, an
 * object without a prototype, a frozen object, a Proxy whose traps throw. Reporting that failure must
 * never fail in turn, or the app would get a `TypeError` of stepwise's making instead of the
 * migration's failure.
 */

/** The thrown value's message as a report shows it; never throws. */
export function describeThrownValue(value: unknown): string {
  try {
    return value instanceof Error ? String(value.message) : String(value);
  } catch {
    // `Object.create(null)` has no toString; a Proxy's traps may throw.
    return "a thrown value that cannot be read as text";
  }
}

/** `value instanceof type`, false where asking throws (a Proxy's `getPrototypeOf` trap). */
export function isInstanceSafely<T>(value: unknown, type: abstract new (...args: never[]) => T): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

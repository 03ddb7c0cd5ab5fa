/**
 * Durations as people read them. The library measures with `performance.now()`, whose fractions of
 * a millisecond are noise in a log line or a script's JSON; the CLI rounds at its output boundary.
 */

/** `0 ms`, `12 ms`, `1.3 s`, `42 s`, `2 min 05 s`: whole milliseconds below a second, then coarser. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "? ms";
  const rounded = Math.round(ms);
  if (rounded < 1000) return `${rounded} ms`;
  // 1.0 s up to 9.9 s keep a decimal; from 10 s the tenths no longer help.
  if (rounded < 9950) return `${(rounded / 1000).toFixed(1)} s`;
  const seconds = Math.round(rounded / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/**
 * A copy of `value` in which every number under a key ending in `Ms` (`durationMs`, `waitedMs`,
 * `elapsedMs`…) is a whole number of milliseconds, for `--json` output: a script compares integers.
 */
export function roundDurations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(roundDurations);
  if (value === null || typeof value !== "object") return value;
  // A Date, a Buffer or a class instance keeps its own JSON form.
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, /Ms$/.test(key) && typeof inner === "number" && Number.isFinite(inner) ? Math.round(inner) : roundDurations(inner)]));
}

/** What `run` returns, or `fallback` when it throws: for calls whose failure is an answer (absent, unreadable). */
export function tryOr<T, F>(run: () => T, fallback: F): T | F {
  try {
    return run();
  } catch {
    return fallback;
  }
}

/** The name a misspelt one most likely meant: the library's options, and at build time the config and migration files. */

/** The first candidate nearest to `name`, within Levenshtein distance 2 (case aside). */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  const ranked = candidates.map((candidate) => ({ candidate, distance: distance(name.toLowerCase(), candidate.toLowerCase()) })).sort((x, y) => x.distance - y.distance);
  return ranked[0] && ranked[0].distance < 3 ? ranked[0].candidate : undefined;
}

/** Summaries of repeated measurements. */

/** Min, median and max of a set of samples, plus the samples themselves. */
export interface Summary {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly samples: readonly number[];
}

/** Summarises samples; the median of an even count is the mean of the middle two. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN, samples: [] };
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]!, samples };
}

/** Times one synchronous call in milliseconds. */
export function timeMs(action: () => void): number {
  const started = performance.now();
  action();
  return performance.now() - started;
}

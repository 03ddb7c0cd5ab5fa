/**
 * A confidence interval for the ratio of two sides' medians (or of any quantile) from samples taken
 * interleaved, round by round: the rounds are resampled with replacement, each side keeping its own
 * sample of each drawn round, so a slow phase of the machine stays paired as it was measured. A
 * seeded generator makes the interval the same for the same samples.
 */

/** The `q`-quantile (0..1) of `values`, by linear interpolation between the closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

/** A point estimate and its 95% interval. */
export interface Interval {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
}

/** The 95% bootstrap interval of `quantile(ours, q) / quantile(theirs, q)`; `ours[i]` and `theirs[i]` are round `i`'s. */
export function ratioInterval(ours: readonly number[], theirs: readonly number[], q = 0.5, resamples = 2_000): Interval {
  const rounds = Math.min(ours.length, theirs.length);
  let seed = 0x5eed;
  const random = () => {
    // mulberry32: small, seeded, good enough to draw round indices.
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ratios: number[] = [];
  const a = new Array<number>(rounds);
  const b = new Array<number>(rounds);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < rounds; i++) {
      const pick = Math.floor(random() * rounds);
      a[i] = ours[pick]!;
      b[i] = theirs[pick]!;
    }
    ratios.push(quantile(a, q) / quantile(b, q));
  }
  return { estimate: quantile(ours.slice(0, rounds), q) / quantile(theirs.slice(0, rounds), q), low: quantile(ratios, 0.025), high: quantile(ratios, 0.975) };
}

/** `1.08× (95% 1.03–1.13)`. */
export function formatInterval(interval: Interval): string {
  return `${interval.estimate.toFixed(2)}× (95% ${interval.low.toFixed(2)}–${interval.high.toFixed(2)})`;
}

/**
 * What a run shows of a target, from the ratio's 95% interval: `met` when the whole interval meets it,
 * `not met` when the whole interval misses it, `undecided` when the interval straddles the limit.
 */
export type IntervalOutcome = "met" | "not met" | "undecided";

/**
 * The outcome of "at most `limit`" (`inclusive`) or "below `limit`" for `ratio`. A point estimate
 * inside the target with an interval reaching past it is no result: on a loaded machine the
 * estimate alone moves by more than the target's margin (`bench/README.md`, session 11).
 */
export function judgeInterval(ratio: Interval, limit: number, inclusive: boolean): IntervalOutcome {
  const meets = (value: number) => (inclusive ? value <= limit : value < limit);
  if (meets(ratio.high)) return "met";
  if (!meets(ratio.low)) return "not met";
  return "undecided";
}

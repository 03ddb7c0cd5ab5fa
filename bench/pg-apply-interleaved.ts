/**
 * The fresh apply's and the roll-back-all's verdicts, measured apply by apply: every side applies
 * the workload to a fresh database and rolls it all back, one side after another, the order rotating
 * each round, so that a round is a set of paired samples taken within seconds of each other and a
 * slow phase of a shared machine falls on every side of it. The rounds' five samples a side (each
 * side's apply a minute apart from the next side's) spread ±20% and decided nothing; here each side
 * gets `pairs` samples, and every ratio of medians comes with a 95% interval, resampled by round
 * (`pg-ratio-interval.ts`). A verdict is decided by the interval: met when its upper end is within
 * the target, not met when its lower end is past it, undecided when the interval holds the target.
 */
import { createTestDatabase } from "../test/support/postgres-server.js";
import { judgeInterval, ratioInterval, type Interval, type IntervalOutcome } from "./pg-ratio-interval.js";
import type { PgSide } from "./pg-sides.js";
import { summarize, type Summary } from "./stats.js";

/** The two figures of the phase. */
export const INTERLEAVED_APPLY_FIGURES = ["apply", "rollbackAll"] as const;

/** A figure of the phase: `apply` (fresh apply) or `rollbackAll`. */
export type InterleavedApplyFigure = (typeof INTERLEAVED_APPLY_FIGURES)[number];

/**
 * The comparisons issue 12 asks for: each stepwise mode against the hand loop of its own grouping
 * (≤ 1.10×), and stepwise with `transaction: "all"` against each peer, which all run a call in one
 * transaction (< 1×).
 */
export const INTERLEAVED_APPLY_COMPARISONS = [
  { stepwise: "stepwise", against: "hand", target: "within", limit: 1.1 },
  { stepwise: "stepwise-all", against: "hand-all", target: "within", limit: 1.1 },
  { stepwise: "stepwise-all", against: "node-pg-migrate", target: "ahead", limit: 1 },
  { stepwise: "stepwise-all", against: "kysely", target: "ahead", limit: 1 },
  { stepwise: "stepwise-all", against: "knex", target: "ahead", limit: 1 },
] as const;

/** One comparison of one figure, judged by its interval. */
export interface InterleavedApplyVerdict {
  readonly figure: InterleavedApplyFigure;
  readonly stepwise: string;
  readonly against: string;
  /** stepwise / the other side: ratio of medians, 95% interval. */
  readonly ratio: Interval;
  /** `within`: at most `limit` (the hand loop's 1.10×); `ahead`: below it (a peer's 1×). */
  readonly target: "within" | "ahead";
  readonly limit: number;
  readonly verdict: IntervalOutcome;
}

/** What the phase measured. */
export interface InterleavedApplyResult {
  /** Migrations in the workload each apply runs. */
  readonly size: number;
  /** Rounds: samples per side and figure. */
  readonly pairs: number;
  /** ms per call (connect to closed), by side id and figure; `samples[i]` is round `i`'s. */
  readonly times: Readonly<Record<string, Readonly<Record<InterleavedApplyFigure, Summary>>>>;
  readonly verdicts: readonly InterleavedApplyVerdict[];
  /** The one-minute load average at the start and the end of the phase. */
  readonly load: readonly [number, number];
  /** Wall time of the phase, in seconds. */
  readonly seconds: number;
}

/**
 * Runs the phase over `sides` (every id the comparisons name), on a workload of its own size. Each
 * round every side gets a fresh database, applies everything and rolls everything back, timed apart.
 */
export async function measureInterleavedApply(sides: readonly PgSide[], size: number, pairs: number, loadAverage: () => number, progress: (message: string) => void): Promise<InterleavedApplyResult> {
  const startLoad = loadAverage();
  const began = performance.now();
  const times = new Map(sides.map((side) => [side.id, { apply: [] as number[], rollbackAll: [] as number[] }]));
  // One unmeasured round first: each side's code compiled and the server's files warm before it is timed.
  for (let round = -1; round < pairs; round++) {
    if (round >= 0 && (round % 5 === 0 || round === pairs - 1)) progress(`fresh apply and roll back all, interleaved (N = ${size}): round ${round + 1} of ${pairs}`);
    for (let slot = 0; slot < sides.length; slot++) {
      const side = sides[(slot + Math.max(round, 0)) % sides.length]!;
      const database = await createTestDatabase();
      try {
        const applyStarted = performance.now();
        await side.apply(database.url);
        const apply = performance.now() - applyStarted;
        const rollbackStarted = performance.now();
        await side.rollbackAll(database.url);
        const rollbackAll = performance.now() - rollbackStarted;
        if (round < 0) continue;
        const bucket = times.get(side.id)!;
        bucket.apply.push(apply);
        bucket.rollbackAll.push(rollbackAll);
      } finally {
        await database.drop();
      }
    }
  }
  const verdicts: InterleavedApplyVerdict[] = [];
  for (const figure of INTERLEAVED_APPLY_FIGURES) {
    for (const { stepwise, against, target, limit } of INTERLEAVED_APPLY_COMPARISONS) {
      const ours = times.get(stepwise);
      const theirs = times.get(against);
      if (!ours || !theirs) continue;
      const ratio = ratioInterval(ours[figure], theirs[figure]);
      verdicts.push({ figure, stepwise, against, ratio, target, limit, verdict: judgeInterval(ratio, limit, target === "within") });
    }
  }
  return {
    size,
    pairs,
    times: Object.fromEntries([...times].map(([id, bucket]) => [id, { apply: summarize(bucket.apply), rollbackAll: summarize(bucket.rollbackAll) }])),
    verdicts,
    load: [startLoad, loadAverage()],
    seconds: (performance.now() - began) / 1000,
  };
}

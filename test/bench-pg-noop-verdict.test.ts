/**
 * The PostgreSQL bench's no-op verdict reads the whole 95% interval of the ratio, not its point
 * estimate: a loaded machine's run whose estimate lands inside the target while its interval reaches
 * past it shows nothing, and the report must say so instead of "met".
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PgBenchResult } from "../bench/measure-pg.js";
import { evaluatePgNoOp, judgeInterval } from "../bench/pg-report.js";
import type { Interval } from "../bench/pg-ratio-interval.js";

const interval = (estimate: number, low: number, high: number): Interval => ({ estimate, low, high });

/** A bench result holding only the interleaved phase's two intervals: all `evaluatePgNoOp` reads. */
function resultWith(againstHand: Interval, againstKysely: Interval): PgBenchResult {
  return { noopInterleaved: { againstHand, againstKysely } } as unknown as PgBenchResult;
}

test("a ratio is met only when its whole interval meets the target, missed only when its whole interval misses it, and undecided when the interval straddles it", () => {
  // At most 1.10 (the hand loop): the limit itself meets it.
  assert.equal(judgeInterval(interval(1.05, 1.01, 1.1), 1.1, true), "met");
  assert.equal(judgeInterval(interval(1.08, 0.98, 1.18), 1.1, true), "undecided");
  assert.equal(judgeInterval(interval(1.21, 1.17, 1.25), 1.1, true), "not met");
  assert.equal(judgeInterval(interval(1.12, 1.1, 1.15), 1.1, true), "undecided");
  // Below 1 (Kysely): the limit itself does not.
  assert.equal(judgeInterval(interval(0.06, 0.05, 0.06), 1, false), "met");
  assert.equal(judgeInterval(interval(0.97, 0.93, 1), 1, false), "undecided");
  assert.equal(judgeInterval(interval(1, 1, 1.02), 1, false), "not met");
});

test("the no-op verdict of a loaded run whose estimate is inside 1.10× but whose interval reaches 1.18× is undecided, not met", () => {
  const verdicts = evaluatePgNoOp(resultWith(interval(1.08, 0.98, 1.18), interval(0.06, 0.05, 0.06)));
  assert.deepEqual(
    verdicts.map((verdict) => [verdict.against, verdict.limit, verdict.outcome]),
    [
      ["hand", 1.1, "undecided"],
      ["kysely", 1, "met"],
    ],
  );
  assert.deepEqual(evaluatePgNoOp({ noopInterleaved: null } as unknown as PgBenchResult), []);
});

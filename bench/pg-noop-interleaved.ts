/**
 * The no-op start's verdict, measured start by start: stepwise, the hand-written loop and Kysely
 * (the peer issue 12 names) each get a database with the workload applied, kept for the whole
 * phase, and their no-op starts alternate one by one (the order rotating each round), so a slow
 * phase of a shared machine falls on all three alike. The rounds' five starts a side give about 25
 * samples, too few to tell 1.05× from 1.15× (their medians moved ±0.5 ms run to run in session 9);
 * here each side gets `samples`, and the ratio of medians comes with a 95% interval, resampled by
 * round (`pg-ratio-interval.ts`).
 */
import { createTestDatabase } from "../test/support/postgres-server.js";
import { ratioInterval, type Interval } from "./pg-ratio-interval.js";
import type { PgSide } from "./pg-sides.js";
import { summarize, type Summary } from "./stats.js";

/** The sides of the phase, by id: stepwise's default, its baseline, and the peer it must beat. */
export const INTERLEAVED_NO_OP_SIDES = ["stepwise", "hand", "kysely"] as const;

/** What the phase measured. */
export interface InterleavedNoOpResult {
  readonly samples: number;
  /** ms per start (connect to closed), by side id. */
  readonly starts: Readonly<Record<(typeof INTERLEAVED_NO_OP_SIDES)[number], Summary>>;
  /** stepwise / the hand loop: ratio of medians, 95% interval. Target ≤ 1.10. */
  readonly againstHand: Interval;
  /** stepwise / Kysely: ratio of medians, 95% interval. Target < 1. */
  readonly againstKysely: Interval;
  /** The one-minute load average at the start and the end of the phase. */
  readonly load: readonly [number, number];
}

/** Runs the phase; `sides` must hold every id of {@link INTERLEAVED_NO_OP_SIDES}. */
export async function measureInterleavedNoOp(sides: readonly PgSide[], samples: number, loadAverage: () => number, progress: (message: string) => void): Promise<InterleavedNoOpResult> {
  const chosen = INTERLEAVED_NO_OP_SIDES.map((id) => sides.find((side) => side.id === id)!);
  const startLoad = loadAverage();
  const databases = await Promise.all(chosen.map(() => createTestDatabase()));
  try {
    progress("no-op starts, interleaved: applying the workload once per side");
    for (let index = 0; index < chosen.length; index++) await chosen[index]!.apply(databases[index]!.url);
    const times = chosen.map(() => [] as number[]);
    progress(`no-op starts, interleaved: ${samples} a side`);
    // Two unmeasured rounds first: each side's code compiled and its server caches warm before it is timed.
    for (let round = -2; round < samples; round++) {
      for (let slot = 0; slot < chosen.length; slot++) {
        const index = (slot + Math.max(round, 0)) % chosen.length;
        const began = performance.now();
        await chosen[index]!.noopStart(databases[index]!.url);
        if (round >= 0) times[index]!.push(performance.now() - began);
      }
    }
    const [stepwise, hand, kysely] = times as [number[], number[], number[]];
    return {
      samples,
      starts: { stepwise: summarize(stepwise), hand: summarize(hand), kysely: summarize(kysely) },
      againstHand: ratioInterval(stepwise, hand),
      againstKysely: ratioInterval(stepwise, kysely),
      load: [startLoad, loadAverage()],
    };
  } finally {
    await Promise.all(databases.map((database) => database.drop()));
  }
}

/**
 * How much of the suite a run takes. A plain `npm test` is the quick run: every behaviour on every
 * driver, seeded series in the files it takes on one driver with few trials. `.ci/run` sets
 * `STEPWISE_FULL=1`: those series on every driver with more trials, plus the files listed by why in
 * `FULL_RUN_ONLY_GROUPS` (`scripts/test.mjs`): the end-to-end apps and guides, databases other tools'
 * runners migrated, the kill and race series, the hostile testers' second rounds. `STEPWISE_SOAK=1`
 * runs the long soaks, and implies the full run.
 */
import { envCount } from "./prng.js";

/** Whether the soaks run (`STEPWISE_SOAK=1`): hundreds of trials per series. */
export const SOAK_RUN = Boolean(process.env.STEPWISE_SOAK);

/** Whether this is the full run (`STEPWISE_FULL=1`, as `.ci/run` sets it, or a soak). */
export const FULL_RUN = SOAK_RUN || process.env.STEPWISE_FULL === "1";

/**
 * How many trials a seeded series runs: the environment's `name` when set (`.ci/run` fixes some),
 * else `soak`, `full` or `quick` by the run.
 */
export function trialCount(name: string, counts: { readonly quick: number; readonly full: number; readonly soak: number }): number {
  return envCount(name, SOAK_RUN ? counts.soak : FULL_RUN ? counts.full : counts.quick);
}

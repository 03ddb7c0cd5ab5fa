/**
 * An error a migration's code leaves to be thrown where nothing catches it (an un-awaited promise, a timer), on a fleet worker thread: it comes after the migration returned, perhaps
 * while the thread runs another database. It fails the database whose run made it, its committed steps kept; never the one that happened to run next.
 */
import type { TargetError } from "../fleet/migrate-many.js";
import { describeLostTarget, type FleetJob, type FleetTargetResult } from "./fleet-task.js";
import type { FleetTargetSpec } from "./fleet-targets.js";

/** The error a worker caught where nothing else could: `id` is the database whose run made it, `null` when the thread could not tell. */
export interface StrayError {
  readonly id: string | null;
  readonly error: TargetError;
}

/** Keeps each database's result until the pool ends, so a stray error that comes after it can fail it. */
export function createStrayLedger(job: FleetJob) {
  const results = new Map<string, { spec: FleetTargetSpec; result: FleetTargetResult }>();
  const early = new Map<string, string>();
  const fail = (spec: FleetTargetSpec, result: FleetTargetResult, message: string) => {
    if (!result.ok) return;
    // The report holds this object: what it committed (steps) stays as it is.
    Object.assign(result, { ok: false, error: describeLostTarget(spec, job, { code: "UNEXPECTED", message }, 0).error });
  };
  return {
    /** `result` of `spec`, failed by a stray error of its run that came before it. */
    settled(spec: FleetTargetSpec, result: FleetTargetResult): FleetTargetResult {
      results.set(spec.id, { spec, result });
      const message = early.get(spec.id);
      if (message !== undefined) fail(spec, result, message);
      return result;
    },
    /** Lays `stray`, caught on a thread that ran `ran` (in order, the one running last), on the database it came from, else on the last with the others named. */
    caught(stray: StrayError, ran: readonly string[]): void {
      const id = stray.id ?? ran.at(-1);
      if (id === undefined) return;
      const earlier = ran.filter((other) => other !== id);
      const message =
        stray.id !== null
          ? `Code its migrations left running (an un-awaited promise or a timer) threw where nothing could catch it: ${stray.error.message}. What it committed stays (steps).`
          : `Code left running on its worker thread threw where nothing could catch it: ${stray.error.message}. It came from this database's migrations or from those of one the thread ran before it (${earlier.join(", ") || "none"}). What it committed stays (steps).`;
      const known = results.get(id);
      if (known) fail(known.spec, known.result, message);
      else if (!early.has(id)) early.set(id, message);
    },
  };
}

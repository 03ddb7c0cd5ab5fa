/**
 * The pool every fleet run shares: targets pulled one at a time from a list or a stream (so a fleet
 * of 10,000 never has more than `concurrency` open), a canary batch first, and a stop that starts no
 * new target while those running finish.
 */
import { describeOption } from "../core/error-factories.js";
import { StepwiseError } from "../core/errors.js";

/** Why a fleet run left targets unstarted: the canary batch had a failure, `failFast` met one, the signal aborted, or the targets' stream threw (`ids-failed`). */
export type FleetStop = "canary" | "fail-fast" | "aborted" | "ids-failed";

/** How far a fleet run is, with each finished target. */
export interface FleetProgress {
  /** Targets finished, failed ones included. */
  readonly done: number;
  readonly failed: number;
  /** How many targets there are, when known (an array, or the `total` option). */
  readonly total: number | null;
  readonly elapsedMs: number;
  /** Time left at the rate so far; `null` while the total is unknown. */
  readonly etaMs: number | null;
}

/** How a fleet run is paced and when it stops. */
export interface FleetPoolOptions {
  /** Targets worked on at once. Default 4. */
  readonly concurrency?: number;
  /** Run the first `canary` targets first, and start no other if any of them fails. Default 0: no canary. */
  readonly canary?: number;
  /** Start no new target once one has failed. Default `false`: every target is tried. */
  readonly failFast?: boolean;
  /** Start no new target once aborted; those running finish and are reported. */
  readonly signal?: AbortSignal;
  /** How many targets there are, for `etaMs`, when the targets are a stream rather than an array. */
  readonly total?: number | null;
}

/** What a fleet run gives back: each started target's result in the order the targets came. */
export interface FleetRun<R> {
  readonly results: R[];
  readonly stopped: FleetStop | null;
  readonly durationMs: number;
  /** What the targets' stream threw, when `stopped` is `ids-failed`. */
  readonly idsFailure?: { readonly error: unknown };
}

/** Called as the run goes: a target started, finished, or the run stopped starting targets. */
export interface FleetListeners<T, R> {
  started?(target: T): void;
  finished?(result: R, progress: FleetProgress): void;
  stopping?(reason: FleetStop): void;
}

/** A value as a message quotes it, with its type: the string "4" is not the number 4. */
export function describeTyped(value: unknown): string {
  if (typeof value === "function") return "a function";
  return ["string", "number", "boolean", "bigint"].includes(typeof value) ? `the ${typeof value} ${describeOption(value)}` : describeOption(value);
}

/** The default number of targets worked on at once. */
export const DEFAULT_FLEET_CONCURRENCY = 4;

/** How long targets may run back to back before the pool lets the event loop turn. */
const TURN_EVERY_MS = 50;

/**
 * Runs `run` on every target, at most `concurrency` at once. `run` reports a target's failure in its
 * result (`ok: false`); a throw is a failure of the run itself, which starts nothing more and rejects
 * once the targets running have finished. A throw of the targets' stream stops the run as a stop does
 * (`ids-failed`, with `idsFailure`): what ran is still reported.
 *
 * @throws `USAGE` when `concurrency` is not a whole number of at least 1, `canary` or `total` not a whole number, `failFast` not a boolean or `signal` not an `AbortSignal`.
 */
export async function runFleet<T, R extends { readonly ok: boolean }>(
  targets: Iterable<T> | AsyncIterable<T>,
  run: (target: T) => Promise<R>,
  options: FleetPoolOptions = {},
  listeners: FleetListeners<T, R> = {},
): Promise<FleetRun<R>> {
  const { concurrency = DEFAULT_FLEET_CONCURRENCY, canary = 0, failFast = false, signal, total = null } = options;
  const refuse = (option: string, wanted: string, value: unknown) => new StepwiseError("USAGE", `${option} must be ${wanted}; got ${describeTyped(value)}. Nothing was run.`, { option });
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw refuse("concurrency", "a whole number of at least 1", concurrency);
  if (!Number.isSafeInteger(canary) || canary < 0) throw refuse("canary", "a whole number (0: no canary)", canary);
  if (typeof failFast !== "boolean") throw refuse("failFast", "true or false", failFast);
  // By its shape: a signal made in another realm (a test environment's, a polyfill's) is no instance of this one's AbortSignal.
  if (signal !== undefined && typeof (signal as Partial<AbortSignal> | null)?.aborted !== "boolean") throw refuse("signal", "an AbortSignal", signal);
  if (total !== null && (!Number.isSafeInteger(total) || total < 0)) throw refuse("total", "a whole number, or null", total);
  const iterator = Symbol.asyncIterator in targets ? targets[Symbol.asyncIterator]() : targets[Symbol.iterator]();
  const started = performance.now();
  const results: R[] = [];
  let done = 0;
  let failed = 0;
  let thrown: { error: unknown } | null = null;
  const pool = targetPuller(iterator, signal, listeners, () => thrown !== null);
  // A throw (from `run`, or from the stream) stops every lane at its next pull.
  const lane = async (limit: number, openNext: () => void) => {
    let opener: (() => void) | null = openNext;
    try {
      for (let next = await pool.pull(limit); next !== null; next = await pool.pull(limit)) {
        opener?.();
        opener = null;
        listeners.started?.(next.target);
        const result = await run(next.target);
        results[next.index] = result;
        done++;
        if (!result.ok) failed++;
        const elapsedMs = performance.now() - started;
        listeners.finished?.(result, { done, failed, total, elapsedMs, etaMs: total === null ? null : (Math.max(0, total - done) * elapsedMs) / done });
        if (!result.ok && failFast) pool.stop("fail-fast");
      }
    } catch (error) {
      thrown ??= { error };
    }
  };
  // A lane opens the next one once it has a target, so a huge `concurrency` costs no more lanes than there are targets.
  const drain = async (lanes: number, limit: number) => {
    const running: Promise<void>[] = [];
    const open = (): void => {
      if (running.length < lanes) running.push(lane(limit, open));
    };
    open();
    for (let index = 0; index < running.length; index++) await running[index];
  };
  try {
    if (canary > 0) {
      await drain(Math.min(canary, concurrency), canary);
      if (failed > 0) pool.stop("canary");
    }
    await drain(concurrency, Number.POSITIVE_INFINITY);
  } finally {
    if (!pool.exhausted()) await iterator.return?.();
  }
  // Set by the lanes, which the compiler's narrowing does not follow.
  const failure = thrown as { error: unknown } | null;
  if (failure !== null) throw failure.error;
  const idsFailure = pool.idsFailure();
  return { results: results.filter(Boolean), stopped: pool.stopped(), durationMs: performance.now() - started, ...(idsFailure !== null && { idsFailure }) };
}

/**
 * Hands out targets one at a time, numbered in the order they came. It returns `null` once the targets run out, a stop was asked for, `runThrew()` says so, or `limit` targets were handed
 * out. A stop asked for becomes the run's `stopped` only when a target is then left unstarted, so a run that tried every target reports no stop.
 */
function targetPuller<T, R>(iterator: Iterator<T> | AsyncIterator<T>, signal: AbortSignal | undefined, listeners: FleetListeners<T, R>, runThrew: () => boolean) {
  let pulled = 0;
  let exhausted = false;
  let stopped: FleetStop | null = null;
  let requested: FleetStop | null = null;
  let idsFailure: { readonly error: unknown } | null = null;
  const stop = (reason: FleetStop) => {
    requested ??= reason;
  };
  // An async iterator must not be asked for its next value while it is still producing one.
  let queue: Promise<unknown> = Promise.resolve();
  let turned = performance.now();
  const pull = (limit: number): Promise<{ target: T; index: number } | null> => {
    const next = queue.then(async () => {
      // A sync driver's targets settle in microtasks alone: now and then a turn of the event loop lets a timer abort the signal, or a signal handler run, between them.
      if (performance.now() - turned > TURN_EVERY_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        turned = performance.now();
      }
      if (signal?.aborted) stop("aborted");
      if (exhausted || stopped !== null || runThrew() || pulled >= limit) return null;
      let step: IteratorResult<T>;
      try {
        step = await iterator.next();
      } catch (error) {
        // A cursor that broke part way: those started finish and are reported, with why no other was.
        idsFailure = { error };
        exhausted = true;
        stopped = "ids-failed";
        listeners.stopping?.("ids-failed");
        return null;
      }
      if (step.done) {
        exhausted = true;
        return null;
      }
      if (requested !== null) {
        stopped = requested;
        listeners.stopping?.(requested);
        return null;
      }
      return { target: step.value, index: pulled++ };
    });
    queue = next.catch(() => undefined);
    return next;
  };
  return { pull, stop, exhausted: () => exhausted, stopped: () => stopped, idsFailure: () => idsFailure };
}

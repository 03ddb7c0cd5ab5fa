/**
 * A seeded PRNG for randomized tests: the same seed replays the same trial sequence, so a failure
 * prints its seed and `STEPWISE_SEED=<seed>` reproduces it.
 */

/** A generator of floats in [0, 1), from mulberry32. */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `STEPWISE_SEED` when set, otherwise a fresh random seed. */
export function chooseSeed(): number {
  const fromEnv = process.env.STEPWISE_SEED;
  return fromEnv ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 32);
}

/** A positive integer from the environment, or the fallback. */
export function envCount(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

/** One per-driver figure of the bench, built the same way wherever a driver is measured. */
import type { BenchDriver } from "./driver-programs.js";
import type { Figure } from "./run-bench.js";
import { summarize } from "./stats.js";

/** A figure of one driver: `stepwise` against `baseline` (ms), their ratio of medians. */
export function driverFigure(id: string, driver: BenchDriver, what: string, size: number, stepwise: number[], baseline: number[], baselineLabel: string): Figure {
  const ours = summarize(stepwise);
  const theirs = summarize(baseline);
  return { id, driver: driver.name, runtime: driver.runtime, label: `${driver.name}: ${what}`, size, stepwise: ours, baseline: theirs, baselineLabel, ratio: ours.median / theirs.median };
}

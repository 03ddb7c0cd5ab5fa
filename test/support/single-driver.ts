/**
 * Tests about one library in particular (better-sqlite3's `db.transaction()`, the CLI, which opens
 * databases with better-sqlite3 only): declared once for that driver, and skipped with the reason
 * printed where it cannot run (another runtime, an addon built for another ABI, or `STEPWISE_DRIVERS`
 * naming other drivers), as the parameterised suite skips.
 */
import { describe, test } from "node:test";
import { SUITE_DRIVERS, availableDrivers, currentRuntime, unloadableReason } from "./driver-matrix.js";

/** Why the driver named `name` cannot run here, or `null` when it can. */
export async function whyDriverCannotRun(name: string): Promise<string | null> {
  const underTest = SUITE_DRIVERS.find((candidate) => candidate.name === name);
  if (!underTest) throw new Error(`no driver named ${name} in the matrix`);
  if (!availableDrivers().includes(underTest)) return `${name} is not among the drivers run here (runtime ${currentRuntime()}, STEPWISE_DRIVERS=${process.env.STEPWISE_DRIVERS ?? "unset"})`;
  return unloadableReason(underTest);
}

/** `describe(title [name], body)`, skipped with its reason printed when that driver cannot run here. */
export async function describeForDriver(name: string, title: string, body: () => void): Promise<void> {
  const reason = await whyDriverCannotRun(name);
  // A skipped test, not a skipped describe: Bun prints neither a skipped describe nor a skip reason,
  // so the reason goes in the test's name.
  if (reason !== null) describe(`${title} [${name}]`, () => void test(`not run here: ${reason}`, { skip: true }, () => {}));
  else describe(`${title} [${name}]`, body);
}

/**
 * `up({ transaction: "all" })` where one batch per migration is the only atomic unit (D1): refused
 * before anything runs. The strategy such a driver's executor is given in place of the whole run
 * (`whole-run-strategy.ts`), so its bundle holds the refusal and not the loop.
 */
import { DriverCapabilityError } from "./driver.js";
import type { WholeRunStrategy } from "./executor-strategies.js";
import type { Step } from "./step.js";
import type { MigrationResult } from "./options.js";

/** The whole run refused by capability (`atomicBatch`), naming the driver. */
export const REFUSE_WHOLE_RUN: WholeRunStrategy = function* (executor): Step<MigrationResult> {
  throw new DriverCapabilityError({
    driver: executor.settings.driverName,
    capability: "atomicBatch",
    operation: 'up({ transaction: "all" })',
    fix: "Each migration is applied atomically on its own; call up() without it.",
  });
};

/**
 * `up({ transaction: "all" })` or `down({ transaction: "all" })` where one batch per migration is the
 * only atomic unit (D1): refused before anything runs. The strategy such a driver's executor is given
 * in place of the whole run (`whole-run-strategy.ts`), so its bundle holds the refusal and not the loop.
 */
import { runCall, text } from "./option-text.js";
import type { WholeRunStrategy } from "./executor-types.js";
import type { Step } from "./step.js";
import type { MigrationResult } from "./options.js";
import { driverCapabilityError } from "./driver.js";

/** The whole run refused by capability (`atomicBatch`), naming the driver. */
export const REFUSE_WHOLE_RUN: WholeRunStrategy = function* (executor, plan): Step<MigrationResult> {
  const call = plan.direction;
  throw driverCapabilityError({
    driver: executor.settings.driverName,
    capability: "atomicBatch",
    operation: [runCall(call, { transaction: "all" })],
    fix: text`Each migration is ${call === "up" ? "applied" : "reverted"} atomically on its own; run ${runCall(call)} instead.`,
  });
};

/** Refuses an operation that starts its own transaction on a connection the app left in one: the clean-up after a failed `BEGIN` would throw away the app's writes. */
import { inTransaction, type Step } from "./step.js";
import { transactionOpenError } from "./error-factories.js";

/** Throws `TRANSACTION_OPEN` when the connection the step runs on is inside a transaction. */
export function* refuseOpenTransaction(driver: string, operation: string): Step<void> {
  if (yield* inTransaction()) throw transactionOpenError({ driver, operation });
}

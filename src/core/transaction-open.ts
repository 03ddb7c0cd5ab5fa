/** Refuses an operation that starts its own transaction on a connection the app left in one: the clean-up after a failed `BEGIN` would throw away the app's writes. */
import type { SyncDriver } from "./driver.js";
import { inTransaction, type Step } from "./step.js";
import { transactionOpenError } from "./error-factories.js";

/** Throws `TRANSACTION_OPEN` when the connection the step runs on is inside a transaction. */
export function* refuseOpenTransaction(driver: string, operation: string): Step<void> {
  if (yield* inTransaction()) throw transactionOpenError({ driver, operation });
}

/** {@link refuseOpenTransaction} for code that holds a sync driver rather than running steps. */
export function refuseOpenTransactionOn(driver: Pick<SyncDriver, "name" | "inTransaction">, operation: string): void {
  if (driver.inTransaction()) throw transactionOpenError({ driver: driver.name, operation });
}

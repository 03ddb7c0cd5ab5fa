/**
 * The escape guard's reads of what a guarded migration is judged against (`transaction-guard.ts`),
 * each through the driver's `readValue` where it has one, and all of a transaction's start in one
 * operation. The guard makes five reads per guarded migration: through `query` each came back as an
 * array holding a row object (on libsql, a row iterator: several calls into its binding), and each
 * passed the runner on its own. Carried by the file drivers' dialect
 * (`dialects/sqlite-proving-no-op.ts`), whose drivers are sync and all have `readValue`; a driver
 * without it is read through `query`, as before. The values, and what the guard compares, are the
 * same either way.
 */
import type { Driver } from "./driver.js";
import { callWithDriver, type Row, type Step } from "./step.js";
import type { TransactionStart } from "./transaction-guard.js";

/** The first column of the first row of `sql`, or `undefined`: `readValue`'s answer, or `query`'s. */
function valueOf(driver: Driver, sql: string): unknown {
  if (driver.readValue) return driver.readValue(sql);
  const row = (driver.query(sql, []) as Row[])[0];
  return row === undefined ? undefined : Object.values(row)[0];
}

/** `readTransactionStart` of `transaction-guard.ts` (with `user_version`), in one operation. */
export function* readTransactionStartInOneCall(counter: number | null): Step<TransactionStart> {
  return yield* callWithDriver((driver) => ({
    schemaVersion: Number(valueOf(driver, "PRAGMA schema_version")),
    userVersion: Number(valueOf(driver, "PRAGMA user_version")),
    applicationId: Number(valueOf(driver, "PRAGMA application_id")),
    journalMode: String(valueOf(driver, "PRAGMA journal_mode")).toLowerCase(),
    // The driver's counter means the same ("moves only when another connection commits").
    dataVersion: counter ?? Number(valueOf(driver, "PRAGMA data_version")),
    changeCounter: counter,
  }));
}

/** `readTotalChanges` of `transaction-guard.ts`, through `readValue`. */
export function* readTotalChangesInOneCall(): Step<number> {
  return (yield* callWithDriver((driver) => valueOf(driver, "SELECT total_changes()"))) as number;
}

/**
 * How a SQLite driver's connection refuses writes after the sync runner refused a migration body that
 * returned a promise (see `Driver.fenceWritesUntil`): `PRAGMA query_only = 1` until that promise
 * settles. The body holds the app's own connection and its continuation runs after the runner has
 * returned and rolled back, so nothing else can keep it from writing in autocommit, outside any
 * migration; closing the connection would take the app's with it.
 */
import type { SyncDriver } from "./driver.js";

/** Refused bodies still pending per connection: the fence lifts when the last one settles. */
const pendingPerConnection = new WeakMap<object, { count: number }>();

/**
 * Sets `PRAGMA query_only = 1` on `connection` (through `driver`) until `settled` settles, then sets
 * it back to 0. A connection that is read-only already (the app's choice) or closed is left alone.
 * Never throws: it runs after the refusal it follows, which is the error to report.
 */
export function fenceWritesUntil(connection: object, driver: Pick<SyncDriver, "exec" | "query">, isOpen: () => boolean, settled: PromiseLike<unknown>): void {
  let pending = pendingPerConnection.get(connection);
  if (!pending) {
    try {
      if (!isOpen() || Number(Object.values(driver.query("PRAGMA query_only", [])[0] ?? {})[0]) !== 0) return;
      driver.exec("PRAGMA query_only = 1");
    } catch {
      return;
    }
    pending = { count: 0 };
    pendingPerConnection.set(connection, pending);
  }
  pending.count++;
  const fence = pending;
  const lift = (): void => {
    if (--fence.count > 0) return;
    pendingPerConnection.delete(connection);
    try {
      if (isOpen()) driver.exec("PRAGMA query_only = 0");
    } catch {
      // Nothing to give back on a connection that can no longer run a statement.
    }
  };
  // Promise.resolve: a thenable's own `then` may throw, or call back twice; a promise does neither.
  Promise.resolve(settled).then(lift, lift);
}

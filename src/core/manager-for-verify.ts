/**
 * How `migrate` of an entry that does not bundle a manager (`stepwise-migrate/sql-js`) still honours
 * `{ verifySchema }`: the function the app passes carries, under {@link MANAGER_FOR_VERIFY}, how to
 * build the manager it checks. The manager's code then comes into a bundle with `verifySchema`, which
 * the app imported to pass it, and never with `migrate` alone.
 */
import type { SyncDriver } from "./driver.js";
import type { Dialect } from "./executor-types.js";
import type { SyncMigrationManager } from "./manager.js";
import type { MigrationManagerProps } from "./options.js";
import type { MigrationRegistry } from "./types.js";

/** The key under which stepwise's `verifySchema` carries its {@link ManagerForVerify}. */
export const MANAGER_FOR_VERIFY: unique symbol = Symbol.for("stepwise.managerForVerify");

/** Builds the manager a driver's `MigrationManager` would be, from the same driver, registry, props and dialect. */
export type ManagerForVerify = (driver: SyncDriver<unknown>, migrations: MigrationRegistry, props: MigrationManagerProps, dialect: Dialect | undefined) => SyncMigrationManager<unknown>;

/** The builder `verify` carries, or `null` when it is not stepwise's `verifySchema`. */
export function managerBuilderOf(verify: unknown): ManagerForVerify | null {
  const builder = typeof verify === "function" ? (verify as { [MANAGER_FOR_VERIFY]?: unknown })[MANAGER_FOR_VERIFY] : undefined;
  return typeof builder === "function" ? (builder as ManagerForVerify) : null;
}

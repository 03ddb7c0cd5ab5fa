/**
 * stepwise's runtime entry. It loads neither ts-morph nor prettier nor any file from disk: an app
 * imports its generated registry and hands it to {@link MigrationManager} or {@link migrate}.
 *
 * @packageDocumentation
 */
export { defineMigration } from "./types.js";
export type {
  Database,
  MigrationContext,
  MigrationDefinition,
  MigrationDirection,
  MigrationEntry,
  MigrationEntryBase,
  MigrationFunction,
  MigrationRegistry,
  ModuleMigrationEntry,
  SqlMigrationEntry,
  VersionOf,
} from "./types.js";
export {
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_TRANSACTION_MODE,
  MigrationManager,
  describeEvent,
  migrate,
} from "./manager.js";
export type {
  AppliedStep,
  DownOptions,
  MigrationEvent,
  MigrationLogger,
  MigrationManagerProps,
  MigrationResult,
  TransactionMode,
  UpOptions,
} from "./manager.js";
export { WholeRunTransactionRefusedError, assertWholeRunPossible, findWholeRunObstacle } from "./whole-run-transaction.js";
export type { WholeRunObstacle } from "./whole-run-transaction.js";
export { DEFAULT_TABLE_NAME, HistoryStore, InvalidTableNameError } from "./history-store.js";
export {
  DEFAULT_DOWN_STEPS,
  assertValidRegistry,
  describeStatus,
  findHistoryProblem,
  findRegistryProblems,
  planDown,
  planUp,
  verifyHistoryOrThrow,
} from "./planner.js";
export type {
  AppliedMigration,
  AppliedMigrationKey,
  MigrationPlan,
  MigrationState,
  MigrationStatus,
  MigrationStatusRow,
  PlanDownOptions,
  PlanUpOptions,
} from "./planner.js";
export * from "./errors.js";

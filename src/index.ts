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
  UpOptions,
} from "./manager.js";
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
export { describeRepair, repairIncompleteMigration } from "./repair.js";
export type { RepairOptions, RepairResolution, RepairResult } from "./repair.js";
export * from "./errors.js";

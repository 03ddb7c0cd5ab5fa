/**
 * What the tests import: the root entry, the better-sqlite3 entry, and the few internals tests pin.
 * Tests reach the runtime through this one file so each keeps one import line.
 */
export * from "../../src/index.js";
export * from "../../src/entries/better-sqlite3.js";
// Both entries export one; the tests' migrations use the root one, as this repository's do.
export { defineMigration } from "../../src/index.js";
// Internals the tests pin directly; not part of any public entry.
export { assertRegistryForDriver, findHistoryProblem, findRegistryProblems } from "../../src/core/planner.js";
export { createProgressReporter } from "../../src/core/progress.js";
export { describeStatus, planDown, planUp } from "../../src/core/planner.js";
export { isAsyncMigration } from "../../src/core/types.js";
export type { AsyncMigrationFunction, BatchOptions, MigrationConnection, SyncMigrationFunction } from "../../src/core/types.js";
export type { AppliedMigration, AppliedMigrationKey } from "../../src/core/planner.js";
export type { ProgressMeasure } from "../../src/core/progress.js";
export { createBetterSqlite3Driver } from "../../src/drivers/better-sqlite3.js";
export type { Database } from "../../src/entries/better-sqlite3.js";

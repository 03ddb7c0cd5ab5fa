/**
 * The parts of the algorithm a driver may not be able to use, as strategies the executor is given
 * rather than code it imports: the transaction-escape guard (savepoints), a migration applied in a
 * transaction, `up({ transaction: "all" })` (one transaction for the whole run), and a migration applied
 * as one atomic batch (D1). A driver's `migrate` passes only those its capabilities reach, so a Worker's
 * or a page's bundle holds none of the others. {@link Executor} (every manager) passes them all: a
 * manager's behaviour never depends on what an entry left out.
 */
import type { EscapeGuardStrategy } from "./escape-guard.js";
import type { ExecutorBase, Replan, RunGuard } from "./executor-base.js";
import type { TransactionStart } from "./transaction-guard.js";
import type { AppliedStep, MigrationResult } from "./options.js";
import type { MigrationPlan } from "./planner.js";
import type { Step } from "./step.js";
import type { MigrationDirection, MigrationEntry, MigrationRegistry } from "./types.js";

/** Runs a whole plan in one transaction (`up` or `down` with `transaction: "all"`); see `whole-run-strategy.ts`. */
export type WholeRunStrategy = <R extends MigrationRegistry>(executor: ExecutorBase<R>, plan: MigrationPlan<R[number]>, replan: Replan<R[number]>) => Step<MigrationResult>;

/**
 * Applies one migration inside the transaction the executor opened (under the escape guard when
 * `guarded`); see `apply-in-transaction.ts`.
 */
export type InTransactionStrategy = (
  executor: ExecutorBase,
  entry: MigrationEntry,
  direction: MigrationDirection,
  guarded: { readonly guard: RunGuard; readonly start: TransactionStart } | null,
) => Step<AppliedStep>;

/**
 * Applies one migration as one atomic batch with its history row (capability `atomicBatch`), or
 * returns `null` when another process applied it first; see `atomic-batch-strategy.ts`.
 */
export type AtomicBatchStrategy = (executor: ExecutorBase, entry: MigrationEntry, direction: MigrationDirection) => Step<AppliedStep | null>;

/**
 * What an executor is given besides the registry and the settings. Each is `null` where the driver
 * cannot use it; the executor refuses, at construction, a driver whose capabilities need one it lacks.
 */
export interface ExecutorStrategies {
  /** The transaction-escape guard (`escape-guard.ts`): required where the driver has savepoints. */
  readonly escapeGuard: EscapeGuardStrategy | null;
  /** One migration in the transaction the executor opened: required unless the driver applies migrations as batches. */
  readonly inTransaction: InTransactionStrategy | null;
  /** `transaction: "all"` (`up` and `down`): the whole run, or its refusal where the driver applies migrations as batches. */
  readonly wholeRun: WholeRunStrategy;
  /** One batch per migration: required where the driver declares `atomicBatch`, and used only there. */
  readonly atomicBatch: AtomicBatchStrategy | null;
}

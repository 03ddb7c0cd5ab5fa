/**
 * The executor every manager holds: {@link ExecutorBase} given every strategy its driver's
 * capabilities reach, and SQLite's dialect where the settings name none.
 */
import { ExecutorBase } from "./executor-base.js";
import { sqliteDialectFor } from "./dialects/sqlite.js";
import { ESCAPE_GUARD } from "./escape-guard.js";
import { ATOMIC_BATCH } from "./atomic-batch-strategy.js";
import { IN_TRANSACTION } from "./apply-in-transaction.js";
import type { ExecutorSettings, ExecutorStrategies } from "./executor-types.js";
import { WHOLE_RUN } from "./whole-run-strategy.js";
import { REFUSE_WHOLE_RUN } from "./whole-run-refusal.js";
import type { MigrationRegistry } from "./types.js";

export type { ExecutorSettings };

/** Every strategy: a manager offers each path its driver's capabilities reach. */
const ALL_STRATEGIES: ExecutorStrategies = { escapeGuard: ESCAPE_GUARD, inTransaction: IN_TRANSACTION, wholeRun: WHOLE_RUN, atomicBatch: ATOMIC_BATCH };

/** {@link ALL_STRATEGIES} for a driver that applies each migration as one batch: there a whole run is refused. */
const BATCH_STRATEGIES: ExecutorStrategies = { ...ALL_STRATEGIES, wholeRun: REFUSE_WHOLE_RUN };

/**
 * The algorithm over one registry and one history table, with every operation a manager offers. Every
 * public method returns a {@link Step} for a runner; none performs I/O itself.
 */
export class Executor<R extends MigrationRegistry = MigrationRegistry> extends ExecutorBase<R> {
  constructor(migrations: R, settings: ExecutorSettings) {
    // A SQLite driver that declares no user_version gets the dialect that never reads it.
    super(migrations, settings, settings.dialect ?? sqliteDialectFor(settings.capabilities), settings.capabilities.atomicBatch ? BATCH_STRATEGIES : ALL_STRATEGIES);
  }
}

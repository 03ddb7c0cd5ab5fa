/**
 * `rehearseUp` for a manager whose methods return promises (`stepwise-migrate/pg`'s, an
 * `AsyncMigrationManager`): the pending migrations run on the live database inside one transaction
 * that is rolled back at the end, so the report (durations, schema diff, row counts, failure) comes
 * from the real data, and nothing stays. PostgreSQL's DDL is transactional, so every statement of a
 * transactional migration is undone by that rollback.
 *
 * The executor runs exactly as in a real `up`; only its transaction primitives are turned into
 * savepoints of the rehearsal's transaction ({@link inRehearsalTransaction}): each migration's commit
 * is a `RELEASE SAVEPOINT`, its rollback a `ROLLBACK TO SAVEPOINT`, so a failure undoes that migration
 * alone and the migrations before it stay visible to the report, as they would stay committed.
 *
 * A TypeScript body that would end the transaction itself (`COMMIT`) is stopped before the statement
 * reaches the server, or the SQLite library (`rehearsal-connection-guard.ts`), and reported as that
 * migration's failure.
 *
 * A plan holding a `transaction: false` migration (which must run outside any transaction, such as
 * `CREATE INDEX CONCURRENTLY`) or one that switches foreign keys off cannot run inside one
 * transaction, so it is refused before anything runs (`REHEARSAL_REFUSED`). The call holds
 * the run lock (on PostgreSQL) for its whole length, and the locks its DDL takes until the rollback:
 * other sessions touching those tables wait for the rehearsal, as they would for the real run.
 */
import { StepwiseError } from "../core/errors.js";
import { CALLS, text } from "../core/option-text.js";
import { Executor } from "../core/executor.js";
import { classifySafely, nativeCauseOf, recordNativeError } from "../core/native-error.js";
import { highestAppliedVersion, planUp } from "../core/planner.js";
import { begin, exec, rollbackQuietly, type Operation, type Step } from "../core/step.js";
import { refuseOpenTransaction } from "../core/transaction-open.js";
import { findWholeRunObstacle, type WholeRunObstacle } from "../core/whole-run-transaction.js";
import type { MigrationRegistry, SqlDialect, VersionOf } from "../core/types.js";
import { withGuardedConnection } from "./rehearsal-connection-guard.js";
import { composeRehearsal, describeFailure, type RehearsalFailure, type RehearsedPlan, type RehearseOptions } from "./rehearsal-result.js";
import { schemaReaderOf, type SafetyNetManager } from "./schema-reader.js";
import { driverCapabilityError } from "../core/driver.js";

/** The savepoint standing in for each migration's own transaction. */
const MIGRATION_SAVEPOINT = "stepwise_rehearsal";

/**
 * The plan cannot be rehearsed inside one transaction rolled back at the end, because one of its
 * migrations cannot run inside a transaction. Nothing ran and nothing was changed.
 */
export function rehearsalRefusedError(fields: { version: number; file: string; obstacle: WholeRunObstacle; driver: string }): StepwiseError<"REHEARSAL_REFUSED"> {
  return new StepwiseError(
    "REHEARSAL_REFUSED",
    text`Cannot rehearse the pending migrations: migration ${fields.version} (${fields.file}) ${fields.obstacle === "transaction-false" ? `has transaction: false, ` : `switches foreign keys off, `}and on the ${fields.driver} driver a rehearsal runs inside one transaction rolled back at the end, which that migration cannot join. Nothing ran and nothing was changed. Rehearse up to version ${fields.version - 1} (${CALLS.rehearseUp({ to: fields.version - 1 })}), or rehearse on a copy of the database.`,
    { version: fields.version, file: fields.file, obstacle: fields.obstacle, driver: fields.driver },
  );
}

/**
 * What `manager.up({ to })` would run, plus a rehearsal of it on the live database inside a
 * transaction rolled back at the end. The same result as the sync `rehearseUp`: refusals `planUp`
 * throws are thrown; anything `up` would throw once running is reported in `rehearsal.failure`.
 *
 * @example
 * const { rehearsal } = await rehearseUpAsync(new MigrationManager(pool, migrations));
 * if (!rehearsal.ok) console.log(rehearsal.failure?.message);
 *
 * @throws `DRIVER_CAPABILITY_MISSING` (`capability: "savepoints"`, `operation: "rehearseUp"`) before anything
 *   runs when the driver cannot roll back a whole run in one transaction: it has no savepoints (D1,
 *   Durable Objects) or applies each migration as its own committed batch (`atomicBatch`, D1).
 * @throws `REHEARSAL_REFUSED` when the plan holds a `transaction: false` migration (or one that
 *   switches foreign keys off); `TRANSACTION_OPEN` when the app's connection is inside a transaction;
 *   `DATABASE_LOCKED` on PostgreSQL when another session holds the run lock past the busy timeout.
 */
export async function rehearseUpAsync<R extends MigrationRegistry>(manager: SafetyNetManager<R, true>, options: RehearseOptions<VersionOf<R>> = {}): Promise<RehearsedPlan<R[number]>> {
  const { capabilities, name } = manager.driver;
  // The rehearsal is one transaction rolled back at the end, each migration a savepoint of it. Without
  // savepoints the per-migration SAVEPOINT is refused or is a plain statement, and a driver that applies
  // each migration as one batch commits it (D1's db.batch): the "rehearsal" would migrate for real.
  if (!capabilities.savepoints || capabilities.atomicBatch) {
    throw driverCapabilityError({ driver: name, capability: "savepoints", operation: "rehearseUp", fix: "Rehearse on a copy of the database instead." });
  }
  return manager.run(rehearseInTransaction(manager, options.to), { exclusive: true }) as Promise<RehearsedPlan<R[number]>>;
}

function* rehearseInTransaction(manager: SafetyNetManager, to: number | undefined): Step<RehearsedPlan> {
  const reader = schemaReaderOf(manager, "rehearseUp", { replays: false });
  yield* refuseOpenTransaction(manager.driver.name, "rehearseUp");
  const settings = manager.executor.settings;
  const plan = planUp(manager.migrations, yield* manager.executor.readKeys(), { to });
  const obstacle = findWholeRunObstacle(plan.steps, yield* manager.executor.dialect.foreignKeysEnforced());
  if (obstacle) throw rehearsalRefusedError({ version: obstacle.entry.version, file: obstacle.entry.file, obstacle: obstacle.obstacle, driver: settings.driverName });

  const durations = new Map<number, number>();
  // Its own executor: a rehearsal's events would read as real applies; only progress reaches the app.
  const executor = new Executor(manager.migrations, {
    ...settings,
    // A SQL migration sent with its history writes and COMMIT as one request (pg) would commit the
    // rehearsal's transaction: each statement goes on its own here, its commit a savepoint's release.
    capabilities: { ...settings.capabilities, scriptWithHistory: false },
    onEvent: (event) => {
      if (event.type === "migrated") durations.set(event.version, event.durationMs);
      if (event.type === "progress") manager.executor.emit(event);
    },
    logger: null,
  });
  yield* begin("immediate");
  try {
    const schemaBefore = yield* reader.read();
    const rowsBefore = yield* reader.countRows(schemaBefore);
    let failure: RehearsalFailure | null = null;
    try {
      yield* inRehearsalTransaction(executor.up(to === undefined ? {} : { to }), executor.dialect.name);
    } catch (error) {
      // Read as the runner reads an error that leaves a step (the rehearsal catches it first), so
      // its nativeCode and nativeKind are those the real run reports.
      if (error instanceof StepwiseError && error.nativeCode === null) {
        const cause = nativeCauseOf(error);
        if (cause !== undefined)
          recordNativeError(
            error,
            classifySafely((value) => manager.driver.classifyError(value), cause),
          );
      }
      failure = describeFailure(error);
    }
    const store = executor.store;
    const reachedVersion = (yield* store.exists()) ? highestAppliedVersion(yield* store.readAll()) : 0;
    const schemaAfter = yield* reader.read();
    const rowsAfter = yield* reader.countRows(schemaAfter);
    return { ...plan, rehearsal: composeRehearsal({ plan, durations, failure, reachedVersion, schemaBefore, schemaAfter, rowsBefore, rowsAfter }) };
  } finally {
    // The point of the rehearsal: everything it did goes.
    yield* rollbackQuietly();
  }
}

/**
 * Runs `step` inside the transaction already open, its own transactions turned into savepoints of
 * it: `begin` opens one, `commit` releases it, `rollback` rolls back to it, and `inTransaction`
 * answers for those alone (so `up`'s refusal of an open transaction does not see the rehearsal's).
 * A TypeScript body gets a connection that refuses statements ending the transaction, by `dialect`'s
 * rules (`rehearsal-connection-guard.ts`). Every other operation passes through unchanged.
 */
export function* inRehearsalTransaction<T>(step: Step<T>, dialect: SqlDialect): Step<T> {
  return yield* intercept(step, { depth: 0 }, dialect);
}

/** {@link inRehearsalTransaction} on `step`, with the savepoint depth it shares with the steps it runs. */
function* intercept<T>(step: Step<T>, savepoints: { depth: number }, dialect: SqlDialect): Step<T> {
  let next: { ok: true; value: unknown } | { ok: false; error: unknown } = { ok: true, value: undefined };
  for (;;) {
    const result: IteratorResult<Operation, T> = next.ok ? step.next(next.value) : step.throw(next.error);
    if (result.done) return result.value;
    const operation: Operation = result.value;
    try {
      switch (operation.op) {
        case "begin":
          yield* exec(`SAVEPOINT ${MIGRATION_SAVEPOINT}`);
          savepoints.depth++;
          next = { ok: true, value: undefined };
          break;
        case "commit":
          yield* exec(`RELEASE SAVEPOINT ${MIGRATION_SAVEPOINT}`);
          savepoints.depth--;
          next = { ok: true, value: undefined };
          break;
        case "rollback":
          if (savepoints.depth > 0) {
            savepoints.depth--;
            try {
              yield* exec(`ROLLBACK TO SAVEPOINT ${MIGRATION_SAVEPOINT}`);
              yield* exec(`RELEASE SAVEPOINT ${MIGRATION_SAVEPOINT}`);
            } catch {
              // Gone with the rehearsal's transaction (a migration that ended it): a rollback never throws.
            }
          }
          next = { ok: true, value: undefined };
          break;
        case "inTransaction":
          next = { ok: true, value: savepoints.depth > 0 };
          break;
        case "runBody":
          // A body that commits would commit the rehearsal (see rehearsal-connection-guard.ts).
          next = { ok: true, value: yield { ...operation, entry: withGuardedConnection(operation.entry, dialect) } };
          break;
        default:
          next = { ok: true, value: yield operation };
      }
    } catch (error) {
      next = { ok: false, error };
    }
  }
}

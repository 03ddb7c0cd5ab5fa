/**
 * A dry run that runs: the pending migrations go through the real executor, and nothing stays. A sync manager runs them on a private in-memory copy; an async one on the live database in one
 * transaction rolled back at the end, each migration's transaction a savepoint, a body's connection refusing what would end it (the real run would report `TRANSACTION_ESCAPED`).
 */
import { tryOr } from "../shared/try-or.js";
import { driverCapabilityError, requireCapabilities, type SyncDriver } from "../core/driver.js";
import { classifySafely, isConnectionClosedError, nativeCauseOf, recordNativeError, tempFolderUnusableError, toPlain, transactionOpenError } from "../core/error-factories.js";
import { rehearsalRefusedError } from "./errors.js";
import { StepwiseError, type SchemaDifference } from "../core/errors.js";
import type { MigrationEvent } from "../core/events.js";
import { Executor } from "../core/executor.js";
import { SyncMigrationManager } from "../core/manager.js";
import { highestAppliedVersion, planUp, type MigrationPlan } from "../core/planner.js";
import { runSync } from "../core/runners.js";
import { begin, exec, rollbackQuietly, type Operation, type Step } from "../core/step.js";
import { refuseOpenTransaction } from "../core/step.js";
import type { MigrationEntry, MigrationRegistry, SqlDialect, VersionOf } from "../core/types.js";
import { findWholeRunObstacle } from "../core/whole-run-transaction.js";
import { guardSqlCalls, openContainedCopy, reachesAnotherFile, reachingStatement, statementsOf, withGuardedBodies } from "./contained-copy.js";
import { refuseClosedConnection } from "../core/manager-base.js";
import { executorOn, observeSchema, planUpOnceNoneRuns, requireManager, type SafetyNetManager } from "./schema-reader.js";
import { diffSchemas, type SchemaSnapshot } from "./schema-snapshot.js";
import { optionsObject } from "../core/options.js";
import { inFile } from "../core/sql-location.js";
import { nonTransactionalEffects } from "../shared/postgres-effects.js";

/** How one planned migration fared in the rehearsal. */
export interface RehearsalStep {
  readonly version: number;
  readonly name: string;
  readonly file: string;
  /** `not-run` for those after a failure, which the real run would not reach either. */
  readonly status: "applied" | "failed" | "not-run";
  /** Wall-clock time on the copy (a file on disk is usually slower); `null` unless applied. */
  readonly durationMs: number | null;
}

/** Rows in one table before and after the rehearsal; `null` where the table does not exist. */
export interface RowCountChange {
  readonly table: string;
  readonly before: number | null;
  readonly after: number | null;
}

/** The error the real run would throw, as plain data. */
export interface RehearsalFailure {
  /** The {@link StepwiseError} code, or `null` for an error stepwise does not know. */
  readonly code: string | null;
  readonly name: string;
  readonly message: string;
  /** The error's own fields (`version`, `file`, `direction`...). */
  readonly fields: Readonly<Record<string, unknown>>;
  /** What the migration threw, when that is what failed. */
  readonly cause: { readonly name: string; readonly message: string; readonly code: string | null } | null;
}

/** What rehearsing `up` found. Plain data, so `--json` is `JSON.stringify`. */
export interface Rehearsal {
  /** True when every planned migration applied. */
  readonly ok: boolean;
  readonly fromVersion: number;
  /** The version `up` was asked to reach. */
  readonly targetVersion: number;
  /** The version reached; below the target after a failure. */
  readonly reachedVersion: number;
  readonly steps: readonly RehearsalStep[];
  /** From the schema before to the schema after (what committed, when something failed). */
  readonly schemaChanges: readonly SchemaDifference[];
  /** Every table present before or after, by name. */
  readonly rowCounts: readonly RowCountChange[];
  readonly failure: RehearsalFailure | null;
}

/** Options for {@link rehearseUp}. */
export interface RehearseOptions<V extends number = number> {
  /** Stop after this version. Default: the latest. */
  readonly to?: V;
}

/** A plan together with its rehearsal: what {@link rehearseUp} returns. */
export type RehearsedPlan<E extends MigrationEntry = MigrationEntry> = MigrationPlan<E> & { readonly rehearsal: Rehearsal };

type Observation = { readonly schema: SchemaSnapshot; readonly rows: Readonly<Record<string, number>> };

/** A rehearsal run: its executor (whose events reach the app as `progress` only: the others would read as real applies), the durations it saw, and its report. */
function rehearsalRun(manager: SafetyNetManager, executorFor: (listeners: { onEvent: (event: MigrationEvent) => void; logger: null }) => Executor<MigrationRegistry>) {
  const durations = new Map<number, number>();
  const executor = executorFor({
    onEvent: (event) => {
      if (event.type === "migrated") durations.set(event.version, event.durationMs);
      if (event.type === "progress") manager.executor.emit(event);
    },
    logger: null,
  });
  const report = (plan: MigrationPlan, error: unknown, reachedVersion: number, before: Observation, after: Observation): Rehearsal => {
    const failure = error === undefined ? null : describeFailure(manager, error);
    const steps = plan.steps.map(({ version, name, file }): RehearsalStep => {
      const durationMs = durations.get(version) ?? null;
      return { version, name, file, status: durationMs !== null ? "applied" : version === failure?.fields.version ? "failed" : "not-run", durationMs };
    });
    const tables = [...new Set([...Object.keys(before.rows), ...Object.keys(after.rows)])].sort();
    const rowCounts = tables.map((table) => ({ table, before: before.rows[table] ?? null, after: after.rows[table] ?? null }));
    return { ok: failure === null, fromVersion: plan.fromVersion, targetVersion: plan.toVersion, reachedVersion, steps, schemaChanges: diffSchemas(before.schema, after.schema), rowCounts, failure };
  };
  return { executor, durations, report };
}

/** The error as plain data, with the native reading the runner gives an error that leaves a step. */
function describeFailure(manager: SafetyNetManager, error: unknown): RehearsalFailure {
  if (!(error instanceof Error)) return { code: null, name: "Error", message: String(error), fields: {}, cause: null };
  const nativeCause = error instanceof StepwiseError && error.nativeCode === null ? nativeCauseOf(error) : undefined;
  const classify = (value: unknown) => manager.driver.classifyError(value);
  if (nativeCause !== undefined) recordNativeError(error as StepwiseError, classifySafely(classify, nativeCause));
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) if (!["code", "name", "message", "stack", "details"].includes(key)) fields[key] = value;
  if (error instanceof StepwiseError) Object.assign(fields, toPlain(error.details));
  // A Proxy whose getters throw reads as no cause.
  const cause = tryOr((): RehearsalFailure["cause"] => {
    const { name, message, code } = error.cause instanceof Error ? (error.cause as Error & { code?: unknown }) : {};
    return error.cause instanceof Error ? { name: String(name), message: String(message), code: typeof code === "string" ? code : null } : null;
  }, null);
  return { code: error instanceof StepwiseError ? error.code : null, name: error.name, message: error.message, fields, cause };
}

/**
 * What `manager.up({ to })` would run, plus a rehearsal of it on a private copy: durations, the schema diff, row counts and any failure. What `planUp` refuses is thrown; what `up` would throw once
 * running is in `rehearsal.failure`.
 *
 * @example
 * const { steps, rehearsal } = rehearseUp(manager, { to: 5 });
 * if (!rehearsal.ok) console.log(rehearsal.failure?.message);
 */
export function rehearseUp<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, options?: RehearseOptions<VersionOf<R>>): RehearsedPlan<R[number]>;
/** Handed a manager whose methods return promises, the plan rehearsed in one transaction rolled back at the end, as a promise. */
export function rehearseUp<R extends MigrationRegistry>(manager: SafetyNetManager<R, true>, options?: RehearseOptions<VersionOf<R>>): Promise<RehearsedPlan<R[number]>>;
export function rehearseUp<Db, R extends MigrationRegistry>(
  manager: SyncMigrationManager<Db, R> | SafetyNetManager<R, true>,
  options: RehearseOptions<VersionOf<R>> = {},
): RehearsedPlan<R[number]> | Promise<RehearsedPlan<R[number]>> {
  requireManager(manager, "rehearseUp");
  if (!(manager instanceof SyncMigrationManager)) return rehearseUpAsync(manager, options);
  optionsObject(options, "rehearseUp", ["to"]);
  // It reads through the connection before any manager call would refuse a closed one.
  refuseClosedConnection(manager.driver);
  requireCapabilities(manager.driver, "rehearseUp", "snapshot");
  const to = options.to === undefined ? {} : { to: options.to };
  // The copy would show a transaction: false migration another process still runs as interrupted.
  runSync(planUpOnceNoneRuns(manager, options.to), manager.driver);
  return { ...manager.planUp(to), rehearsal: rehearseOnCopy(manager, to) };
}

function rehearseOnCopy<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, to: RehearseOptions<VersionOf<R>>): Rehearsal {
  const copy = openCopy(manager.driver);
  try {
    const { executor, durations, report } = rehearsalRun(manager, (listeners) => executorOn(manager, copy, listeners));
    const plan = planUp(manager.migrations, runSync(executor.readKeys(), copy), to);
    // What reaches another file cannot be contained, so the copy cannot tell what the real run does: refused, SQL before anything runs, a body's call when it is made.
    const refuse = (version: number, file: string) => {
      const previous = plan.steps.filter((step) => step.version < version).at(-1);
      return rehearsalRefusedError({ version, file, obstacle: "reaches-another-file", driver: manager.driver.name, rehearsableTo: previous?.version ?? null });
    };
    const reaching = plan.steps.find((step) => step.kind === "sql" && reachingStatement(step.upSql) !== null);
    if (reaching !== undefined) throw refuse(reaching.version, reaching.file);
    const before = runSync(observeSchema(manager), copy);
    let error: unknown;
    try {
      runSync(executor.up(to), copy);
    } catch (thrown) {
      error = thrown;
    }
    if (error instanceof StepwiseError && error.is("MIGRATION_FAILED") && reachesAnotherFile(error.cause) !== null) throw refuse(error.details.version, error.details.file);
    if (!isConnectionClosedError(error)) return report(plan, error, runSync(executor.status(), copy).currentVersion, before, runSync(observeSchema(manager), copy));
    // The migration closed the copy: what the real run leaves is read from a second copy brought to that version.
    const reached = Math.max(plan.fromVersion, ...durations.keys());
    const second = openCopy(manager.driver);
    try {
      if (reached > plan.fromVersion) runSync(executorOn(manager, second).up({ to: reached }), second);
      return report(plan, error, reached, before, runSync(observeSchema(manager), second));
    } finally {
      second.close?.();
    }
  } finally {
    copy.close?.();
  }
}

/** A contained copy of the driver's database; the snapshot's refusals name `rehearseUp`. */
function openCopy<Db>(driver: SyncDriver<Db>): SyncDriver<Db> {
  try {
    return openContainedCopy(driver, driver.snapshot!());
  } catch (error) {
    if (!(error instanceof StepwiseError)) throw error;
    if (error.is("TRANSACTION_OPEN")) throw transactionOpenError({ ...error.details, operation: "rehearseUp", cause: error.cause });
    throw error.is("TEMP_FOLDER_UNUSABLE") ? tempFolderUnusableError({ ...error.details, operation: "rehearseUp", cause: error.cause }) : error;
  }
}

/**
 * {@link rehearseUp} for a manager whose methods return promises, in a transaction rolled back at the end.
 *
 * @throws `DRIVER_CAPABILITY_MISSING` (`savepoints`) when the driver cannot roll back a whole run (D1); `REHEARSAL_REFUSED`; `TRANSACTION_OPEN`; `DATABASE_LOCKED`.
 */
export async function rehearseUpAsync<R extends MigrationRegistry>(manager: SafetyNetManager<R, true>, options: RehearseOptions<VersionOf<R>> = {}): Promise<RehearsedPlan<R[number]>> {
  optionsObject(options, "rehearseUp", ["to"]);
  const { capabilities, name } = manager.driver;
  if (!capabilities.savepoints || capabilities.atomicBatch) {
    throw driverCapabilityError({ driver: name, capability: "savepoints", operation: "rehearseUp", fix: "Rehearse on a copy of the database instead." });
  }
  return manager.run(rehearseInTransaction(manager, options.to), { exclusive: true }) as Promise<RehearsedPlan<R[number]>>;
}

function* rehearseInTransaction(manager: SafetyNetManager, to: number | undefined): Step<RehearsedPlan> {
  yield* refuseOpenTransaction(manager.driver.name, "rehearseUp");
  const { settings, dialect } = manager.executor;
  const plan = yield* planUpOnceNoneRuns(manager, to);
  const obstacle = findWholeRunObstacle(plan.steps, yield* dialect.foreignKeysEnforced(), "up", dialect);
  if (obstacle) {
    const before = plan.steps.slice(0, plan.steps.indexOf(obstacle.entry)).at(-1);
    throw rehearsalRefusedError({ version: obstacle.entry.version, file: obstacle.entry.file, obstacle: obstacle.obstacle, driver: settings.driverName, rehearsableTo: before?.version ?? null });
  }
  // What a rollback leaves would stay on the live database: refused before anything runs, as the copy's rehearsal refuses what reaches another file.
  for (const [index, entry] of plan.steps.entries()) {
    const [effect] = dialect.name === "postgres" && entry.kind === "sql" ? nonTransactionalEffects(entry.upSql) : [];
    if (effect === undefined) continue;
    const location = inFile(entry, "up", effect);
    const rehearsableTo = plan.steps[index - 1]?.version ?? null;
    throw rehearsalRefusedError({ version: entry.version, file: entry.file, obstacle: "non-transactional", driver: settings.driverName, rehearsableTo, location, effect: effect.effect });
  }
  const { executor, report } = rehearsalRun(manager, (listeners) => new Executor(manager.migrations, { ...settings, ...listeners }));
  yield* begin("immediate");
  try {
    const before = yield* observeSchema(manager);
    let error: unknown;
    try {
      yield* inRehearsalTransaction(executor.up(to === undefined ? {} : { to }), dialect.name);
    } catch (thrown) {
      error = thrown;
    }
    const reachedVersion = (yield* executor.store.exists()) ? highestAppliedVersion(yield* executor.store.readAll()) : 0;
    return { ...plan, rehearsal: report(plan, error, reachedVersion, before, yield* observeSchema(manager)) };
  } finally {
    yield* rollbackQuietly();
  }
}

const SAVEPOINT = "stepwise_rehearsal";
/**
 * What a real COMMIT checks and a savepoint's release does not: PostgreSQL's deferred constraints (a `DEFERRABLE INITIALLY DEFERRED` foreign key or unique constraint, a constraint trigger), fired
 * here so a migration that breaks one fails as its own COMMIT would. The check's savepoint, rolled back, puts back the constraints' deferred mode for the migrations after it, and the events it
 * fired are pending again, as they would be checked again at the rehearsal's end.
 */
const CHECK_DEFERRED = `SAVEPOINT ${SAVEPOINT}_commit; SET CONSTRAINTS ALL IMMEDIATE; ROLLBACK TO SAVEPOINT ${SAVEPOINT}_commit; RELEASE SAVEPOINT ${SAVEPOINT}_commit; `;

/** Runs `step` inside the open transaction, its own transactions turned into savepoints and a TypeScript body handed a guarded connection. */
function* inRehearsalTransaction<T>(step: Step<T>, dialect: SqlDialect): Step<T> {
  const guard = dialect === "sqlite" ? guardSqliteConnection : guardPostgresConnection;
  let depth = 0;
  let next: { ok: true; value: unknown } | { ok: false; error: unknown } = { ok: true, value: undefined };
  for (;;) {
    const result: IteratorResult<Operation, T> = next.ok ? step.next(next.value) : step.throw(next.error);
    if (result.done) return result.value;
    const operation: Operation = result.value;
    try {
      let value: unknown;
      if (operation.op === "begin" || operation.op === "commit") {
        yield* exec(operation.op === "begin" ? `SAVEPOINT ${SAVEPOINT}` : `${dialect === "postgres" ? CHECK_DEFERRED : ""}RELEASE SAVEPOINT ${SAVEPOINT}`);
        depth += operation.op === "begin" ? 1 : -1;
      } else if (operation.op === "rollback" && depth > 0) {
        depth--;
        try {
          yield* exec(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
          yield* exec(`RELEASE SAVEPOINT ${SAVEPOINT}`);
        } catch {
          // Gone with the rehearsal's transaction: a rollback never throws.
        }
      } else if (operation.op === "inTransaction") value = depth > 0;
      else if (operation.op === "runBody") value = yield { ...operation, entry: withGuardedBodies(operation.entry, guard) };
      else if (operation.op !== "rollback") value = yield operation;
      next = { ok: true, value };
    } catch (error) {
      next = { ok: false, error };
    }
  }
}

/** Whether `sql` holds a statement that ends or replaces the transaction it runs in (a savepoint's `ROLLBACK TO` does not). */
function endsTransaction(sql: string, dialect: SqlDialect): boolean {
  const postgres = dialect === "postgres";
  for (const { words } of statementsOf(sql, dialect)) {
    const [first, second, third] = words;
    const rollbackTo = second === "TO" || ((second === "TRANSACTION" || (postgres && second === "WORK")) && third === "TO");
    if (first === "COMMIT" || first === "END" || (first === "ROLLBACK" && !rollbackTo && !(postgres && second === "PREPARED"))) return true;
    if (postgres && (first === "ABORT" || (first === "PREPARE" && second === "TRANSACTION"))) return true;
  }
  return false;
}

/** A statement a migration body sent during a rehearsal would have ended the rehearsal's transaction. */
export class RehearsalStatementRefusedError extends Error {
  override readonly name: string = "RehearsalStatementRefusedError";

  constructor(readonly sql: string) {
    super(`the rehearsal refused a statement that ends its transaction (${sql.trim().slice(0, 80)}); the real run would report TRANSACTION_ESCAPED`);
  }
}

const refuseEnding = (dialect: SqlDialect) => (sql: string) => (endsTransaction(sql, dialect) ? new RehearsalStatementRefusedError(sql) : null);
/** libsql-client's transaction has its own ends. */
const TRANSACTION_ENDS = { commit: () => Promise.reject(new RehearsalStatementRefusedError("COMMIT")), rollback: () => Promise.reject(new RehearsalStatementRefusedError("ROLLBACK")) };
const guardSqliteConnection = <C extends object>(client: C): C => guardSqlCalls(client, refuseEnding("sqlite"), TRANSACTION_ENDS);
/** pg's `query`, by promise or by callback. */
const guardPostgresConnection = <C extends object>(client: C): C => guardSqlCalls(client, refuseEnding("postgres"), {}, new Set(["query"]));

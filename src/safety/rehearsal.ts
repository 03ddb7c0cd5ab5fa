/**
 * A dry run that actually runs: the pending migrations go through the same executor a real `up` uses,
 * so the report (durations, schema diff, row counts, failure) is what the real run would produce, and
 * nothing stays. Two ways, by the manager:
 *
 * - A sync manager (SQLite): on a private in-memory copy of the database, from the driver's `snapshot`
 *   primitive, which reads the database through SQLite (a consistent snapshot, WAL content included)
 *   without writing, whatever the library; nothing is written to the file, not even by `transaction:
 *   false` migrations. Inside the app's own transaction the copy holds what that connection reads, its
 *   uncommitted writes included; a driver that cannot copy those (capability `snapshotInTransaction`)
 *   refuses with `TRANSACTION_OPEN`.
 * - A manager whose methods return promises (`stepwise-migrate/pg`'s, an `AsyncMigrationManager`): on
 *   the live database inside one transaction rolled back at the end. PostgreSQL's DDL is
 *   transactional, so every statement of a transactional migration is undone by that rollback. Each
 *   migration's own transaction becomes a savepoint of it ({@link inRehearsalTransaction}), so a
 *   failure undoes that migration alone and the migrations before it stay visible to the report, as
 *   they would stay committed. A plan holding a `transaction: false` migration (which must run outside
 *   any transaction, such as `CREATE INDEX CONCURRENTLY`) or one that switches foreign keys off is
 *   refused before anything runs (`REHEARSAL_REFUSED`). The call holds the run lock (on PostgreSQL)
 *   for its whole length, and the locks its DDL takes until the rollback: other sessions touching
 *   those tables wait for the rehearsal, as they would for the real run.
 *
 * What keeps the rolled-back rehearsal from committing: a TypeScript body that sends `COMMIT` (or
 * `END`, `ABORT`, `ROLLBACK`, `PREPARE TRANSACTION`) would end the rehearsal's transaction, and with
 * it the guarantee that nothing stays. In a real run the escape guard catches such a body after the
 * fact (`TRANSACTION_ESCAPED`); a rehearsal cannot wait until after, so the body gets its connection
 * through a guard that refuses those statements before they reach the server. The body then fails as
 * a migration (`MIGRATION_FAILED`, its cause {@link RehearsalStatementRefusedError}), where the real
 * run would report the escape. On SQLite the same holds for the SQLite libraries' own calls (`exec`,
 * `prepare`, `run`, Bun's `query`, sql.js's `each` and `iterateStatements`, node:sqlite's tag store,
 * libsql-client's `execute`, `executeMultiple`, `batch` and its transaction's `commit()` and
 * `rollback()`): a body's `COMMIT` there would commit the rehearsal's work, history rows included, to
 * the live database. SQL migrations need no guard: `gen` refuses transaction control in a
 * transactional SQL migration, and a rehearsal never runs a `transaction: false` one.
 */
import { stepwiseTableNames } from "../core/checksum-repair-log.js";
import { driverCapabilityError, requireCapabilities, type SyncDriver } from "../core/driver.js";
import { tempFolderUnusableError, transactionOpenError, isConnectionClosedError } from "../core/error-factories.js";
import { StepwiseError } from "../core/errors.js";
import type { MigrationEvent } from "../core/events.js";
import { Executor } from "../core/executor.js";
import { SyncMigrationManager } from "../core/manager.js";
import { classifySafely, nativeCauseOf, recordNativeError } from "../core/error-factories.js";
import { CALLS, text } from "../core/option-text.js";
import { highestAppliedVersion, planUp, type MigrationPlan } from "../core/planner.js";
import { runSync } from "../core/runners.js";
import { begin, exec, queryValue, rollbackQuietly, type Operation, type Step } from "../core/step.js";
import { refuseOpenTransaction } from "../core/transaction-open.js";
import type { MigrationEntry, MigrationRegistry, SqlDialect, VersionOf } from "../core/types.js";
import { findWholeRunObstacle, type WholeRunObstacle } from "../core/whole-run-transaction.js";
import { containCopy, proxyCalls, sqlTextOf, statementsOf, withGuardedBodies, type ConnectionCall } from "./contained-copy.js";
import { schemaReaderOf, type SafetyNetManager } from "./schema-reader.js";
import { countRows, diffSchemas, readSchema, type SchemaDifference, type SchemaSnapshot } from "./schema-snapshot.js";

/** How one planned migration fared in the rehearsal. */
export interface RehearsalStep {
  readonly version: number;
  readonly name: string;
  readonly file: string;
  /** `not-run` for those after a failure, which the real run would not reach either. */
  readonly status: "applied" | "failed" | "not-run";
  /** Wall-clock time on the in-memory copy; a file on disk is usually slower. `null` unless applied. */
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
  /** The error's own fields (`version`, `file`, `direction`, `rolledBack`...). */
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
  /** The version the copy reached; below the target after a failure. */
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

/** What a rehearsal observed, wherever it ran: on a private copy (SQLite) or in a transaction rolled back after (PostgreSQL). */
export interface RehearsalObservations {
  readonly plan: MigrationPlan;
  /** Each applied version's duration, from its `migrated` event. */
  readonly durations: ReadonlyMap<number, number>;
  readonly failure: RehearsalFailure | null;
  readonly reachedVersion: number;
  readonly schemaBefore: SchemaSnapshot;
  readonly schemaAfter: SchemaSnapshot;
  readonly rowsBefore: Readonly<Record<string, number>>;
  readonly rowsAfter: Readonly<Record<string, number>>;
}

/** The {@link Rehearsal} report of what a rehearsal observed: one shape for every driver. */
export function composeRehearsal(observed: RehearsalObservations): Rehearsal {
  const { plan, durations, failure, rowsBefore, rowsAfter } = observed;
  const failedVersion = typeof failure?.fields.version === "number" ? failure.fields.version : null;
  const steps = plan.steps.map((entry): RehearsalStep => {
    const durationMs = durations.get(entry.version) ?? null;
    const status = durationMs !== null ? "applied" : entry.version === failedVersion ? "failed" : "not-run";
    return { version: entry.version, name: entry.name, file: entry.file, status, durationMs };
  });
  const tables = [...new Set([...Object.keys(rowsBefore), ...Object.keys(rowsAfter)])].sort();
  return {
    ok: failure === null,
    fromVersion: plan.fromVersion,
    targetVersion: plan.toVersion,
    reachedVersion: observed.reachedVersion,
    steps,
    schemaChanges: diffSchemas(observed.schemaBefore, observed.schemaAfter),
    rowCounts: tables.map((table) => ({ table, before: rowsBefore[table] ?? null, after: rowsAfter[table] ?? null })),
    failure,
  };
}

/**
 * The event options of a rehearsal's run: each applied version's duration goes to `durations`, and
 * only `progress` reaches the app (so a long rehearsal can show a bar); the other events would read
 * as real applies.
 */
function rehearsalEvents(manager: SafetyNetManager, durations: Map<number, number>): { onEvent: (event: MigrationEvent) => void; logger: null } {
  const onEvent = (event: MigrationEvent) => {
    if (event.type === "migrated") durations.set(event.version, event.durationMs);
    if (event.type === "progress") manager.executor.emit(event);
  };
  return { onEvent, logger: null };
}

/** The error a rehearsed run met, as the plain data of {@link RehearsalFailure}. */
export function describeFailure(error: unknown): RehearsalFailure {
  if (!(error instanceof Error)) return { code: null, name: "Error", message: String(error), fields: {}, cause: null };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key !== "code" && key !== "name" && key !== "message" && key !== "stack" && key !== "details") fields[key] = value;
  }
  if (error instanceof StepwiseError) Object.assign(fields, error.details);
  return { code: error instanceof StepwiseError ? error.code : null, name: error.name, message: error.message, fields, cause: describeCause(error.cause) };
}

/** What the migration threw, as data; `null` when it is no `Error` or cannot be read (a Proxy whose getters throw). */
function describeCause(cause: unknown): RehearsalFailure["cause"] {
  try {
    if (!(cause instanceof Error)) return null;
    const code = (cause as Error & { code?: unknown }).code;
    return { name: String(cause.name), message: String(cause.message), code: typeof code === "string" ? code : null };
  } catch {
    return null;
  }
}

/**
 * What `manager.up({ to })` would run, plus a rehearsal of it on a private copy of `manager.db`:
 * durations, the schema diff, row counts and any failure. The database itself is only read.
 * Refusals that `planUp` throws are thrown; anything `up` would throw once running (an unmanaged
 * database, a failing migration, a foreign key violation) is reported in {@link Rehearsal.failure}
 * instead. The rehearsal's `progress` events reach the manager's `onEvent` and logger, so a long
 * rehearsal can show a bar; its other events would read as real applies and are kept back.
 *
 * This replaces `manager.planUp({ rehearse: true })`: as a method, the rehearsal code would be in
 * the bundle of every app that migrates, whether or not it ever rehearses.
 *
 * @example
 * const { steps, rehearsal } = rehearseUp(manager, { to: 5 });
 * if (!rehearsal.ok) console.log(rehearsal.failure?.message);
 */
export function rehearseUp<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, options?: RehearseOptions<VersionOf<R>>): RehearsedPlan<R[number]>;
/** Handed a manager whose methods return promises (`stepwise-migrate/pg`, `stepwise-migrate/libsql-client`, `AsyncMigrationManager`): the plan rehearsed in one transaction rolled back at the end, as a promise. */
export function rehearseUp<R extends MigrationRegistry>(manager: SafetyNetManager<R, true>, options?: RehearseOptions<VersionOf<R>>): Promise<RehearsedPlan<R[number]>>;
export function rehearseUp<Db, R extends MigrationRegistry>(
  manager: SyncMigrationManager<Db, R> | SafetyNetManager<R, true>,
  options: RehearseOptions<VersionOf<R>> = {},
): RehearsedPlan<R[number]> | Promise<RehearsedPlan<R[number]>> {
  if (!(manager instanceof SyncMigrationManager)) return rehearseUpAsync(manager, options);
  requireCapabilities(manager.driver, "rehearseUp", "snapshot");
  const to = options.to === undefined ? {} : { to: options.to };
  const plan = manager.planUp(to);
  return { ...plan, rehearsal: rehearse(manager, to) };
}

function rehearse<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, to: RehearseOptions<VersionOf<R>>): Rehearsal {
  const copyDriver = openDriverCopy(manager.driver);
  try {
    const durations = new Map<number, number>();
    const rehearsal = manager.withDriver(copyDriver, rehearsalEvents(manager, durations));
    const plan = rehearsal.planUp(to);
    const exclude = { excludeTables: stepwiseTableNames(manager.tableName) };
    const schemaBefore = runSync(readSchema(exclude), copyDriver);
    const rowsBefore = runSync(countRows(schemaBefore), copyDriver);

    let failure: RehearsalFailure | null = null;
    let copyClosed = false;
    try {
      rehearsal.up(to);
    } catch (error) {
      failure = describeFailure(error);
      copyClosed = isConnectionClosedError(error);
    }

    // A migration that closed the copy's connection took the copy with it. What the real run leaves
    // (the migrations before it, each committed) is read from a second copy brought to that version.
    const reachedVersion = copyClosed ? Math.max(plan.fromVersion, ...durations.keys()) : rehearsal.currentVersion();
    const afterDriver = copyClosed ? replayedCopy(manager, plan.fromVersion, reachedVersion) : copyDriver;
    let schemaAfter: typeof schemaBefore;
    let rowsAfter: typeof rowsBefore;
    try {
      schemaAfter = runSync(readSchema(exclude), afterDriver);
      rowsAfter = runSync(countRows(schemaAfter), afterDriver);
    } finally {
      if (afterDriver !== copyDriver) afterDriver.close?.();
    }
    return composeRehearsal({ plan, durations, failure, reachedVersion, schemaBefore, schemaAfter, rowsBefore, rowsAfter });
  } finally {
    copyDriver.close?.();
  }
}

/** A fresh private copy of `manager`'s database with the migrations after `fromVersion` up to `version` applied. */
function replayedCopy<Db, R extends MigrationRegistry>(manager: SyncMigrationManager<Db, R>, fromVersion: number, version: number): SyncDriver<Db> {
  const copy = openDriverCopy(manager.driver);
  try {
    if (version > fromVersion) manager.withDriver(copy, { onEvent: undefined, logger: null }).up({ to: version as VersionOf<R> });
    return copy;
  } catch (error) {
    copy.close?.();
    throw error;
  }
}

/**
 * A private copy of the driver's database, through its `snapshot` capability, with the
 * connection settings that change what migrations do copied over (they are not stored in the file).
 */
function openDriverCopy<Db>(driver: SyncDriver<Db>): SyncDriver<Db> {
  const image = asRehearsal(() => driver.snapshot!());
  // A WAL-mode header makes SQLite look for a `-wal` file an in-memory database cannot have.
  if (image.length > 19 && image[18] === 2 && image[19] === 2) {
    image[18] = 1;
    image[19] = 1;
  }
  // Contained: a migration there may not reach another file (contained-copy.ts).
  const copy = containCopy(asRehearsal(() => driver.openSnapshot!(image)));
  try {
    for (const setting of ["foreign_keys", "recursive_triggers"]) {
      const on = runSync(queryValue(`PRAGMA ${setting}`), driver) === 1;
      runSync(exec(`PRAGMA ${setting} = ${on ? "ON" : "OFF"}`), copy);
    }
  } catch (error) {
    // A copy on a temporary file (libsql) would outlive the rehearsal otherwise.
    copy.close?.();
    throw error;
  }
  return copy;
}

/**
 * Runs a snapshot primitive, naming `rehearseUp` in its refusals (the primitive knows only that it
 * was asked for a snapshot), so the message tells the caller what to call again.
 */
function asRehearsal<T>(primitive: () => T): T {
  try {
    return primitive();
  } catch (error) {
    if (!(error instanceof StepwiseError)) throw error;
    if (error.is("TRANSACTION_OPEN")) throw transactionOpenError({ driver: error.details.driver, operation: "rehearseUp", cause: error.cause });
    if (error.is("TEMP_FOLDER_UNUSABLE")) {
      throw tempFolderUnusableError({ folder: error.details.folder, systemCode: error.details.systemCode, operation: "rehearseUp", cause: error.cause });
    }
    throw error;
  }
}

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
  const executor = new Executor(manager.migrations, {
    ...settings,
    // A SQL migration sent with its history writes and COMMIT as one request (pg) would commit the
    // rehearsal's transaction: each statement goes on its own here, its commit a savepoint's release.
    capabilities: { ...settings.capabilities, scriptWithHistory: false },
    ...rehearsalEvents(manager, durations),
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
 * rules (see the module note). Every other operation passes through unchanged.
 */
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
      switch (operation.op) {
        case "begin":
          yield* exec(`SAVEPOINT ${MIGRATION_SAVEPOINT}`);
          depth++;
          break;
        case "commit":
          yield* exec(`RELEASE SAVEPOINT ${MIGRATION_SAVEPOINT}`);
          depth--;
          break;
        case "rollback":
          if (depth > 0) {
            depth--;
            try {
              yield* exec(`ROLLBACK TO SAVEPOINT ${MIGRATION_SAVEPOINT}`);
              yield* exec(`RELEASE SAVEPOINT ${MIGRATION_SAVEPOINT}`);
            } catch {
              // Gone with the rehearsal's transaction (a migration that ended it): a rollback never throws.
            }
          }
          break;
        case "inTransaction":
          value = depth > 0;
          break;
        case "runBody":
          // A body that commits would commit the rehearsal.
          value = yield { ...operation, entry: withGuardedBodies(operation.entry, guard) };
          break;
        default:
          value = yield operation;
      }
      next = { ok: true, value };
    } catch (error) {
      next = { ok: false, error };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The guard on a TypeScript body's connection during a rolled-back rehearsal (see the module note).

/** Statements that end or replace the transaction they run in (a savepoint's `ROLLBACK TO` does not). */
function endsTransaction(sql: string, dialect: SqlDialect): boolean {
  for (const { words } of statementsOf(sql, dialect)) {
    const [first, second, third] = words;
    if (dialect === "sqlite") {
      // SQLite: COMMIT, END and ROLLBACK [TRANSACTION] without TO; BEGIN inside a transaction fails by itself.
      if (first === "COMMIT" || first === "END") return true;
      if (first === "ROLLBACK" && second !== "TO" && !(second === "TRANSACTION" && third === "TO")) return true;
      continue;
    }
    if (first === "COMMIT" || first === "END" || first === "ABORT") return true;
    if (first === "PREPARE" && second === "TRANSACTION") return true;
    if (first === "ROLLBACK" && second !== "TO" && !((second === "WORK" || second === "TRANSACTION") && third === "TO") && second !== "PREPARED") return true;
  }
  return false;
}

/** A statement a migration body sent during a rehearsal would have ended the rehearsal's transaction. */
export class RehearsalStatementRefusedError extends Error {
  override readonly name: string = "RehearsalStatementRefusedError";
  /** The statement's text, as the body sent it. */
  readonly sql: string;

  constructor(sql: string) {
    super(`the rehearsal refused a statement that ends its transaction (${sql.trim().slice(0, 80)}); the real run would report TRANSACTION_ESCAPED`);
    this.sql = sql;
  }
}

/**
 * The SQLite libraries' calls that run or prepare SQL and return (or throw) at once; sql.js's `each`
 * and `iterateStatements` run SQL as `exec` does.
 */
const SQLITE_SYNC_CALLS: ReadonlySet<PropertyKey> = new Set(["exec", "prepare", "run", "query", "each", "iterateStatements"]);
/** node:sqlite's tag store's calls, each a tagged template (only on the store: elsewhere `get` is no SQL call). */
const TAG_STORE_CALLS: ReadonlySet<PropertyKey> = new Set(["run", "get", "all", "iterate"]);
/** libsql-client's calls that run SQL and return a promise; `batch` takes a list of statements. */
const SQLITE_ASYNC_CALLS = new Set<PropertyKey>(["execute", "executeMultiple", "batch"]);
/** libsql-client's transaction's own ends: the body receives the transaction itself. */
const SQLITE_ENDING_CALLS: ReadonlyMap<PropertyKey, string> = new Map([
  ["commit", "COMMIT"],
  ["rollback", "ROLLBACK"],
]);

/** The statement of a call's first argument that ends the transaction, if any (each of `batch`'s list). */
function endingText(first: unknown): string | null {
  const texts = Array.isArray(first) && !("raw" in first) ? first.map(sqlTextOf) : [sqlTextOf(first)];
  return texts.find((text) => text !== null && endsTransaction(text, "sqlite")) ?? null;
}

/** `client` with its SQLite calls refusing statements that end the transaction; everything else is the client's own. */
function guardSqliteConnection<C extends object>(client: C, syncCalls: ReadonlySet<PropertyKey> = SQLITE_SYNC_CALLS): C {
  return proxyCalls(client, (property, call) => {
    const ending = SQLITE_ENDING_CALLS.get(property);
    if (ending !== undefined) return () => Promise.reject(new RehearsalStatementRefusedError(ending));
    // node:sqlite's tag store prepares its statements itself, past this proxy: guarded as well.
    if (property === "createTagStore") return (...args) => guardSqliteConnection(call(...args) as object, TAG_STORE_CALLS);
    const returnsPromise = SQLITE_ASYNC_CALLS.has(property);
    if (!syncCalls.has(property) && !returnsPromise) return undefined;
    return (...args) => {
      const text = endingText(args[0]);
      if (text === null) return call(...args);
      const error = new RehearsalStatementRefusedError(text);
      if (returnsPromise) return Promise.reject(error);
      throw error;
    };
  });
}

/** `client` with a `query` that refuses statements ending the transaction (pg, by promise or callback); everything else is the client's own. */
function guardPostgresConnection<C extends object>(client: C): C {
  return proxyCalls(client, (property, call): ConnectionCall | undefined => {
    if (property !== "query") return undefined;
    return (...args) => {
      const text = sqlTextOf(args[0]);
      if (text === null || !endsTransaction(text, "postgres")) return call(...args);
      const error = new RehearsalStatementRefusedError(text);
      const callback = args[args.length - 1];
      if (typeof callback !== "function") return Promise.reject(error);
      queueMicrotask(() => (callback as (error: Error) => void)(error));
      return undefined;
    };
  });
}

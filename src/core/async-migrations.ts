/**
 * The sync API's refusal of a registry that holds async migrations. A sync runner cannot keep a
 * transaction open across an await, so such a registry is refused when the manager is built, before
 * anything is read or written, rather than half way through a run when the first async body returns
 * its promise.
 */
import { StepwiseError } from "./errors.js";
import { isAsyncMigration, type MigrationEntry, type MigrationRegistry } from "./types.js";

/**
 * The sync `migrate`/`MigrationManager` was given a registry in which `gen` marked migrations async.
 * Nothing was read or written. Use the same driver entry's `migrateAsync` or `AsyncMigrationManager`.
 */
export class AsyncMigrationsNeedAsyncRunnerError extends StepwiseError {
  override readonly name: string = "AsyncMigrationsNeedAsyncRunnerError";
  /** The async migrations' versions, ascending. */
  declare readonly versions: readonly number[];
  /** Their files, project-relative, in the order of {@link versions}. */
  declare readonly files: readonly string[];
  /** The driver whose sync API refused, such as `"better-sqlite3"`. */
  declare readonly driver: string;
  /** The package entry whose async API runs them, such as `"stepwise-migrate/better-sqlite3"`. */
  declare readonly entry: string;
  /** What to write instead, snippet-sized: the import and the awaited call. */
  declare readonly fix: string;

  constructor(fields: { versions: readonly number[]; files: readonly string[]; driver: string }) {
    const list = fields.versions.map((version, index) => `${version} (${fields.files[index]})`).join(", ");
    const entry = `stepwise-migrate/${fields.driver}`;
    const fix = `import { migrateAsync } from "${entry}";\nawait migrateAsync(db, migrations);`;
    super(
      "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER",
      `The registry holds async migrations: ${list}. The ${fields.driver} driver's sync migrate() and MigrationManager cannot keep a transaction open across an await, ` +
        `so nothing was run. Use the same entry's async API:\n\n` +
        `${fix.replace(/^/gm, "  ")}\n\n` +
        `or await the methods of new AsyncMigrationManager(db, migrations) from "${entry}". (The stepwise CLI picks the async runner by itself.)`,
    );
    this.versions = fields.versions;
    this.files = fields.files;
    this.driver = fields.driver;
    this.entry = entry;
    this.fix = fix;
  }
}

/** The entries `gen` marked async, in version order. */
export function findAsyncMigrations(migrations: MigrationRegistry): MigrationEntry[] {
  return migrations.filter(isAsyncMigration).sort((a, b) => a.version - b.version);
}

/**
 * Throws {@link AsyncMigrationsNeedAsyncRunnerError} when `migrations` holds an async migration.
 * `ownFix` is the driver's own advice where its entry has no async API (Durable Objects: synchronous
 * bodies; see `Driver.asyncBodyFix`): the error then names that instead of `migrateAsync`.
 */
export function refuseAsyncMigrations(migrations: MigrationRegistry, driver: string, ownFix?: string): void {
  const found = findAsyncMigrations(migrations);
  if (found.length === 0) return;
  const error = new AsyncMigrationsNeedAsyncRunnerError({ versions: found.map((entry) => entry.version), files: found.map((entry) => entry.file), driver });
  if (ownFix !== undefined) {
    error.message = `Async migrations ${error.files.join(", ")}: the ${driver} driver cannot keep its transaction open across an await, so nothing was run; ${ownFix}`;
    Object.assign(error, { fix: ownFix });
  }
  throw error;
}

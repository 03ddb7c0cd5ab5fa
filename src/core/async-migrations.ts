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
export function asyncMigrationsNeedAsyncRunnerError(fields: {
  versions: readonly number[];
  files: readonly string[];
  driver: string;
  ownFix?: string;
}): StepwiseError<"ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER"> {
  if (fields.ownFix !== undefined) {
    return new StepwiseError(
      "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER",
      `Async migrations ${fields.files.join(", ")}: the ${fields.driver} driver cannot keep its transaction open across an await, so nothing was run; ${fields.ownFix}`,
      { versions: fields.versions, files: fields.files, driver: fields.driver, entry: `stepwise-migrate/${fields.driver}`, fix: fields.ownFix },
    );
  }
  const list = fields.versions.map((version, index) => `${version} (${fields.files[index]})`).join(", ");
  const entry = `stepwise-migrate/${fields.driver}`;
  const fix = `import { migrateAsync } from "${entry}";\nawait migrateAsync(db, migrations);`;
  return new StepwiseError(
    "ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER",
    `The registry holds async migrations: ${list}. The ${fields.driver} driver's sync migrate() and MigrationManager cannot keep a transaction open across an await, ` +
      `so nothing was run. Use the same entry's async API:\n\n` +
      `${fix.replace(/^/gm, "  ")}\n\n` +
      `or await the methods of new AsyncMigrationManager(db, migrations) from "${entry}". (The stepwise CLI picks the async runner by itself.)`,
    { versions: fields.versions, files: fields.files, driver: fields.driver, entry, fix },
  );
}

/** The entries `gen` marked async, in version order. */
export function findAsyncMigrations(migrations: MigrationRegistry): MigrationEntry[] {
  return migrations.filter(isAsyncMigration).sort((a, b) => a.version - b.version);
}

/**
 * Throws `ASYNC_MIGRATIONS_NEED_ASYNC_RUNNER` when `migrations` holds an async migration.
 * `ownFix` is the driver's own advice where its entry has no async API (Durable Objects: synchronous
 * bodies; see `Driver.asyncBodyFix`): the error then names that instead of `migrateAsync`.
 */
export function refuseAsyncMigrations(migrations: MigrationRegistry, driver: string, ownFix?: string): void {
  const found = findAsyncMigrations(migrations);
  if (found.length === 0) return;
  throw asyncMigrationsNeedAsyncRunnerError({ versions: found.map((entry) => entry.version), files: found.map((entry) => entry.file), driver, ownFix });
}

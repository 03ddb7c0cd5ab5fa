/**
 * Hand-built registries, as an older `gen` or a hand edit could have written them: the runtime is the
 * backstop for what `gen` refuses, so hostile tests build entries directly instead of generating
 * them. Every migration is `step_<version>` in `migrations/<version, 3 digits>_step_<version>.<ext>`
 * with checksum `checksum-<version>`, so tests can name the file an error must carry.
 */
import assert from "node:assert/strict";
import { factsOf } from "./stepwise-failure.js";
import type { AsyncMigrationMark, MigrationDefinition, MigrationEntry, ModuleMigrationEntry, SqlMigrationEntry } from "../../src/core/types.js";

/**
 * What every driver's native connection offers a migration body: `exec` of statements without bound
 * values (better-sqlite3, node:sqlite, bun:sqlite, libsql and sql.js all spell it so) and `close`.
 * A body written against this runs on every driver of the matrix.
 */
export interface PortableConnection {
  exec(sql: string): unknown;
  close(): unknown;
}

/** The file a hand-built entry claims, as errors name it. */
export function entryFile(version: number, extension: "sql" | "ts"): string {
  return `migrations/${String(version).padStart(3, "0")}_step_${version}.${extension}`;
}

/** A SQL entry; `reversible` follows `downSql` unless overridden. */
export function sqlEntry(version: number, upSql: string, overrides: Partial<SqlMigrationEntry> = {}): SqlMigrationEntry {
  return {
    kind: "sql",
    version,
    name: `step_${version}`,
    file: entryFile(version, "sql"),
    description: null,
    checksum: `checksum-${version}`,
    reversible: overrides.downSql != null,
    transaction: true,
    disableForeignKeys: false,
    upSql,
    downSql: null,
    ...overrides,
  };
}

/**
 * A SQL entry with a name of its own: `migrations/<version, 3 digits>_<name>.sql`, checksum
 * `sha256:<version>`, reversible exactly when it has a `downSql`. What the driver-suite tests build.
 */
export function namedSqlEntry(version: number, name: string, upSql: string, downSql: string | null = null, overrides: Partial<SqlMigrationEntry> = {}): SqlMigrationEntry {
  return sqlEntry(version, upSql, { name, file: `migrations/${String(version).padStart(3, "0")}_${name}.sql`, checksum: `sha256:${version}`, downSql, reversible: downSql !== null, ...overrides });
}

/**
 * A TypeScript entry around `module`; `transaction`, `disableForeignKeys` and `reversible` follow the
 * module as `gen` reads them. Bodies get {@link PortableConnection} unless a test names its library.
 */
export function tsEntry<Db = PortableConnection>(version: number, module: MigrationDefinition<Db>, overrides: Partial<ModuleMigrationEntry> = {}): ModuleMigrationEntry {
  return {
    kind: "ts",
    version,
    name: `step_${version}`,
    file: entryFile(version, "ts"),
    description: null,
    checksum: `checksum-${version}`,
    reversible: typeof module.down === "function",
    transaction: module.transaction ?? true,
    disableForeignKeys: module.disableForeignKeys ?? false,
    module,
    ...overrides,
  };
}

/** {@link tsEntry} with the mark `gen` writes on a migration whose `up` or `down` is async. */
export function asyncTsEntry<Db = PortableConnection>(version: number, module: MigrationDefinition<Db>, overrides: Partial<ModuleMigrationEntry> = {}): ModuleMigrationEntry & AsyncMigrationMark {
  return { ...tsEntry(version, module, overrides), async: true };
}

/** Migration 1 of most hostile registries: a table later migrations write to, reversible. */
export const createItems: SqlMigrationEntry = sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);", { downSql: "DROP TABLE items;" });

/** The error `action` throws, as a record of its facts ({@link factsOf}); fails the test when it does not throw. */
export function caught(action: () => unknown): Record<string, unknown> {
  try {
    action();
  } catch (error) {
    return factsOf(error);
  }
  assert.fail("expected a throw");
}

/** The error `action` rejects with, as a record of its facts ({@link factsOf}); fails the test when it resolves. */
export async function rejection(action: () => Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await action();
  } catch (error) {
    return factsOf(error);
  }
  assert.fail("expected a rejection");
}

/**
 * Migrations 1 and 2, where 2 (`transaction: false`) inserts one `items` row and, on its first run,
 * calls `forget` to delete its own `started` history row mid-run, as a `repair --forget` from a
 * process that misjudged the owner would. `bodyRuns()` counts how often its body ran.
 */
export function registryLosingStartedRow(forget: () => void): { migrations: MigrationEntry[]; bodyRuns(): number } {
  let runs = 0;
  const migrations = [
    createItems,
    tsEntry(2, {
      transaction: false,
      up(d) {
        runs++;
        if (runs > 3) throw new Error("run over and over");
        d.exec("INSERT INTO items (note) VALUES ('once')");
        if (runs === 1) forget();
      },
    }),
  ];
  return { migrations, bodyRuns: () => runs };
}

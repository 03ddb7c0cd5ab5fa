/**
 * Kysely's `Migrator` as a bench side, on whichever Kysely dialect the database needs: the one
 * helper the SQLite and PostgreSQL tables share, so both time the same calls.
 */
import { Kysely, Migrator, NO_MIGRATIONS, type Dialect, type Migration } from "kysely";

/** How each migration's up and down run through Kysely, by name. */
export type KyselyMigrations = Record<string, Migration>;

/** The three timed actions on the database `target` names (a file or a URL). */
export interface KyselyActions {
  apply(target: string): Promise<void>;
  noopStart(target: string): Promise<void>;
  rollbackAll(target: string): Promise<void>;
}

/** Kysely's `Migrator` over an in-memory provider of `migrations`, each call on a fresh `dialectFor(target)`. */
export function kyselyActions(migrations: KyselyMigrations, dialectFor: (target: string) => Dialect): KyselyActions {
  const withMigrator = async (target: string, action: (migrator: Migrator) => Promise<{ error?: unknown; results?: readonly unknown[] }>): Promise<number> => {
    const db = new Kysely<unknown>({ dialect: dialectFor(target) });
    try {
      const { error, results } = await action(new Migrator({ db, provider: { getMigrations: async () => migrations } }));
      if (error) throw error;
      return results?.length ?? 0;
    } finally {
      await db.destroy();
    }
  };
  return {
    apply: async (target) => void (await withMigrator(target, (migrator) => migrator.migrateToLatest())),
    noopStart: async (target) => {
      if ((await withMigrator(target, (migrator) => migrator.migrateToLatest())) !== 0) throw new Error("Kysely's no-op start applied something");
    },
    rollbackAll: async (target) => void (await withMigrator(target, (migrator) => migrator.migrateTo(NO_MIGRATIONS))),
  };
}

/**
 * The refusal `gen` makes for a project whose config says its registry is for Cloudflare D1
 * (`"target": "d1"`): D1 applies a migration atomically only as one batch of SQL with its history
 * row, so a TypeScript migration (its code runs between requests) cannot be atomic there. The
 * runtime refuses such a registry too (`stepwise-migrate/d1`); this says so while the file is being written.
 */
import type { Problem } from "./problems.js";

/** The runtimes a config's `target` may name. */
export const TARGETS = ["d1"] as const;

/** One of {@link TARGETS}. */
export type Target = (typeof TARGETS)[number];

/** A problem for each transactional TypeScript migration of a registry for `target`. */
export function findTargetProblems(migrations: readonly { readonly kind: string; readonly file: string; readonly transaction: boolean }[], target: Target | undefined): Problem[] {
  if (target !== "d1") return [];
  return migrations
    .filter((migration) => migration.kind !== "sql" && migration.transaction)
    .map((migration) => ({
      code: "TS_MIGRATION_ON_D1" as const,
      file: migration.file,
      line: 1,
      column: 1,
      message:
        'this project\'s registry is for D1 ("target": "d1"), which applies a migration atomically only as one batch of SQL with its history row; a TypeScript migration cannot be atomic there. Write it as a .sql migration, or, if it may be left half done, add transaction: false to its defineMigration',
    }));
}

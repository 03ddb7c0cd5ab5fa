/**
 * `stepwise rebase`: renumbers this branch's migrations (the ones the base branch does not have) to
 * follow the base branch's newest, keeping each name, then regenerates the registry. Atlas's
 * `migrate rebase` is the model; stepwise decides which files are this branch's from git itself
 * (see `base-migrations.ts`), so the user names no versions.
 *
 * Planning reads only. Applying renames every file or none (`rename-files.ts`), and fixes relative
 * imports of a renamed migration (`migration-references.ts`).
 */
import path from "node:path";
import { DEFAULT_VERSION_WIDTH, formatMigrationFileName } from "./migration-file.js";
import type { AppliedMigration } from "../src/core/planner.js";
import { compareWithBase, type BaseComparison } from "./base-migrations.js";
import { findReferenceRewrites } from "./migration-references.js";
import { renameFilesAtomically, type RenameFileSystem } from "./rename-files.js";
import { rebaseAppliedMigrationError, rebaseConflictError } from "./rebase-errors.js";

/** One migration's new number. */
export interface RebaseRename {
  /** Project-relative, forward slashes. */
  readonly from: string;
  readonly to: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly name: string;
}

/** What rebase would do; plain data, so `--json` is `JSON.stringify`. */
export interface RebasePlan {
  /** The base ref and commit, and how the ref was chosen. */
  readonly base: { readonly ref: string; readonly commit: string; readonly chosenBy: string };
  readonly mergeBase: string | null;
  /** The base's newest version (0: it has none). */
  readonly baseLatestVersion: number;
  /** Every version the base's migrations use, ascending. */
  readonly baseVersions: readonly number[];
  /** This branch's migrations, in their new order, including those whose number does not change. */
  readonly branchMigrations: readonly string[];
  /** Only the migrations whose number changes. */
  readonly renames: readonly RebaseRename[];
  /** Imports of a renamed migration that are rewritten: `file: old → new`. */
  readonly importRewrites: readonly string[];
}

/** Where to plan. Paths absolute. */
export interface PlanRebaseOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  /** A git ref; `null` for the default branch. */
  readonly base: string | null;
}

/**
 * Works out the renumbering without changing anything.
 *
 * @throws `REBASE_CONFLICT` when the folder has an unresolved merge conflict, or a migration that
 * existed before this branch was changed on both sides.
 * @throws `GIT_NOT_FOUND`, `NOT_A_GIT_REPOSITORY`, `GIT_REF_NOT_FOUND` or `GIT_FAILED`.
 */
export function planRebase(options: PlanRebaseOptions): RebasePlan {
  const comparison = compareWithBase({ ...options, operation: "stepwise rebase" });
  const baseLabel = comparison.base.ref;
  if (comparison.unmerged.length > 0) throw rebaseConflictError({ reason: "unmerged", files: comparison.unmerged, base: baseLabel });
  const editedTwice = comparison.local.filter((migration) => migration.origin === "edited-on-both-sides");
  if (editedTwice.length > 0) throw rebaseConflictError({ reason: "edited-on-both-sides", files: editedTwice.map((migration) => migration.file), base: baseLabel });

  const branch = comparison.local.filter((migration) => migration.origin === "added");
  const staying = comparison.local.filter((migration) => migration.origin !== "added");
  const baseLatestVersion = Math.max(0, ...comparison.baseMigrations.map((migration) => migration.version));
  // A migration this branch keeps (one the base deleted, say) still holds its number.
  let next = Math.max(baseLatestVersion, ...staying.map((migration) => migration.version)) + 1;
  const width = versionWidth(comparison);
  const renames: RebaseRename[] = [];
  const branchMigrations: string[] = [];
  for (const migration of branch) {
    const toVersion = next++;
    const to = path.posix.join(path.posix.dirname(migration.file), formatMigrationFileName(toVersion, migration.name, migration.kind, width));
    branchMigrations.push(to);
    if (to !== migration.file) renames.push({ from: migration.file, to, fromVersion: migration.version, toVersion, name: migration.name });
  }
  const rewrites = findReferenceRewrites(options.migrationsDir, movesOf(options.projectRoot, renames));
  const importRewrites = rewrites.flatMap((rewrite) => rewrite.changes.map((change) => `${path.relative(options.projectRoot, rewrite.file).split(path.sep).join("/")}: ${change}`));
  const baseVersions = [...new Set(comparison.baseMigrations.map((migration) => migration.version))];
  return { base: comparison.base, mergeBase: comparison.mergeBase, baseLatestVersion, baseVersions, branchMigrations, renames, importRewrites };
}

/**
 * Refuses when a migration the plan renumbers is recorded as applied in `history`: same version and
 * same name. A row with that version but another name is the base's migration, applied from the base
 * branch, which is exactly what the new number makes room for.
 *
 * @throws `REBASE_APPLIED_MIGRATION` naming every such migration.
 */
export function assertNoneAppliedOrThrow(plan: RebasePlan, history: readonly AppliedMigration[], database: string): void {
  const applied = plan.renames.filter((rename) => history.some((row) => row.version === rename.fromVersion && row.name === rename.name));
  if (applied.length > 0) {
    throw rebaseAppliedMigrationError({ database, migrations: applied.map((rename) => ({ version: rename.fromVersion, name: rename.name, file: rename.from })) });
  }
}

/**
 * Renames the plan's files and rewrites the imports of them, all or nothing. Re-reads the imports at
 * the moment of applying, so an edit since planning is not overwritten.
 *
 * @throws `REBASE_CONFLICT` when a new name is taken.
 * @throws `REBASE_RENAME_FAILED` when a step fails; everything done before it is undone.
 */
export function applyRebase(plan: RebasePlan, options: { projectRoot: string; migrationsDir: string; fileSystem?: RenameFileSystem }): void {
  const moves = movesOf(options.projectRoot, plan.renames);
  const rewrites = findReferenceRewrites(options.migrationsDir, moves).map((rewrite) => ({ ...rewrite, file: moves.get(rewrite.file) ?? rewrite.file }));
  renameFilesAtomically(
    [...moves].map(([from, to]) => ({ from, to })),
    rewrites,
    { fileSystem: options.fileSystem, label: (file) => path.relative(options.projectRoot, file).split(path.sep).join("/") },
  );
}

function movesOf(projectRoot: string, renames: readonly RebaseRename[]): Map<string, string> {
  return new Map(renames.map((rename) => [path.resolve(projectRoot, rename.from), path.resolve(projectRoot, rename.to)]));
}

/** The widest version either side writes, as `create` picks it, so renamed files line up with the rest. */
function versionWidth(comparison: BaseComparison): number {
  let width = DEFAULT_VERSION_WIDTH;
  for (const migration of [...comparison.local, ...comparison.baseMigrations]) width = Math.max(width, migration.fileName.indexOf("_"));
  return width;
}

/**
 * Which migrations are this branch's: the working tree's migrations folder against the base branch's
 * and against the merge base, read from git. `stepwise rebase` renumbers what this finds to be this
 * branch's; `gen --check --base` reports the versions both branches use for different files.
 *
 * A migration is judged by its file name and its content (BOM and line endings aside):
 * - the base has the same file with the same content: shared, never this branch's;
 * - the merge base has it with the same content: untouched here, so not this branch's (a change the
 *   base made to it arrives with the merge);
 * - the merge base has it with other content: this branch edited a migration that existed before it;
 *   when the base changed it too, that is an edit on both sides, which renumbering cannot resolve;
 * - otherwise this branch added it, unless the same version with the same content is on the base or
 *   at the merge base under another name: then one side only renamed it.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseMigrationFileName, type ParsedMigrationFileName } from "./migration-file.js";
import { findMergeBase, isShallowRepository, listUnmergedPaths, openGitRepositoryOrThrow, pathInRepository, readFolderAtCommit, resolveBaseOrThrow, type GitFile, type ResolvedBase } from "./git.js";
import { toPortablePath } from "./portable-path.js";
import { migrationsOutsideRepositoryError, gitHistoryShallowError } from "./rebase-errors.js";

/** A migration file named by the rules, with its content compared by meaning of bytes. */
export interface BranchMigration extends ParsedMigrationFileName {
  /** Project-relative, forward slashes (for a base file: where it would be in the work tree). */
  readonly file: string;
  /** Content with a BOM and CRLF line endings normalised, for comparison. */
  readonly text: string;
}

/** How a working-tree migration relates to the base. */
export type BranchMigrationOrigin = "shared" | "untouched" | "edited-here" | "edited-on-both-sides" | "added";

/** A working-tree migration and how it relates to the base. */
export interface ClassifiedMigration extends BranchMigration {
  readonly origin: BranchMigrationOrigin;
}

/** Two different files with one version: this branch's, and the base's. */
export interface VersionCollision {
  readonly version: number;
  readonly local: ClassifiedMigration;
  readonly base: BranchMigration;
}

/** Everything rebase and `gen --check --base` decide from. */
export interface BaseComparison {
  readonly base: ResolvedBase;
  /** `null` when the branches share no history, or nothing is committed yet. */
  readonly mergeBase: string | null;
  /** The migrations folder's path inside the repository. */
  readonly folderInRepository: string;
  /** The working tree's migrations, in version then name order. */
  readonly local: readonly ClassifiedMigration[];
  /** The base's migrations, in version then name order. */
  readonly baseMigrations: readonly BranchMigration[];
  /** Every version the base uses for a different file than this branch's with that version. */
  readonly collisions: readonly VersionCollision[];
  /** Project-relative files under the migrations folder with an unresolved merge conflict. */
  readonly unmerged: readonly string[];
}

/** Where to look. */
export interface CompareWithBaseOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  /** A git ref; `null` for the default branch. */
  readonly base: string | null;
  /** Named in errors, such as `stepwise rebase`. */
  readonly operation: string;
}

/**
 * Compares the working tree's migrations folder with the base ref's and the merge base's.
 *
 * @throws `GIT_NOT_FOUND`, `NOT_A_GIT_REPOSITORY`, `GIT_REF_NOT_FOUND` or `GIT_FAILED`; nothing is changed.
 */
export function compareWithBase(options: CompareWithBaseOptions): BaseComparison {
  const repository = openGitRepositoryOrThrow(options.projectRoot, options.operation);
  const base = resolveBaseOrThrow(repository, options.base);
  const mergeBase = findMergeBase(repository, base.commit);
  // Without the merge base, a migration the base edited after the split would look like this branch's.
  if (mergeBase === null && isShallowRepository(repository)) throw gitHistoryShallowError({ base: base.ref, operation: options.operation });
  const folder = pathInRepository(repository, options.migrationsDir);
  if (folder === ".." || folder.startsWith("../") || path.isAbsolute(folder)) {
    throw migrationsOutsideRepositoryError({ migrationsDir: options.migrationsDir, topLevel: repository.topLevel, operation: options.operation });
  }
  const relative = (fileName: string) => toPortablePath(path.relative(options.projectRoot, path.join(options.migrationsDir, fileName)));
  const fromGit = (files: GitFile[]) =>
    toMigrations(
      files.map((file) => ({ name: file.name, bytes: file.bytes })),
      relative,
    );

  const baseMigrations = fromGit(readFolderAtCommit(repository, base.commit, folder));
  const mergeBaseMigrations = mergeBase === null ? [] : fromGit(readFolderAtCommit(repository, mergeBase, folder));
  const working = toMigrations(readWorkingFolder(options.migrationsDir), relative);
  const baseByName = new Map(baseMigrations.map((migration) => [migration.fileName, migration]));
  const mergeBaseByName = new Map(mergeBaseMigrations.map((migration) => [migration.fileName, migration]));

  const local = working.map((migration): ClassifiedMigration => {
    const onBase = baseByName.get(migration.fileName);
    const atMergeBase = mergeBaseByName.get(migration.fileName);
    const sameVersionAndText = (other: BranchMigration) => other.version === migration.version && other.text === migration.text;
    let origin: BranchMigrationOrigin;
    if (onBase !== undefined && onBase.text === migration.text) origin = "shared";
    // Only renamed, on either side: the same migration under its number, never this branch's to move.
    else if (baseMigrations.some(sameVersionAndText)) origin = "shared";
    else if (atMergeBase === undefined) origin = mergeBaseMigrations.some(sameVersionAndText) ? "untouched" : "added";
    else if (atMergeBase.text === migration.text) origin = "untouched";
    else origin = onBase !== undefined && onBase.text === atMergeBase.text ? "edited-here" : "edited-on-both-sides";
    return { ...migration, origin };
  });

  const collisions: VersionCollision[] = [];
  for (const migration of local) {
    if (migration.origin === "shared" || migration.origin === "untouched") continue;
    for (const other of baseMigrations) {
      if (other.version === migration.version) collisions.push({ version: migration.version, local: migration, base: other });
    }
  }
  const unmerged = listUnmergedPaths(repository, folder).map((file) => toPortablePath(path.relative(options.projectRoot, path.join(repository.topLevel, file))));
  return { base, mergeBase, folderInRepository: folder, local, baseMigrations, collisions, unmerged };
}

/** The migrations in a list of files, by the naming rules; other files are left to `gen` to report. */
function toMigrations(files: readonly { name: string; bytes: Buffer }[], relative: (fileName: string) => string): BranchMigration[] {
  const migrations: BranchMigration[] = [];
  for (const file of files) {
    const parsed = parseMigrationFileName(file.name);
    if (parsed.status !== "migration") continue;
    migrations.push({ ...parsed.migration, file: relative(file.name), text: normaliseText(file.bytes) });
  }
  return migrations.sort((a, b) => a.version - b.version || (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
}

/** A checkout with `core.autocrlf` or an editor's BOM must not make a shared file look changed. */
function normaliseText(bytes: Buffer): string {
  return bytes
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .replace(/\r\n/g, "\n");
}

function readWorkingFolder(migrationsDir: string): { name: string; bytes: Buffer }[] {
  let names: string[];
  try {
    names = readdirSync(migrationsDir);
  } catch {
    // No folder yet: nothing of this branch's; gen reports the missing folder itself.
    return [];
  }
  const files: { name: string; bytes: Buffer }[] = [];
  for (const name of names) {
    const absolute = path.join(migrationsDir, name);
    try {
      if (!statSync(absolute).isFile()) continue;
      files.push({ name, bytes: readFileSync(absolute) });
    } catch {
      // Unreadable: gen reports it; rebase leaves it alone.
    }
  }
  return files;
}

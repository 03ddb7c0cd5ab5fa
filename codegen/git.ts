/**
 * What `stepwise rebase` and `gen --check --base` read from git: which commit a ref names, the merge
 * base, and the migrations folder at a commit, read from the object store (`git ls-tree`,
 * `git cat-file --batch`) so nothing is checked out and the working tree is never touched; the
 * working tree's migrations classified against the base branch's and the merge base's; and the
 * typed failures of asking git, each thrown before a file is touched.
 *
 * A migration is judged by its file name and its content (BOM and line endings aside):
 * - the base has the same file with the same content: shared, never this branch's;
 * - the merge base has it with the same content: untouched here, so not this branch's (a change the
 *   base made to it arrives with the merge);
 * - the merge base has it with other content: this branch edited a migration that existed before it;
 *   when the base changed it too, that is an edit on both sides, which renumbering cannot resolve;
 * - otherwise this branch added it, unless the same version with the same content is on the base or
 *   at the merge base under another name: then one side only renamed it.
 *
 * Build time only: nothing under `src/` imports this file, so an app's bundle never looks for git.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { StepwiseError } from "../src/core/errors.js";
import { parseMigrationFileName, type ParsedMigrationFileName } from "./migration-file.js";
import { toPortablePath } from "./portable-path.js";
import type { Problem } from "./problems.js";

/** A git work tree and how to ask it things. */
interface GitRepository {
  /** The work tree's top folder, real path. */
  readonly topLevel: string;
  /** What needed git, named in errors. */
  readonly operation: string;
}

/** A ref resolved to a commit, and how it was chosen, so the output can say which base was used. */
export interface ResolvedBase {
  /** The ref as given or found, such as `origin/main`. */
  readonly ref: string;
  readonly commit: string;
  /** `--base` when given; otherwise what found the default branch: `origin/HEAD`, `main`, `master`… */
  readonly chosenBy: string;
}

/** A file of the migrations folder, by its name inside the folder. */
interface FolderFile {
  readonly name: string;
  readonly bytes: Buffer;
}

/** Refs tried in order for the default branch when no `--base` is given (after `origin/HEAD`). */
const DEFAULT_BRANCH_CANDIDATES = ["main", "master", "origin/main", "origin/master"] as const;

interface GitRun {
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function runGit(cwd: string, args: readonly string[], operation: string, input?: string): GitRun {
  const result = spawnSync("git", args, {
    cwd,
    input,
    maxBuffer: 1024 * 1024 * 1024,
    // A user's pager, editor or terminal prompt must never hang a command that only reads.
    env: { ...process.env, GIT_PAGER: "cat", GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
  });
  if (result.error) {
    if ((result.error as NodeJS.ErrnoException).code === "ENOENT") throw gitNotFoundError({ operation, cause: result.error });
    throw gitFailedError({ args, exitCode: null, stderr: result.error.message });
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString("utf8") };
}

function gitOrThrow(repository: GitRepository, args: readonly string[], input?: string): Buffer {
  const result = runGit(repository.topLevel, args, repository.operation, input);
  if (result.status !== 0) throw gitFailedError({ args, exitCode: result.status, stderr: result.stderr });
  return result.stdout;
}

/** The git work tree that holds `directory`; `NOT_A_GIT_REPOSITORY` when it is outside any. */
function openGitRepositoryOrThrow(directory: string, operation: string): GitRepository {
  const result = runGit(directory, ["rev-parse", "--show-toplevel"], operation);
  if (result.status !== 0) throw notAGitRepositoryError({ directory, operation });
  const topLevel = result.stdout.toString("utf8").trim();
  return { topLevel: realpathSync(topLevel), operation };
}

function commitOf(repository: GitRepository, ref: string): string | null {
  // `--end-of-options` keeps a ref that starts with "-" from being read as an option.
  const result = runGit(repository.topLevel, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`], repository.operation);
  return result.status === 0 ? result.stdout.toString("utf8").trim() : null;
}

/**
 * The commit to compare with: `ref` when given, else the default branch, found as `origin/HEAD`
 * points, else the first of {@link DEFAULT_BRANCH_CANDIDATES} that exists.
 */
function resolveBaseOrThrow(repository: GitRepository, ref: string | null): ResolvedBase {
  if (ref !== null) {
    const commit = commitOf(repository, ref);
    if (commit === null) throw gitRefNotFoundError({ ref, tried: [ref] });
    return { ref, commit, chosenBy: "--base" };
  }
  const tried: string[] = [];
  const originHead = runGit(repository.topLevel, ["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"], repository.operation);
  tried.push("origin/HEAD");
  if (originHead.status === 0) {
    const target = originHead.stdout.toString("utf8").trim();
    const commit = commitOf(repository, target);
    if (commit !== null) return { ref: target, commit, chosenBy: "origin/HEAD" };
  }
  for (const candidate of DEFAULT_BRANCH_CANDIDATES) {
    tried.push(candidate);
    const commit = commitOf(repository, candidate);
    if (commit !== null) return { ref: candidate, commit, chosenBy: `the default branch (tried ${tried.join(", ")})` };
  }
  throw gitRefNotFoundError({ ref: null, tried });
}

/** The merge base of `HEAD` and `commit`, or `null` when they share no history (or nothing is committed yet). */
function findMergeBase(repository: GitRepository, commit: string): string | null {
  if (commitOf(repository, "HEAD") === null) return null;
  const result = runGit(repository.topLevel, ["merge-base", "HEAD", commit], repository.operation);
  if (result.status === 0) return result.stdout.toString("utf8").trim();
  if (result.status === 1) return null;
  throw gitFailedError({ args: ["merge-base", "HEAD", commit], exitCode: result.status, stderr: result.stderr });
}

/** `absolute`'s path inside the work tree, with forward slashes (`""` for the top folder). */
function pathInRepository(repository: GitRepository, absolute: string): string {
  let real: string;
  try {
    real = realpathSync(absolute);
  } catch {
    // A folder that does not exist yet: its parent's real path, then its own name.
    real = path.join(realpathSync(path.dirname(absolute)), path.basename(absolute));
  }
  return toPortablePath(path.relative(repository.topLevel, real));
}

/**
 * The files (not subfolders) directly inside `folder` (a {@link pathInRepository} path) at `commit`,
 * with their bytes. A folder the commit does not have gives none.
 */
function readFolderAtCommit(repository: GitRepository, commit: string, folder: string): FolderFile[] {
  const treeish = `${commit}:${folder}`;
  const listed = runGit(repository.topLevel, ["ls-tree", "-z", "--end-of-options", treeish], repository.operation);
  if (listed.status !== 0) {
    // The commit has no such folder (or it is a file): the base has no migrations there.
    if (commitOf(repository, commit) !== null) return [];
    throw gitFailedError({ args: ["ls-tree", treeish], exitCode: listed.status, stderr: listed.stderr });
  }
  const entries: { name: string; object: string }[] = [];
  for (const record of listed.stdout.toString("utf8").split("\0")) {
    if (record === "") continue;
    const tab = record.indexOf("\t");
    const [mode, type, object] = record.slice(0, tab).split(" ");
    // Symlinks (120000) and submodules are never migrations: gen refuses a symlinked one.
    if (type !== "blob" || mode === "120000") continue;
    entries.push({ name: record.slice(tab + 1), object: object! });
  }
  if (entries.length === 0) return [];
  const output = gitOrThrow(repository, ["cat-file", "--batch"], entries.map((entry) => `${entry.object}\n`).join(""));
  const files: FolderFile[] = [];
  let offset = 0;
  for (const entry of entries) {
    const headerEnd = output.indexOf(0x0a, offset);
    const size = Number(output.subarray(offset, headerEnd).toString("utf8").split(" ")[2]);
    const start = headerEnd + 1;
    files.push({ name: entry.name, bytes: output.subarray(start, start + size) });
    offset = start + size + 1;
  }
  return files;
}

/** Work-tree paths under `folder` that have an unresolved merge conflict. */
function listUnmergedPaths(repository: GitRepository, folder: string): string[] {
  const output = gitOrThrow(repository, ["ls-files", "-u", "-z", "--", folder === "" ? "." : folder]).toString("utf8");
  const paths = new Set<string>();
  for (const record of output.split("\0")) {
    const tab = record.indexOf("\t");
    if (tab !== -1) paths.add(record.slice(tab + 1));
  }
  return [...paths].sort();
}

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
interface VersionCollision {
  readonly version: number;
  readonly local: ClassifiedMigration;
  readonly base: BranchMigration;
}

/** Everything rebase and `gen --check --base` decide from. */
export interface BaseComparison {
  readonly base: ResolvedBase;
  /** `null` when the branches share no history, or nothing is committed yet. */
  readonly mergeBase: string | null;
  /** The working tree's migrations, in version then name order. */
  readonly local: readonly ClassifiedMigration[];
  /** The base's migrations, in version then name order. */
  readonly baseMigrations: readonly BranchMigration[];
  /** Every version the base uses for a different file than this branch's with that version. */
  readonly collisions: readonly VersionCollision[];
  /** Project-relative files under the migrations folder with an unresolved merge conflict. */
  readonly unmerged: readonly string[];
}

/** Where to look. Paths absolute. */
export interface CompareWithBaseOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  /** A git ref; `null` for the default branch. */
  readonly base: string | null;
}

/**
 * Compares the working tree's migrations folder with the base ref's and the merge base's.
 * `operation` (such as `stepwise rebase`) is named in errors.
 *
 * @throws `GIT_NOT_FOUND`, `NOT_A_GIT_REPOSITORY`, `GIT_REF_NOT_FOUND`, `GIT_HISTORY_SHALLOW` or `GIT_FAILED`; nothing is changed.
 */
export function compareWithBase(options: CompareWithBaseOptions, operation: string): BaseComparison {
  const repository = openGitRepositoryOrThrow(options.projectRoot, operation);
  const base = resolveBaseOrThrow(repository, options.base);
  const mergeBase = findMergeBase(repository, base.commit);
  // Without the merge base, a migration the base edited after the split would look like this branch's.
  if (mergeBase === null && gitOrThrow(repository, ["rev-parse", "--is-shallow-repository"]).toString("utf8").trim() === "true") {
    throw gitHistoryShallowError({ base: base.ref, operation });
  }
  const folder = pathInRepository(repository, options.migrationsDir);
  if (folder === ".." || folder.startsWith("../") || path.isAbsolute(folder)) {
    throw migrationsOutsideRepositoryError({ migrationsDir: options.migrationsDir, topLevel: repository.topLevel, operation });
  }
  const relative = (fileName: string) => toPortablePath(path.relative(options.projectRoot, path.join(options.migrationsDir, fileName)));
  const baseMigrations = toMigrations(readFolderAtCommit(repository, base.commit, folder), relative);
  const mergeBaseMigrations = mergeBase === null ? [] : toMigrations(readFolderAtCommit(repository, mergeBase, folder), relative);
  const local = classifyMigrations(toMigrations(readWorkingFolder(options.migrationsDir), relative), baseMigrations, mergeBaseMigrations);

  const collisions: VersionCollision[] = [];
  for (const migration of local) {
    if (migration.origin === "shared" || migration.origin === "untouched") continue;
    for (const other of baseMigrations) {
      if (other.version === migration.version) collisions.push({ version: migration.version, local: migration, base: other });
    }
  }
  const unmerged = listUnmergedPaths(repository, folder).map((file) => toPortablePath(path.relative(options.projectRoot, path.join(repository.topLevel, file))));
  return { base, mergeBase, local, baseMigrations, collisions, unmerged };
}

/** Each working-tree migration with its origin, by the rules at the top of this file. */
function classifyMigrations(working: readonly BranchMigration[], baseMigrations: readonly BranchMigration[], mergeBaseMigrations: readonly BranchMigration[]): ClassifiedMigration[] {
  const baseByName = new Map(baseMigrations.map((migration) => [migration.fileName, migration]));
  const mergeBaseByName = new Map(mergeBaseMigrations.map((migration) => [migration.fileName, migration]));
  return working.map((migration): ClassifiedMigration => {
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
}

/** The migrations in a list of files, by the naming rules; other files are left to `gen` to report. */
function toMigrations(files: readonly FolderFile[], relative: (fileName: string) => string): BranchMigration[] {
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

function readWorkingFolder(migrationsDir: string): FolderFile[] {
  let names: string[];
  try {
    names = readdirSync(migrationsDir);
  } catch {
    // No folder yet: nothing of this branch's; gen reports the missing folder itself.
    return [];
  }
  const files: FolderFile[] = [];
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

/**
 * `gen --check --base <ref>`: one `VERSION_TAKEN_ON_BASE` problem per version that this branch and
 * the base branch each use for a different migration, so CI on a pull request catches the collision
 * before the merge does (where both files would land with one number). A migration untouched since
 * the merge base is never reported: whatever the base did to it arrives with the merge.
 *
 * @throws `GIT_NOT_FOUND`, `NOT_A_GIT_REPOSITORY`, `GIT_REF_NOT_FOUND`, `GIT_HISTORY_SHALLOW` or `GIT_FAILED`.
 */
export function checkAgainstBase(options: CompareWithBaseOptions): Problem[] {
  const comparison = compareWithBase(options, "stepwise gen --check --base");
  const ref = comparison.base.ref;
  return comparison.collisions.map(({ version, local, base }): Problem => {
    const fix =
      local.origin === "added"
        ? `run "stepwise rebase --base ${ref}" to renumber this branch's migrations after ${ref}'s newest`
        : local.origin === "edited-on-both-sides"
          ? `both branches changed this migration since they split; keep one version of it (or move your change into a new migration)`
          : `this branch changed a migration ${ref} already has; databases that applied it will refuse it with CHECKSUM_MISMATCH, so move the change into a new migration`;
    return {
      code: "VERSION_TAKEN_ON_BASE",
      file: local.file,
      line: 1,
      column: 1,
      message: `version ${version} is also used on ${ref} by ${base.file}, with different content; ${fix}`,
      base: { ref, file: base.file, version },
    };
  });
}

/** `git` is not installed, or not on the PATH. Nothing was changed. */
function gitNotFoundError(fields: { operation: string; cause: unknown }): StepwiseError<"GIT_NOT_FOUND"> {
  return new StepwiseError(
    "GIT_NOT_FOUND",
    `${fields.operation} reads the base branch's migrations from git, but the git command was not found. Install git (or put it on the PATH) and run it again. Nothing was changed.`,
    { operation: fields.operation },
    { cause: fields.cause },
  );
}

/** The project is not inside a git work tree. Nothing was changed. */
function notAGitRepositoryError(fields: { directory: string; operation: string }): StepwiseError<"NOT_A_GIT_REPOSITORY"> {
  return new StepwiseError(
    "NOT_A_GIT_REPOSITORY",
    `${fields.operation} compares this branch's migrations with another branch's, but ${fields.directory} is not inside a git repository. Run it in a clone of your project. Nothing was changed.`,
    { directory: fields.directory, operation: fields.operation },
  );
}

/** The base ref does not name a commit, or no default branch could be found. Nothing was changed. */
function gitRefNotFoundError(fields: { ref: string | null; tried: readonly string[] }): StepwiseError<"GIT_REF_NOT_FOUND"> {
  return new StepwiseError(
    "GIT_REF_NOT_FOUND",
    fields.ref === null
      ? `Could not find the default branch (tried ${fields.tried.join(", ")}). Pass the branch you will merge into, such as --base origin/main. Nothing was changed.`
      : `"${fields.ref}" is not a commit in this repository. Fetch it first (git fetch origin) or pass another --base, such as origin/main. Nothing was changed.`,
    { ref: fields.ref, tried: fields.tried },
  );
}

/**
 * The clone is shallow and holds no common ancestor of `HEAD` and the base, so which migrations this
 * branch added cannot be told from ones the base edited later. Nothing was changed.
 */
function gitHistoryShallowError(fields: { base: string; operation: string }): StepwiseError<"GIT_HISTORY_SHALLOW"> {
  return new StepwiseError(
    "GIT_HISTORY_SHALLOW",
    `${fields.operation} needs the history this branch shares with ${fields.base}, but this clone is shallow and does not reach it. ` +
      `Fetch more history (git fetch --unshallow, or fetch-depth: 0 in CI's checkout) and run it again. Nothing was changed.`,
    { base: fields.base },
  );
}

/** The migrations folder lies outside the git work tree, so git holds no history of it. Nothing was changed. */
function migrationsOutsideRepositoryError(fields: { migrationsDir: string; topLevel: string; operation: string }): StepwiseError<"NOT_A_GIT_REPOSITORY"> {
  return new StepwiseError(
    "NOT_A_GIT_REPOSITORY",
    `${fields.operation} reads the migrations folder's history from git, but ${fields.migrationsDir} is outside the repository at ${fields.topLevel}. Nothing was changed.`,
    { migrationsDir: fields.migrationsDir, topLevel: fields.topLevel },
  );
}

/** git ran but failed for another reason; its own message is kept. Nothing was changed. */
function gitFailedError(fields: { args: readonly string[]; exitCode: number | null; stderr: string }): StepwiseError<"GIT_FAILED"> {
  return new StepwiseError("GIT_FAILED", `git ${fields.args.join(" ")} failed (exit ${fields.exitCode ?? "signal"}): ${fields.stderr.trim() || "no message"}. Nothing was changed.`, {
    args: fields.args,
    exitCode: fields.exitCode,
    stderr: fields.stderr,
  });
}

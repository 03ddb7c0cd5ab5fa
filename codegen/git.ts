/**
 * Read-only git access for `stepwise rebase` and `gen --check --base`: which commit a ref names, the
 * merge base, and a folder's files at a commit, read from the object store (`git ls-tree`,
 * `git cat-file --batch`) so nothing is checked out and the working tree is never touched.
 *
 * Build time only: nothing under `src/` imports this file, so an app's bundle never looks for git.
 */
import { spawnSync } from "node:child_process";
import { realpathSync } from "node:fs";
import path from "node:path";
import { toPortablePath } from "./portable-path.js";
import { gitFailedError, gitRefNotFoundError, notAGitRepositoryError, gitNotFoundError } from "./rebase-errors.js";

/** A git work tree and how to ask it things. */
export interface GitRepository {
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

/** A file at a commit. */
export interface GitFile {
  /** The name inside the folder that was listed. */
  readonly name: string;
  readonly bytes: Buffer;
}

/** Refs tried in order for the default branch when no `--base` is given (after `origin/HEAD`). */
export const DEFAULT_BRANCH_CANDIDATES = ["main", "master", "origin/main", "origin/master"] as const;

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

/**
 * The git work tree that holds `directory`.
 *
 * @throws `GIT_NOT_FOUND` when git is not installed.
 * @throws `NOT_A_GIT_REPOSITORY` when `directory` is outside any work tree.
 */
export function openGitRepositoryOrThrow(directory: string, operation: string): GitRepository {
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
 *
 * @throws `GIT_REF_NOT_FOUND` when `ref` names no commit, or no default branch exists.
 */
export function resolveBaseOrThrow(repository: GitRepository, ref: string | null): ResolvedBase {
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
export function findMergeBase(repository: GitRepository, commit: string): string | null {
  if (commitOf(repository, "HEAD") === null) return null;
  const result = runGit(repository.topLevel, ["merge-base", "HEAD", commit], repository.operation);
  if (result.status === 0) return result.stdout.toString("utf8").trim();
  if (result.status === 1) return null;
  throw gitFailedError({ args: ["merge-base", "HEAD", commit], exitCode: result.status, stderr: result.stderr });
}

/** Whether the clone is shallow (CI checkouts often are), so a merge base may be out of reach. */
export function isShallowRepository(repository: GitRepository): boolean {
  return gitOrThrow(repository, ["rev-parse", "--is-shallow-repository"]).toString("utf8").trim() === "true";
}

/** `absolute`'s path inside the work tree, with forward slashes (`""` for the top folder). */
export function pathInRepository(repository: GitRepository, absolute: string): string {
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
export function readFolderAtCommit(repository: GitRepository, commit: string, folder: string): GitFile[] {
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
  const files: GitFile[] = [];
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
export function listUnmergedPaths(repository: GitRepository, folder: string): string[] {
  const output = gitOrThrow(repository, ["ls-files", "-u", "-z", "--", folder === "" ? "." : folder]).toString("utf8");
  const paths = new Set<string>();
  for (const record of output.split("\0")) {
    const tab = record.indexOf("\t");
    if (tab !== -1) paths.add(record.slice(tab + 1));
  }
  return [...paths].sort();
}

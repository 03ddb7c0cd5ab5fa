/**
 * What `stepwise rebase` and `gen --check --base` read from git: the base ref's commit, the merge
 * base, and the migrations folder at each, read from the object store so the working tree is never
 * touched. A working-tree migration is then classified by file name and content (BOM and CRLF aside):
 * - `shared`: the base has it with the same content (or the same version and content under another name);
 * - `untouched`: the merge base has it with the same content, so any change the base made arrives with the merge;
 * - `edited-here` / `edited-on-both-sides`: the merge base has it with other content (and the base changed it too);
 * - `added`: otherwise, this branch's own.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { StepwiseError } from "../src/core/errors.js";
import { parseMigrationFileName, type ParsedMigrationFileName } from "./migration-file.js";
import { compareText, projectPath, type Problem } from "./problems.js";

/** A migration file named by the rules, with its content normalised for comparison. */
export interface BranchMigration extends ParsedMigrationFileName {
  /** Project-relative, forward slashes (for a base file: where it would be in the work tree). */
  readonly file: string;
  readonly text: string;
}

/** How a working-tree migration relates to the base. */
export type BranchMigrationOrigin = "shared" | "untouched" | "edited-here" | "edited-on-both-sides" | "added";

/** A working-tree migration and how it relates to the base. */
export interface ClassifiedMigration extends BranchMigration {
  readonly origin: BranchMigrationOrigin;
}

/** Everything rebase and `gen --check --base` decide from. */
export interface BaseComparison {
  /** The ref as given or found, its commit, and how it was chosen (`--base`, `origin/HEAD`, the default branch). */
  readonly base: { readonly ref: string; readonly commit: string; readonly chosenBy: string };
  /** `null` when the branches share no history, or nothing is committed yet. */
  readonly mergeBase: string | null;
  /** The working tree's migrations and the base's, in version then name order. */
  readonly local: readonly ClassifiedMigration[];
  readonly baseMigrations: readonly BranchMigration[];
  /** Every version the base uses for a different file than this branch's with that version. */
  readonly collisions: readonly { readonly version: number; readonly local: ClassifiedMigration; readonly base: BranchMigration }[];
  /** Project-relative files under the migrations folder with an unresolved merge conflict. */
  readonly unmerged: readonly string[];
}

/** Where to look; `base` is a git ref, `null` for the default branch. */
export interface CompareWithBaseOptions {
  readonly projectRoot: string;
  readonly migrationsDir: string;
  readonly base: string | null;
}

/**
 * Compares the working tree's migrations folder with the base ref's and the merge base's.
 *
 * @throws `GIT_NOT_FOUND`, `NOT_A_GIT_REPOSITORY`, `GIT_REF_NOT_FOUND`, `GIT_HISTORY_SHALLOW` or `GIT_FAILED`, naming `operation`; nothing is changed.
 */
export function compareWithBase(options: CompareWithBaseOptions, operation: string): BaseComparison {
  const repository = openRepository(options.projectRoot, operation);
  const { topLevel, git, gitOrThrow, commitOf } = repository;
  const base = resolveBase(options.base, commitOf, () => git(["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"]));
  let mergeBase: string | null = null;
  if (commitOf("HEAD") !== null) {
    const result = git(["merge-base", "HEAD", base.commit]);
    if (result.status === 0) mergeBase = result.stdout.trim();
    else if (result.status !== 1) throw gitFailedError(["merge-base", "HEAD", base.commit], result.status, result.stderr);
  }
  // Without the merge base, a migration the base edited after the split would look like this branch's.
  if (mergeBase === null && gitOrThrow(["rev-parse", "--is-shallow-repository"]).stdout.trim() === "true") {
    const message = `${operation} needs the history this branch shares with ${base.ref}, but this clone is shallow and does not reach it. Fetch more history (git fetch --unshallow, or fetch-depth: 0 in CI's checkout) and run it again. Nothing was changed.`;
    throw new StepwiseError("GIT_HISTORY_SHALLOW", message, { base: base.ref });
  }
  let real: string;
  try {
    real = realpathSync(options.migrationsDir);
  } catch {
    // A folder that does not exist yet: its parent's real path, then its own name.
    real = path.join(realpathSync(path.dirname(options.migrationsDir)), path.basename(options.migrationsDir));
  }
  const folder = projectPath(topLevel, real);
  if (folder === ".." || folder.startsWith("../") || path.isAbsolute(folder)) {
    const message = `${operation} reads the migrations folder's history from git, but ${options.migrationsDir} is outside the repository at ${topLevel}. Nothing was changed.`;
    throw new StepwiseError("NOT_A_GIT_REPOSITORY", message, { migrationsDir: options.migrationsDir, topLevel });
  }
  const relative = (fileName: string) => projectPath(options.projectRoot, path.join(options.migrationsDir, fileName));
  const baseMigrations = toMigrations(readFolderAt(repository, base.commit, folder), relative);
  const mergeBaseMigrations = mergeBase === null ? [] : toMigrations(readFolderAt(repository, mergeBase, folder), relative);
  const local = classifyMigrations(toMigrations(readWorkingFolder(options.migrationsDir), relative), baseMigrations, mergeBaseMigrations);
  const collisions = local
    .filter((migration) => migration.origin !== "shared" && migration.origin !== "untouched")
    .flatMap((migration) => baseMigrations.filter((other) => other.version === migration.version).map((other) => ({ version: migration.version, local: migration, base: other })));
  const unmergedPaths = gitOrThrow(["ls-files", "-u", "-z", "--", folder === "" ? "." : folder])
    .stdout.split("\0")
    .flatMap((record) => (record.includes("\t") ? [record.slice(record.indexOf("\t") + 1)] : []));
  const unmerged = [...new Set(unmergedPaths)].sort().map((file) => projectPath(options.projectRoot, path.join(topLevel, file)));
  return { base, mergeBase, local, baseMigrations, collisions, unmerged };
}

/** One git run's outcome. */
interface GitRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly bytes: Buffer;
  readonly stderr: string;
}

/** The git work tree that holds `projectRoot`, and how to ask it things; `NOT_A_GIT_REPOSITORY` outside any. */
function openRepository(projectRoot: string, operation: string) {
  const run = (cwd: string, args: readonly string[], input?: string): GitRun => {
    // A user's pager, editor or terminal prompt must never hang a command that only reads.
    const result = spawnSync("git", args, { cwd, input, maxBuffer: 1024 * 1024 * 1024, env: { ...process.env, GIT_PAGER: "cat", GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" } });
    if ((result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
      const message = `${operation} reads the base branch's migrations from git, but the git command was not found. Install git (or put it on the PATH) and run it again. Nothing was changed.`;
      throw new StepwiseError("GIT_NOT_FOUND", message, { operation }, { cause: result.error });
    }
    if (result.error) throw gitFailedError(args, null, result.error.message);
    return { status: result.status, stdout: result.stdout.toString("utf8"), bytes: result.stdout, stderr: result.stderr.toString("utf8") };
  };
  const topLevelRun = run(projectRoot, ["rev-parse", "--show-toplevel"]);
  if (topLevelRun.status !== 0) {
    const message = `${operation} compares this branch's migrations with another branch's, but ${projectRoot} is not inside a git repository. Run it in a clone of your project. Nothing was changed.`;
    throw new StepwiseError("NOT_A_GIT_REPOSITORY", message, { directory: projectRoot, operation });
  }
  const topLevel = realpathSync(topLevelRun.stdout.trim());
  const git = (args: readonly string[], input?: string) => run(topLevel, args, input);
  const gitOrThrow = (args: readonly string[], input?: string) => {
    const result = git(args, input);
    if (result.status !== 0) throw gitFailedError(args, result.status, result.stderr);
    return result;
  };
  // `--end-of-options` keeps a ref that starts with "-" from being read as an option.
  const commitOf = (ref: string): string | null => {
    const result = git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`]);
    return result.status === 0 ? result.stdout.trim() : null;
  };
  return { topLevel, git, gitOrThrow, commitOf };
}

/** The files directly inside `folder` at `commit`, with their bytes, from the object store; a commit without the folder has none. */
function readFolderAt({ git, gitOrThrow, commitOf }: ReturnType<typeof openRepository>, commit: string, folder: string): { name: string; bytes: Buffer }[] {
  const listed = git(["ls-tree", "-z", "--end-of-options", `${commit}:${folder}`]);
  if (listed.status !== 0) {
    if (commitOf(commit) !== null) return [];
    throw gitFailedError(["ls-tree", `${commit}:${folder}`], listed.status, listed.stderr);
  }
  const entries = listed.stdout.split("\0").flatMap((record) => {
    const tab = record.indexOf("\t");
    const [mode, type, object] = record.slice(0, tab).split(" ");
    // Symlinks (120000) and submodules are never migrations: gen refuses a symlinked one.
    return record === "" || type !== "blob" || mode === "120000" ? [] : [{ name: record.slice(tab + 1), object: object! }];
  });
  if (entries.length === 0) return [];
  const output = gitOrThrow(["cat-file", "--batch"], entries.map((entry) => `${entry.object}\n`).join("")).bytes;
  let offset = 0;
  return entries.map((entry) => {
    const headerEnd = output.indexOf(0x0a, offset);
    const size = Number(output.subarray(offset, headerEnd).toString("utf8").split(" ")[2]);
    offset = headerEnd + 1 + size + 1;
    return { name: entry.name, bytes: output.subarray(headerEnd + 1, headerEnd + 1 + size) };
  });
}

/** `ref` when given, else the default branch: where `origin/HEAD` points, else the first of main, master, origin/main, origin/master. */
function resolveBase(ref: string | null, commitOf: (ref: string) => string | null, originHead: () => { status: number | null; stdout: string }): BaseComparison["base"] {
  const notFound = (tried: readonly string[]) =>
    new StepwiseError(
      "GIT_REF_NOT_FOUND",
      ref === null
        ? `Could not find the default branch (tried ${tried.join(", ")}). Pass the branch you will merge into, such as --base origin/main. Nothing was changed.`
        : `"${ref}" is not a commit in this repository. Fetch it first (git fetch origin) or pass another --base, such as origin/main. Nothing was changed.`,
      { ref, tried },
    );
  if (ref !== null) {
    const commit = commitOf(ref);
    if (commit === null) throw notFound([ref]);
    return { ref, commit, chosenBy: "--base" };
  }
  const head = originHead();
  const target = head.status === 0 ? head.stdout.trim() : null;
  const headCommit = target === null ? null : commitOf(target);
  if (target !== null && headCommit !== null) return { ref: target, commit: headCommit, chosenBy: "origin/HEAD" };
  const tried = ["origin/HEAD"];
  for (const candidate of ["main", "master", "origin/main", "origin/master"]) {
    tried.push(candidate);
    const commit = commitOf(candidate);
    if (commit !== null) return { ref: candidate, commit, chosenBy: `the default branch (tried ${tried.join(", ")})` };
  }
  throw notFound(tried);
}

/** Each working-tree migration with its origin, by the rules at the top of this file. */
function classifyMigrations(working: readonly BranchMigration[], baseMigrations: readonly BranchMigration[], mergeBaseMigrations: readonly BranchMigration[]): ClassifiedMigration[] {
  const baseByName = new Map(baseMigrations.map((migration) => [migration.fileName, migration]));
  const mergeBaseByName = new Map(mergeBaseMigrations.map((migration) => [migration.fileName, migration]));
  return working.map((migration) => {
    const onBase = baseByName.get(migration.fileName);
    const atMergeBase = mergeBaseByName.get(migration.fileName);
    const sameVersionAndText = (other: BranchMigration) => other.version === migration.version && other.text === migration.text;
    let origin: BranchMigrationOrigin;
    if (onBase?.text === migration.text || baseMigrations.some(sameVersionAndText)) origin = "shared";
    else if (atMergeBase === undefined) origin = mergeBaseMigrations.some(sameVersionAndText) ? "untouched" : "added";
    else if (atMergeBase.text === migration.text) origin = "untouched";
    else origin = onBase !== undefined && onBase.text === atMergeBase.text ? "edited-here" : "edited-on-both-sides";
    return { ...migration, origin };
  });
}

/** The migrations among a list of files, by the naming rules; other files are left to `gen` to report. */
function toMigrations(files: readonly { name: string; bytes: Buffer }[], relative: (fileName: string) => string): BranchMigration[] {
  return files
    .flatMap((file) => {
      const parsed = parseMigrationFileName(file.name);
      // A checkout with `core.autocrlf` or an editor's BOM must not make a shared file look changed.
      const text = file.bytes
        .toString("utf8")
        .replace(/^\uFEFF/, "")
        .replace(/\r\n/g, "\n");
      return parsed.status === "migration" ? [{ ...parsed.migration, file: relative(file.name), text }] : [];
    })
    .sort((a, b) => a.version - b.version || compareText(a.fileName, b.fileName));
}

/** The working folder's regular files; a missing folder or an unreadable file is left to `gen` to report. */
function readWorkingFolder(migrationsDir: string): { name: string; bytes: Buffer }[] {
  let names: string[];
  try {
    names = readdirSync(migrationsDir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      const absolute = path.join(migrationsDir, name);
      return statSync(absolute).isFile() ? [{ name, bytes: readFileSync(absolute) }] : [];
    } catch {
      return [];
    }
  });
}

function gitFailedError(args: readonly string[], exitCode: number | null, stderr: string): StepwiseError<"GIT_FAILED"> {
  return new StepwiseError("GIT_FAILED", `git ${args.join(" ")} failed (exit ${exitCode ?? "signal"}): ${stderr.trim() || "no message"}. Nothing was changed.`, { args, exitCode, stderr });
}

/**
 * `gen --check --base <ref>`: a `VERSION_TAKEN_ON_BASE` for each version this branch and the base
 * each use for a different migration, so CI catches the collision before the merge does.
 *
 * @throws the git errors of {@link compareWithBase}.
 */
export function checkAgainstBase(options: CompareWithBaseOptions): Problem[] {
  const { base, collisions } = compareWithBase(options, "stepwise gen --check --base");
  return collisions.map(({ version, local, base: other }): Problem => {
    const fix =
      local.origin === "added"
        ? `run "stepwise rebase --base ${base.ref}" to renumber this branch's migrations after ${base.ref}'s newest`
        : local.origin === "edited-on-both-sides"
          ? `both branches changed this migration since they split; keep one version of it (or move your change into a new migration)`
          : `this branch changed a migration ${base.ref} already has; databases that applied it will refuse it with CHECKSUM_MISMATCH, so move the change into a new migration`;
    const message = `version ${version} is also used on ${base.ref} by ${other.file}, with different content; ${fix}`;
    return { code: "VERSION_TAKEN_ON_BASE", file: local.file, line: 1, column: 1, message, base: { ref: base.ref, file: other.file, version } };
  });
}

/**
 * `stepwise rebase` and `gen --check --base`: this branch's migrations against the base branch's, read from git's object store so the working tree is never touched. A working-tree migration is
 * classified by file name and content (BOM and CRLF aside):
 * - `shared`: the base has it with the same content (or the same version and content under another name);
 * - `untouched`: the merge base has it with the same content, so any change the base made arrives with the merge;
 * - `edited-here` / `edited-on-both-sides`: the merge base has it with other content (and the base changed it too);
 * - `added`: otherwise, this branch's own, which rebase renumbers after the base's newest, keeping names.
 * It renames every file or none: half a renumbering would be worse than the collision.
 */
import { readSquashRecord } from "./squash/squash-record.js";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { ts } from "ts-morph";
import type { CliContext } from "../src/cli/cli-props.js";
import { StepwiseError, type RebaseConflictReason } from "../src/core/errors.js";
import { formatVersion } from "../src/core/migration-label.js";
import type { StepwiseSettings } from "./config.js";
import { defaultGenCacheDir } from "./gen-cache.js";
import { generateRegistry, type GenerateResult } from "./generate.js";
import { findImportSpecifiers, followLocalImports } from "./local-imports.js";
import { formatMigrationFileName, parseMigrationFileName, versionWidthOf, type ParsedMigrationFileName } from "./migration-file.js";
import { compareText, printProblems, projectPath, tryOr, type Problem } from "./problems.js";
import { writeFileAtomic } from "../src/safety/write-file.js";
import { scanMigrations } from "./scan.js";

/** A migration file named by the rules, `file` project-relative (for a base file: where it would be in the work tree), `text` normalised for comparison. */
interface BranchMigration extends ParsedMigrationFileName {
  readonly file: string;
  readonly text: string;
}
type Origin = "shared" | "untouched" | "edited-here" | "edited-on-both-sides" | "added";
type Where = { readonly projectRoot: string; readonly migrationsDir: string; readonly base: string | null };

/** The working tree's migrations with their origins, and the base's, in version then name order; the git errors name `operation`. */
function compareWithBase(options: Where, operation: string) {
  const { topLevel, git, commitOf } = openRepository(options.projectRoot, operation);
  const base = resolveBase(options.base, commitOf, () => git(["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"], { allowFailure: true }));
  const found = commitOf("HEAD") === null ? null : git(["merge-base", "HEAD", base.commit], { allowFailure: true });
  if (found !== null && found.status !== 0 && found.status !== 1) throw gitFailedError(["merge-base", "HEAD", base.commit], found.status, found.stderr);
  const mergeBase = found?.status === 0 ? found.stdout.trim() : null;
  // Without the merge base, a migration the base edited after the split would look like this branch's.
  if (mergeBase === null && git(["rev-parse", "--is-shallow-repository"]).stdout.trim() === "true") {
    const message = `${operation} needs the history this branch shares with ${base.ref}, but this clone is shallow and does not reach it. Fetch more history (git fetch --unshallow, or fetch-depth: 0 in CI's checkout) and run it again. Nothing was changed.`;
    throw new StepwiseError("GIT_HISTORY_SHALLOW", message, { base: base.ref });
  }
  // A folder that does not exist yet: its parent's real path, then its own name.
  const real = tryOr(() => fs.realpathSync(options.migrationsDir), null) ?? path.join(fs.realpathSync(path.dirname(options.migrationsDir)), path.basename(options.migrationsDir));
  const folder = projectPath(topLevel, real);
  if (folder === ".." || folder.startsWith("../") || path.isAbsolute(folder)) {
    const message = `${operation} reads the migrations folder's history from git, but ${options.migrationsDir} is outside the repository at ${topLevel}. Nothing was changed.`;
    throw new StepwiseError("NOT_A_GIT_REPOSITORY", message, { migrationsDir: options.migrationsDir, topLevel });
  }
  const toMigrations = (files: readonly { name: string; bytes: Buffer }[]): BranchMigration[] =>
    files
      .flatMap(({ name, bytes }) => {
        const parsed = parseMigrationFileName(name);
        // A checkout with `core.autocrlf` or an editor's BOM must not make a shared file look changed.
        const text = bytes.toString("utf8").replace(/^\uFEFF|\r(?=\n)/g, "");
        return parsed.status === "migration" ? [{ ...parsed.migration, file: projectPath(options.projectRoot, path.join(options.migrationsDir, name)), text }] : [];
      })
      .sort((a, b) => a.version - b.version || compareText(a.fileName, b.fileName));
  /** The files directly inside the folder at `commit`, from the object store; a commit without the folder has none. Symlinks and submodules are never migrations. */
  const readFolderAt = (commit: string) => {
    const listed = git(["ls-tree", "-z", "--end-of-options", `${commit}:${folder}`], { allowFailure: true });
    if (listed.status !== 0 && commitOf(commit) === null) throw gitFailedError(["ls-tree", `${commit}:${folder}`], listed.status, listed.stderr);
    const entries = (listed.status === 0 ? listed.stdout.split("\0") : []).flatMap((record) => {
      const [mode, type, object] = record.slice(0, record.indexOf("\t")).split(" ");
      return record === "" || type !== "blob" || mode === "120000" ? [] : [{ name: record.slice(record.indexOf("\t") + 1), object: object! }];
    });
    const output = entries.length === 0 ? Buffer.alloc(0) : git(["cat-file", "--batch"], { input: entries.map((entry) => `${entry.object}\n`).join("") }).bytes;
    let offset = 0;
    return toMigrations(
      entries.map(({ name }) => {
        const headerEnd = output.indexOf(0x0a, offset);
        const size = Number(output.subarray(offset, headerEnd).toString("utf8").split(" ")[2]);
        offset = headerEnd + 1 + size + 1;
        return { name, bytes: output.subarray(headerEnd + 1, headerEnd + 1 + size) };
      }),
    );
  };
  const baseMigrations = readFolderAt(base.commit);
  const mergeBaseMigrations = mergeBase === null ? [] : readFolderAt(mergeBase);
  const local = toMigrations(readWorkingFolder(options.migrationsDir)).map((migration) => {
    const [onBase, atMergeBase] = [baseMigrations, mergeBaseMigrations].map((list) => list.find((other) => other.fileName === migration.fileName));
    const sameVersionAndText = (other: BranchMigration) => other.version === migration.version && other.text === migration.text;
    let origin: Origin;
    if (onBase?.text === migration.text || baseMigrations.some(sameVersionAndText)) origin = "shared";
    else if (atMergeBase === undefined) origin = mergeBaseMigrations.some(sameVersionAndText) ? "untouched" : "added";
    else if (atMergeBase.text === migration.text) origin = "untouched";
    else origin = onBase !== undefined && onBase.text === atMergeBase.text ? "edited-here" : "edited-on-both-sides";
    return { ...migration, origin };
  });
  const unmergedPaths = git(["ls-files", "-u", "-z", "--", folder === "" ? "." : folder])
    .stdout.split("\0")
    .flatMap((record) => (record.includes("\t") ? [record.slice(record.indexOf("\t") + 1)] : []));
  const unmerged = [...new Set(unmergedPaths)].sort().map((file) => projectPath(options.projectRoot, path.join(topLevel, file)));
  return { base, mergeBase, local, baseMigrations, unmerged };
}

/** The git work tree that holds `projectRoot`, and how to ask it things; `NOT_A_GIT_REPOSITORY` outside any. */
function openRepository(projectRoot: string, operation: string) {
  const run = (cwd: string, args: readonly string[], { input, allowFailure = false }: { input?: string; allowFailure?: boolean } = {}) => {
    // A user's pager, editor or terminal prompt must never hang a command that only reads.
    const result = spawnSync("git", args, { cwd, input, maxBuffer: 1024 * 1024 * 1024, env: { ...process.env, GIT_PAGER: "cat", GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" } });
    if ((result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
      const message = `${operation} reads the base branch's migrations from git, but the git command was not found. Install git (or put it on the PATH) and run it again. Nothing was changed.`;
      throw new StepwiseError("GIT_NOT_FOUND", message, { operation }, { cause: result.error });
    }
    if (result.error) throw gitFailedError(args, null, result.error.message);
    const stderr = result.stderr.toString("utf8");
    if (result.status !== 0 && !allowFailure) throw gitFailedError(args, result.status, stderr);
    return { status: result.status, stdout: result.stdout.toString("utf8"), bytes: result.stdout, stderr };
  };
  const topLevelRun = run(projectRoot, ["rev-parse", "--show-toplevel"], { allowFailure: true });
  if (topLevelRun.status !== 0) {
    const message = `${operation} compares this branch's migrations with another branch's, but ${projectRoot} is not inside a git repository. Run it in a clone of your project. Nothing was changed.`;
    throw new StepwiseError("NOT_A_GIT_REPOSITORY", message, { directory: projectRoot, operation });
  }
  const topLevel = fs.realpathSync(topLevelRun.stdout.trim());
  const git = (args: readonly string[], options?: { input?: string; allowFailure?: boolean }) => run(topLevel, args, options);
  // `--end-of-options` keeps a ref that starts with "-" from being read as an option.
  const commitOf = (ref: string): string | null => {
    const result = git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`], { allowFailure: true });
    return result.status === 0 ? result.stdout.trim() : null;
  };
  return { topLevel, git, commitOf };
}

/** `ref` when given, else the default branch: where `origin/HEAD` points, else the first of main, master, origin/main, origin/master. */
function resolveBase(ref: string | null, commitOf: (ref: string) => string | null, originHead: () => { status: number | null; stdout: string }) {
  const head = ref === null ? originHead() : null;
  const candidates = ref !== null ? [ref] : [...(head?.status === 0 ? [head.stdout.trim()] : []), "main", "master", "origin/main", "origin/master"];
  const tried = ref === null ? ["origin/HEAD"] : [];
  for (const [index, candidate] of candidates.entries()) {
    const fromOriginHead = ref === null && index === 0 && head?.status === 0;
    if (!fromOriginHead) tried.push(candidate);
    const commit = commitOf(candidate);
    if (commit !== null) return { ref: candidate, commit, chosenBy: ref !== null ? "--base" : fromOriginHead ? "origin/HEAD" : `the default branch (tried ${tried.join(", ")})` };
  }
  const message =
    ref === null
      ? `Could not find the default branch (tried ${tried.join(", ")}). Pass the branch you will merge into, such as --base origin/main. Nothing was changed.`
      : `"${ref}" is not a commit in this repository. Fetch it first (git fetch origin) or pass another --base: a branch or commit this repository has ("git branch -a" lists them). Nothing was changed.`;
  throw new StepwiseError("GIT_REF_NOT_FOUND", message, { ref, tried });
}

/** The working folder's regular files; a missing folder or an unreadable file is left to `gen` to report. */
function readWorkingFolder(migrationsDir: string): { name: string; bytes: Buffer }[] {
  return tryOr(() => fs.readdirSync(migrationsDir), []).flatMap((name) => {
    const absolute = path.join(migrationsDir, name);
    return tryOr(() => (fs.statSync(absolute).isFile() ? [{ name, bytes: fs.readFileSync(absolute) }] : []), []);
  });
}

function gitFailedError(args: readonly string[], exitCode: number | null, stderr: string): StepwiseError<"GIT_FAILED"> {
  return new StepwiseError("GIT_FAILED", `git ${args.join(" ")} failed (exit ${exitCode ?? "signal"}): ${stderr.trim() || "no message"}. Nothing was changed.`, { args, exitCode, stderr });
}

/** `gen --check --base <ref>`: a `VERSION_TAKEN_ON_BASE` for each version both branches use for different migrations, before the merge does. */
export function checkAgainstBase(options: Where): Problem[] {
  const { base, local, baseMigrations } = compareWithBase(options, "stepwise gen --check --base");
  return local.flatMap((migration) => {
    if (migration.origin === "shared" || migration.origin === "untouched") return [];
    const fix =
      migration.origin === "added"
        ? `run "stepwise rebase --base ${base.ref}" to renumber this branch's migrations after ${base.ref}'s newest`
        : migration.origin === "edited-on-both-sides"
          ? `both branches changed this migration since they split; keep one version of it (or move your change into a new migration)`
          : `this branch changed a migration ${base.ref} already has; databases that applied it will refuse it with CHECKSUM_MISMATCH, so move the change into a new migration`;
    // A squash takes the version of the newest migration it replaced, which its record names.
    const replaced = readSquashRecord(migration.text);
    const replaces = (other: BranchMigration) => replaced !== null && "record" in replaced && replaced.record.replaced.some((each) => each.version === other.version && each.name === other.name);
    // A squash also holds the versions below its own: one the base has as another migration (the base squashed too) has a checksum the squash does not record.
    const squashed = replaced !== null && "record" in replaced ? replaced.record.version : null;
    return baseMigrations
      .filter((other) => (other.version === migration.version || (squashed !== null && other.version < squashed)) && !replaces(other))
      .map((other): Problem => {
        const message =
          other.version === migration.version
            ? `version ${migration.version} is also used on ${base.ref} by ${other.file}, with different content; ${fix}`
            : `this squash replaces version ${other.version}, which ${base.ref} now has as ${other.file}, so databases built from ${base.ref} hold a checksum it does not record; squash again on top of ${base.ref} (take its migrations, then run "stepwise squash --to ${squashed}")`;
        return { code: "VERSION_TAKEN_ON_BASE", file: migration.file, line: 1, column: 1, message, base: { ref: base.ref, file: other.file, version: other.version } };
      });
  });
}

/**
 * Works out the renumbering without changing anything, as plain data (`--json` prints it): the base (`chosenBy`: `--base`, `origin/HEAD` or the default branch), `mergeBase` (`null`: no shared
 * history), this branch's migrations in their new order, the `renames` and the `importRewrites` (`file: old → new`). `REBASE_CONFLICT` for an open merge conflict or a migration changed on both sides.
 */
export function planRebase(options: Where) {
  const comparison = compareWithBase(options, "stepwise rebase");
  if (comparison.unmerged.length > 0) throw rebaseConflictError("unmerged", comparison.unmerged, comparison.base.ref);
  const editedTwice = comparison.local.filter((migration) => migration.origin === "edited-on-both-sides").map((migration) => migration.file);
  if (editedTwice.length > 0) throw rebaseConflictError("edited-on-both-sides", editedTwice, comparison.base.ref);
  const baseLatestVersion = Math.max(0, ...comparison.baseMigrations.map((migration) => migration.version));
  // A squash must keep the version its record names (the newest it replaced): renumbered, gen refuses it (SQUASH_RECORD_INVALID). Whether the base took a version it replaces is gen --check --base's to say.
  const isSquash = (migration: BranchMigration) => {
    const read = readSquashRecord(migration.text);
    return read !== null && "record" in read && read.record.version === migration.version;
  };
  const renumbered = (migration: (typeof comparison.local)[number]) => migration.origin === "added" && !isSquash(migration);
  const [added, kept] = [comparison.local.filter(renumbered), comparison.local.filter((each) => !renumbered(each))];
  // A migration this branch keeps (one the base deleted, say) still holds its number.
  let next = Math.max(baseLatestVersion, ...kept.map((migration) => migration.version)) + 1;
  const width = versionWidthOf([...comparison.local, ...comparison.baseMigrations].map((migration) => migration.fileName));
  const renames: { from: string; to: string; fromVersion: number; toVersion: number; name: string }[] = [];
  const branchMigrations = added.map((migration) => {
    const toVersion = next++;
    const to = path.posix.join(path.posix.dirname(migration.file), formatMigrationFileName(toVersion, migration.name, migration.kind, width));
    if (to !== migration.file) renames.push({ from: migration.file, to, fromVersion: migration.version, toVersion, name: migration.name });
    return to;
  });
  const importRewrites = findReferenceRewrites(options.projectRoot, options.migrationsDir, movesOf(options.projectRoot, renames)).flatMap((rewrite) =>
    rewrite.changes.map((change) => `${projectPath(options.projectRoot, rewrite.file)}: ${change}`),
  );
  const baseVersions = [...new Set(comparison.baseMigrations.map((migration) => migration.version))];
  return { base: comparison.base, mergeBase: comparison.mergeBase, baseLatestVersion, baseVersions, branchMigrations, renames, importRewrites };
}
type RebasePlan = ReturnType<typeof planRebase>;

/** The file system calls applying makes (`writeFileSync` replaces a file's text atomically); tests substitute one to fail a chosen step. */
export interface RenameFileSystem {
  renameSync(from: string, to: string): void;
  existsSync(file: string): boolean;
  writeFileSync(file: string, text: string): void;
}

/**
 * Renames the plan's files and rewrites the imports of them (re-read now), all or nothing: each file moves to a temporary name first, so a new name that is another's old one never overwrites it, and
 * every step is undone in reverse on a failure.
 *
 * @throws `REBASE_CONFLICT` when a new name is taken; `REBASE_RENAME_FAILED` when a step fails (`restored`: everything was put back).
 */
export function applyRebase(plan: RebasePlan, options: { projectRoot: string; migrationsDir: string; fileSystem?: RenameFileSystem }): void {
  const io = options.fileSystem ?? { renameSync: fs.renameSync, existsSync: entryExists, writeFileSync: (file: string, text: string) => writeFileAtomic(file, text) };
  const label = (file: string) => projectPath(options.projectRoot, file);
  const moves = movesOf(options.projectRoot, plan.renames);
  // A file's temporary name is its own behind a dot, which gen refuses with the advice to drop the dot: a rebase killed between the two renames leaves no migration hidden.
  const staged = [...moves].map(([from, to]) => ({ from, to, temporary: path.join(path.dirname(from), `.${path.basename(from)}`) }));
  const taken = [...[...moves.values()].filter((to) => !moves.has(to)), ...staged.map((move) => move.temporary)].filter((file) => io.existsSync(file)).map(label);
  if (taken.length > 0) throw rebaseConflictError("target-exists", taken, "");
  // Each step taken: how to undo it, and what to tell when that fails too.
  const journal: { undo: () => void; pending: string }[] = [];
  const steps = [
    ...staged.map((move) => ({ file: move.from, from: move.from, to: move.temporary })),
    ...staged.map((move) => ({ file: move.to, from: move.temporary, to: move.to })),
    ...findReferenceRewrites(options.projectRoot, options.migrationsDir, moves).map((rewrite) => ({ ...rewrite, file: moves.get(rewrite.file) ?? rewrite.file })),
  ];
  let current = "";
  try {
    for (const step of steps) {
      current = step.file;
      if ("text" in step) {
        io.writeFileSync(step.file, step.text);
        journal.push({ undo: () => io.writeFileSync(step.file, step.originalText), pending: `${label(step.file)} (its original text) → ${label(step.file)}` });
      } else {
        io.renameSync(step.from, step.to);
        journal.push({ undo: () => io.renameSync(step.to, step.from), pending: `${label(step.to)} → ${label(step.from)}` });
      }
    }
  } catch (error) {
    const pending = journal.reverse().flatMap((step) => {
      try {
        step.undo();
        return [];
      } catch {
        return [step.pending];
      }
    });
    const file = label(current);
    const systemCode = (error as NodeJS.ErrnoException).code ?? (error as { systemCode?: string }).systemCode ?? null;
    const message =
      `Could not rename ${file} (${systemCode ?? "error"}). ` +
      (pending.length === 0
        ? "Every file already renamed was put back: the migrations folder is as it was, and the registry was not touched. Check that the folder is writable and run rebase again."
        : `Putting the files back failed too; move these by hand: ${pending.join("; ")}. The registry was not touched.`);
    throw new StepwiseError("REBASE_RENAME_FAILED", message, { file, systemCode, restored: pending.length === 0, pending }, { cause: error });
  }
}

/** Whether anything is at `file`, a link to nothing included: a name it holds is taken. */
function entryExists(file: string): boolean {
  return fs.lstatSync(file, { throwIfNoEntry: false }) !== undefined;
}

function movesOf(projectRoot: string, renames: readonly { from: string; to: string }[]): Map<string, string> {
  return new Map(renames.map((rename) => [path.resolve(projectRoot, rename.from), path.resolve(projectRoot, rename.to)]));
}

const SCRIPT_EXTENSION = /\.(?:[cm]?[jt]sx?)$/;

/**
 * The edits to the file name in relative imports of a moved file, in the migrations folder and below, and in the project files outside it that its migrations import, as gen follows them (a
 * helper re-exporting from a migration); an alias is gen's to report. By old path.
 */
function findReferenceRewrites(projectRoot: string, migrationsDir: string, moves: ReadonlyMap<string, string>): { file: string; text: string; originalText: string; changes: string[] }[] {
  const stem = (file: string) => file.replace(SCRIPT_EXTENSION, "").replace(/\.sql$/, "");
  const movedStems = new Map([...moves].map(([from, to]) => [stem(from), path.basename(stem(to))]));
  if (movedStems.size === 0) return [];
  const inFolder = listScriptFiles(migrationsDir);
  const imported = inFolder.flatMap((file) => {
    const sourceFile = tryOr(() => ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true), null);
    // What cannot be followed is gen's to report after the renames, as before.
    return sourceFile === null ? [] : tryOr(() => followLocalImports({ absolutePath: file, sourceFile, ownChecksum: "", projectRoot }).files, []).map((each) => path.resolve(projectRoot, each));
  });
  const outside = [...new Set(imported)].filter((file) => !inFolder.includes(file) && SCRIPT_EXTENSION.test(file) && !file.endsWith(".d.ts") && fs.existsSync(file)).sort();
  return [...inFolder, ...outside].flatMap((file) => {
    const originalText = fs.readFileSync(file, "utf8");
    const edits: { start: number; end: number; replacement: string }[] = [];
    // The same reading of imports as gen's checksum, so every form gen follows (`export * as ns from`, a require made by createRequire) is renamed too.
    const sourceFile = ts.createSourceFile(file, originalText, ts.ScriptTarget.Latest, true);
    for (const { node, specifier, fromDir } of findImportSpecifiers(sourceFile, { typesToo: true })) {
      if (specifier === null || (!specifier.startsWith("./") && !specifier.startsWith("../"))) continue;
      const newStem = movedStems.get(stem(path.resolve(fromDir ?? path.dirname(file), specifier)));
      // Inside the literal's quotes; a string whose escapes make it differ from its text is left for gen to report.
      const start = node.getStart(sourceFile) + 1;
      if (newStem === undefined || originalText.slice(start, start + specifier.length) !== specifier) continue;
      const base = specifier.slice(specifier.lastIndexOf("/") + 1);
      edits.push({ start, end: start + specifier.length, replacement: `${specifier.slice(0, specifier.length - base.length)}${newStem}${SCRIPT_EXTENSION.exec(base)?.[0] ?? ""}` });
    }
    if (edits.length === 0) return [];
    let text = originalText;
    for (const edit of [...edits].sort((a, b) => b.start - a.start)) text = text.slice(0, edit.start) + edit.replacement + text.slice(edit.end);
    return [{ file, text, originalText, changes: edits.map((edit) => `${originalText.slice(edit.start, edit.end)} → ${edit.replacement}`) }];
  });
}

function listScriptFiles(folder: string): string[] {
  return tryOr(() => fs.readdirSync(folder).sort(), []).flatMap((entry) => {
    if (entry === "node_modules" || entry.startsWith(".")) return [];
    const absolute = path.join(folder, entry);
    const stats = tryOr(() => fs.statSync(absolute), null);
    if (stats?.isDirectory()) return listScriptFiles(absolute);
    return stats?.isFile() && SCRIPT_EXTENSION.test(entry) && !entry.endsWith(".d.ts") ? [absolute] : [];
  });
}

/** Renumbering would not resolve it, or would clobber a file. Nothing was changed. */
function rebaseConflictError(reason: RebaseConflictReason, files: readonly string[], base: string): StepwiseError<"REBASE_CONFLICT"> {
  const listed = files.join(", ");
  const advice: Record<RebaseConflictReason, string> = {
    "edited-on-both-sides": `${listed} existed before this branch and was changed both here and on ${base}; renumbering cannot merge two edits of one migration. Keep one version of the file (or move your change into a new migration), then run rebase again.`,
    unmerged: `${listed} ${files.length === 1 ? "has" : "have"} an unresolved merge conflict; resolve it (git add) and run rebase again.`,
    "target-exists": `the new name ${listed} is already taken by another file; move that file away and run rebase again.`,
  };
  return new StepwiseError("REBASE_CONFLICT", `Refusing to rebase: ${advice[reason]} Nothing was changed.`, { reason, files });
}
/**
 * The `rebase` command: plans, refuses when the database records a migration it would renumber (same version, name and checksum: another row is the base's), and with `--yes` renames and regenerates;
 * prints the outcome.
 */
export async function runRebase(options: { base?: string; yes?: boolean; dbCheck: boolean; json?: boolean }, settings: StepwiseSettings, command: Command, context: CliContext): Promise<void> {
  const { projectRoot, migrationsDir, registryFile } = settings;
  const plan = planRebase({ projectRoot, migrationsDir, base: options.base ?? null });
  let databaseCheck: { status: "checked" | "no-database" | "skipped"; database: string | null } = { status: "skipped", database: null };
  if (plan.renames.length > 0 && options.dbCheck) {
    const history = await context.readAppliedHistory(command);
    databaseCheck = { status: history === null ? "no-database" : "checked", database: history?.database ?? null };
    // A row is this branch's migration when its checksum is the file's: one of the same number and name with another checksum is the base's, applied there (or an older edit, which up reports).
    const scanned = history === null ? [] : scanMigrations({ projectRoot, migrationsDir, dialect: settings.dialect, target: settings.target }).migrations;
    const recordedHere = (rename: RebasePlan["renames"][number], row: { version: number; name: string; checksum: string }) =>
      row.version === rename.fromVersion && row.name === rename.name && row.checksum === (scanned.find((migration) => migration.file === rename.from)?.checksum ?? row.checksum);
    const applied = plan.renames.filter((rename) => history?.rows.some((row) => recordedHere(rename, row)));
    if (history !== null && applied.length > 0) {
      const [it, they] = applied.length === 1 ? ["it is", "it"] : ["they are", "them"];
      const listed = applied.map((rename) => `${rename.from} (version ${rename.fromVersion})`).join(", ");
      // One down reverts one migration: the branch's applied ones go back together, to the version below the oldest.
      const below = Math.min(...applied.map((rename) => rename.fromVersion)) - 1;
      const message = `Refusing to renumber ${listed}: ${it} recorded as applied in ${history.database}, which would run ${they} again under the new number. Roll ${they} back first ("stepwise down --to ${below}"), or point rebase at another database (--db), then run rebase again. Nothing was changed.`;
      const migrations = applied.map((rename) => ({ version: rename.fromVersion, name: rename.name, file: rename.from }));
      throw new StepwiseError("REBASE_APPLIED_MIGRATION", message, { database: history.database, migrations });
    }
  }
  const applied = Boolean(options.yes) && plan.renames.length > 0;
  let registry: GenerateResult | null = null;
  if (applied) {
    applyRebase(plan, { projectRoot, migrationsDir });
    registry = await generateRegistry({ ...settings, cacheDir: defaultGenCacheDir(projectRoot) });
  }
  // Renumbered before merging the base, this branch's migrations leave gaps where the base's are, which the merge fills.
  const baseVersions = new Set(plan.baseVersions);
  const awaitingMerge =
    registry !== null &&
    !registry.ok &&
    registry.problems.every((problem) => {
      const gap = problem.code === "VERSION_GAP" ? problem.missingVersions : undefined;
      for (let version = gap?.from ?? 1; version <= (gap?.to ?? 0); version++) if (!baseVersions.has(version)) return false;
      return gap !== undefined;
    });
  if (registry !== null && !registry.ok && !awaitingMerge) context.setExitCode(1);
  if (options.json) {
    const registryJson = registry && { ok: registry.ok, status: awaitingMerge ? "awaiting-merge" : registry.status, problems: registry.problems };
    context.io.stdout(`${JSON.stringify({ ...plan, databaseCheck, applied, registry: registryJson }, null, 2)}\n`);
    return;
  }
  const print = (text: string) => context.io.stdout(`${text}\n`);
  const { palette } = context;
  const registryLabel = path.relative(projectRoot, registryFile);
  const mergeBase = plan.mergeBase === null ? "no merge base" : `merge base ${plan.mergeBase.slice(0, 12)}`;
  print(`Base: ${plan.base.ref} (chosen by ${plan.base.chosenBy}), newest version ${plan.baseLatestVersion === 0 ? "none" : formatVersion(plan.baseLatestVersion)}; ${mergeBase}.`);
  if (plan.renames.length === 0) {
    const already = `Nothing to rebase: this branch's migrations already follow ${plan.base.ref}'s newest (${plan.branchMigrations.join(", ")}).`;
    return print(palette.green(plan.branchMigrations.length === 0 ? `Nothing to rebase: this branch adds no migration that ${plan.base.ref} lacks.` : already));
  }
  print(`${applied ? "Renumbered" : "Would renumber"} ${plan.renames.length} migration${plan.renames.length === 1 ? "" : "s"} of this branch:`);
  for (const rename of plan.renames) print(`  ${rename.from} → ${rename.to}`);
  for (const rewrite of plan.importRewrites) print(`  import in ${rewrite}`);
  if (databaseCheck.status === "checked") print(`Checked ${databaseCheck.database}: none of them is recorded as applied.`);
  else if (databaseCheck.status === "no-database") {
    print(palette.yellow("No database configured (--db, --url, the config's database or url, DATABASE_URL): not checked whether any of them was applied somewhere. Pass --db to check a database."));
  } else print(palette.yellow("Not checked against a database (--no-db-check)."));
  if (registry === null) print(`Dry run: nothing was changed. Run it again with --yes to rename the files and regenerate ${registryLabel}.`);
  else if (awaitingMerge)
    print(palette.yellow(`${registryLabel} was not regenerated yet: versions the base has are not here until you merge it. Run "git merge ${plan.base.ref}", then "stepwise gen".`));
  else if (!registry.ok) {
    context.io.stderr(`The files were renamed, but ${registryLabel} was not regenerated:\n`);
    printProblems(registry.problems, context);
  } else print(palette.green(`Regenerated ${registryLabel}.`));
}

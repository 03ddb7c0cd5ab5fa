/** The `squash` command: plans the squash, prints it, and with `--yes` deletes the migrations it replaces, writes it, and regenerates the registry. */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import path from "node:path";
import type { CliContext } from "../../src/cli/cli-props.js";
import { withFix } from "../../src/cli/error-fix.js";
import { StepwiseError } from "../../src/core/errors.js";
import { usageError } from "../../src/core/error-factories.js";
import type { MigrationRegistry } from "../../src/core/types.js";
import { generateRegistry, type GenerateResult } from "../generate.js";
import { escapeControlCharacters, formatProblem, tryOr } from "../problems.js";
import type { ReplayCheckOptions } from "../replay.js";
import { writeFileAtomic } from "../../src/safety/write-file.js";
import type { SquashFlags } from "./squash-help.js";
import { kindName, planSquash, type SquashPlan } from "./squash-plan.js";

/** Runs `stepwise squash --to K` for the bin. */
export async function runSquash(flags: SquashFlags, options: Omit<ReplayCheckOptions, "loadRegistry"> & { migrationsDir: string }, load: () => Promise<MigrationRegistry>, context: CliContext) {
  if (flags.to === undefined || !/^\d+$/.test(flags.to))
    throw withFix(
      usageError(`squash needs --to K, the newest version to squash (a whole number), not ${flags.to === undefined ? "nothing" : `"${flags.to}"`}.`),
      `pass --to K, the newest version to squash (a whole number of 2 or more)`,
    );
  const migrations = await load();
  const plan = await planSquash({ ...options, loadRegistry: load, to: Number(flags.to) }, migrations);
  let generated: GenerateResult | null = null;
  if (flags.yes) {
    refuseUncommitted(options.projectRoot, plan.removed);
    generated = await writeSquash(plan, options);
  }
  const pending = plan.review.length > 0;
  if (generated !== null && !generated.ok && !isOnlyReviewPending(generated)) return reportGenFailure(plan, generated, Boolean(flags.json), context);
  if (flags.json) {
    const { text: _text, ...rest } = plan;
    context.io.stdout(`${JSON.stringify({ ...rest, written: Boolean(flags.yes), reviewPending: pending && Boolean(flags.yes) }, null, 2)}\n`);
    return;
  }
  context.io.stdout(`${describePlan(plan, Boolean(flags.yes))}\n`);
  if (!flags.yes) return void context.io.stderr(`Nothing was written (a dry run); run it again with --yes to write it.\n`);
  context.io.stderr(
    pending
      ? `Next: read each "-- stepwise:review" note in ${plan.file}, keep or change the SQL below it, delete the note, then run "stepwise gen" and commit.\n`
      : `Next: run "stepwise gen --check" and commit the squash with the deletions.\n`,
  );
}

/**
 * Writes the squash, deletes the migrations it replaces and regenerates the registry. A failure part way (a file it cannot delete, gen refusing the result for any reason but the review
 * notes) puts every file back as it was, so a failed squash leaves nothing half done: the squash file gone, the originals' bytes back, the registry as it was.
 */
async function writeSquash(plan: SquashPlan, options: Omit<ReplayCheckOptions, "loadRegistry"> & { migrationsDir: string }): Promise<GenerateResult> {
  const squashFile = path.join(options.projectRoot, plan.file);
  const removed = plan.removed.map((file) => path.join(options.projectRoot, file));
  // Read before anything changes (an unreadable original stops the squash here, with nothing written): the bytes a failure puts back, null for a file that was absent.
  const before = new Map<string, Buffer | null>();
  for (const file of removed) before.set(file, readFileSync(file));
  for (const file of [squashFile, options.registryFile]) if (!before.has(file)) before.set(file, existsSync(file) ? readFileSync(file) : null);
  try {
    writeFileAtomic(squashFile, plan.text);
    // Migration K may already have the squash's name (a squash undone by hand, then made again): it was just overwritten, and deleting it would leave a gap.
    for (const file of removed) if (file !== squashFile) deleteOriginal(file, options.projectRoot);
    const generated = await generateRegistry(options);
    if (!generated.ok && !isOnlyReviewPending(generated)) restoreFiles(before);
    return generated;
  } catch (error) {
    restoreFiles(before);
    if (error instanceof StepwiseError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`squash could not finish (${reason}), so it put every file back as it was: nothing was written. Fix the cause, then run squash again.`, { cause: error });
  }
}

/**
 * Deletes one original. `unlink`, not `rm`: on a file it may not delete, `rm` reports a directory it failed to read (ENOTDIR), not the refusal. A failure is `FILE_WRITE_FAILED` naming the file,
 * thrown after every file is put back.
 */
function deleteOriginal(file: string, projectRoot: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    const systemCode = typeof (error as NodeJS.ErrnoException).code === "string" ? (error as NodeJS.ErrnoException).code! : null;
    const label = path.relative(projectRoot, file).split(path.sep).join("/");
    const message = `squash could not delete ${label} (${systemCode ?? "error"}), so it put every file back as it was: nothing was written. Make the file deletable (close what holds it open, make its folder writable), then run squash again.`;
    throw new StepwiseError("FILE_WRITE_FAILED", message, { file, step: "delete", systemCode, bytesWritten: 0, bytesExpected: 0 }, { cause: error });
  }
}

/** Puts each file back to its bytes (removing one that was absent); keeps going past a failure, so one stuck file does not leave the others changed. */
function restoreFiles(before: ReadonlyMap<string, Buffer | null>): void {
  for (const [file, bytes] of before)
    tryOr(() => {
      if (bytes === null) rmSync(file, { force: true });
      // Atomic: putting a file back on the disk that just filled up must not leave it cut short.
      else if (!existsSync(file) || !readFileSync(file).equals(bytes)) writeFileAtomic(file, bytes);
    }, undefined);
}

/** Gen refused the squash only for its `-- stepwise:review` notes: the state squash leaves on purpose, for the user to read. */
function isOnlyReviewPending(generated: GenerateResult): boolean {
  return generated.problems.every((problem) => problem.code === "SQUASH_REVIEW_PENDING");
}

/** Gen refused the folder the squash left for another reason, and the folder was put back: each problem with its code, and a failing exit. */
function reportGenFailure(plan: SquashPlan, generated: GenerateResult, json: boolean, context: CliContext): void {
  const problems = generated.problems.filter((problem) => problem.code !== "SQUASH_REVIEW_PENDING");
  context.setExitCode(1);
  if (json) {
    const { text: _text, ...rest } = plan;
    return void context.io.stdout(`${JSON.stringify({ ...rest, written: false, reviewPending: false, problems }, null, 2)}\n`);
  }
  for (const problem of problems) context.io.stderr(`${formatProblem(problem)}\n`);
  context.io.stderr(`gen refused the folder with ${plan.file} in it, so squash put every file back as it was: nothing was written. Fix the problem above, then run squash again.\n`);
}

function describePlan(plan: SquashPlan, written: boolean): string {
  const objects = Object.entries(plan.objects)
    .map(([kind, count]) => `${count} ${kindName(kind, count)}`)
    .join(", ");
  // A table's name may hold a line break or a terminal escape.
  const review = plan.review.map((item) =>
    escapeControlCharacters(
      item.kind === "seed-rows"
        ? `    rows: ${item.rows} in ${item.subject}`
        : item.kind === "typescript" || item.kind === "other-schema"
          ? `    ${item.kind === "typescript" ? "TypeScript" : "not carried"}: ${item.subject}`
          : `    ${item.kind === "file-setting" ? "file setting" : "data"}: ${item.subject}:${item.line}: ${item.statement}`,
    ),
  );
  return [
    `${written ? "Wrote" : "Would write"} ${plan.file}: migrations 1 to ${plan.version} as one (${objects || "no objects"}); ${plan.kept} later migration${plan.kept === 1 ? "" : "s"} unchanged.`,
    `  ${written ? "Deleted" : "Would delete"}: ${listSome(plan.removed)}`,
    ...(review.length > 0 ? [`  To review (marked "-- stepwise:review" in the file):`, ...review] : []),
  ].join("\n");
}

/** The first files of `files`, then how many more: a squash of thousands of migrations listed every one on a line of hundreds of KB (`--json` and the error's `files` list them all). */
function listSome(files: readonly string[], shown = 10): string {
  return files.length <= shown ? files.join(", ") : `${files.slice(0, shown).join(", ")} and ${files.length - shown} more (--json lists every one)`;
}

/** The files squash deletes must be in git as they are, so git history keeps them. */
function refuseUncommitted(projectRoot: string, files: readonly string[]): void {
  const git = (args: string[]) => spawnSync("git", args, { cwd: projectRoot, encoding: "utf8", env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" } });
  // --full-name: ls-files prints paths relative to the project otherwise, and status relative to the repository's top, which the prefix below gives.
  const tracked = git(["ls-files", "-z", "--full-name", "--", ...files]);
  // Without git nothing can say the files are committed: that is the fix to give, not "commit them first".
  if ((tracked.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
    const message = `squash deletes the migrations it replaces only once git holds them, but the git command was not found. Install git (or put it on the PATH) and run it again. Nothing was written.`;
    throw new StepwiseError("GIT_NOT_FOUND", message, { operation: "stepwise squash --yes" }, { cause: tracked.error });
  }
  const changed = git(["status", "--porcelain", "-z", "--", ...files]);
  const inGit = tracked.status === 0 ? new Set(tracked.stdout.split("\0")) : new Set<string>();
  const dirty = new Set(changed.status === 0 ? changed.stdout.split("\0").map((line) => line.slice(3)) : files);
  // git prints paths relative to the repository's top, which may be above the project: one prefix for every file.
  const prefix = git(["rev-parse", "--show-prefix"]);
  const top = prefix.status === 0 ? prefix.stdout.replace(/\n$/, "") : "";
  // Normalised: a migrations folder outside the project (a monorepo's "../db/migrations") is named from the project's prefix through "..".
  const inRepository = (file: string) => path.posix.normalize(`${top}${file}`);
  const lost = files.filter((file) => !inGit.has(inRepository(file)) || dirty.has(inRepository(file)));
  if (lost.length === 0) return;
  const message = `squash deletes the migrations it replaces, and git does not hold ${listSome(lost)} as ${lost.length === 1 ? "it is" : "they are"} (uncommitted, untracked, or no repository), so ${lost.length === 1 ? "its" : "their"} text would be lost. Commit them first. Nothing was written.`;
  throw new StepwiseError("SQUASH_UNCOMMITTED", message, { files: lost });
}

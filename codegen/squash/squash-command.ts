/** The `squash` command: plans the squash, prints it, and with `--yes` deletes the migrations it replaces, writes it, and regenerates the registry. */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import type { CliContext } from "../../src/cli/cli-props.js";
import { StepwiseError } from "../../src/core/errors.js";
import { usageError } from "../../src/core/error-factories.js";
import type { MigrationRegistry } from "../../src/core/types.js";
import { generateRegistry } from "../generate.js";
import { formatProblem } from "../problems.js";
import type { ReplayCheckOptions } from "../replay.js";
import { writeFileAtomic } from "../write-file.js";
import type { SquashFlags } from "./squash-help.js";
import { planSquash, type SquashPlan } from "./squash-plan.js";

/** Runs `stepwise squash --to K` for the bin. */
export async function runSquash(flags: SquashFlags, options: Omit<ReplayCheckOptions, "loadRegistry"> & { migrationsDir: string }, load: () => Promise<MigrationRegistry>, context: CliContext) {
  if (flags.to === undefined || !/^\d+$/.test(flags.to))
    throw usageError(`squash needs --to K, the newest version to squash (a whole number), not ${flags.to === undefined ? "nothing" : `"${flags.to}"`}.`);
  const migrations = await load();
  const plan = await planSquash({ ...options, loadRegistry: load, to: Number(flags.to) }, migrations);
  let generated: Awaited<ReturnType<typeof generateRegistry>> | null = null;
  if (flags.yes) {
    refuseUncommitted(options.projectRoot, plan.removed);
    // The squash first: a failure part way then leaves the originals (and git holds them), never a gap.
    writeFileAtomic(path.join(options.projectRoot, plan.file), plan.text);
    // Migration K may already have the squash's name (a squash undone by hand, then made again): it was just overwritten, and deleting it would leave a gap.
    for (const file of plan.removed) if (file !== plan.file) rmSync(path.join(options.projectRoot, file));
    generated = await generateRegistry({
      projectRoot: options.projectRoot,
      migrationsDir: options.migrationsDir,
      registryFile: options.registryFile,
      dialect: options.dialect,
      target: options.target,
    });
  }
  const pending = plan.review.length > 0;
  if (flags.json) {
    const { text: _text, ...rest } = plan;
    context.io.stdout(`${JSON.stringify({ ...rest, written: Boolean(flags.yes), reviewPending: pending && Boolean(flags.yes) }, null, 2)}\n`);
    return;
  }
  context.io.stdout(`${describePlan(plan, Boolean(flags.yes))}\n`);
  if (!flags.yes) return void context.io.stderr(`Nothing was written (a dry run); run it again with --yes to write it.\n`);
  if (generated && !generated.ok && !generated.problems.every((problem) => problem.code === "SQUASH_REVIEW_PENDING"))
    for (const problem of generated.problems) context.io.stderr(`${formatProblem(problem)}\n`);
  context.io.stderr(
    pending
      ? `Next: read each "-- stepwise:review" note in ${plan.file}, keep or change the SQL below it, delete the note, then run "stepwise gen" and commit.\n`
      : `Next: run "stepwise gen --check" and commit the squash with the deletions.\n`,
  );
}

function describePlan(plan: SquashPlan, written: boolean): string {
  const objects = Object.entries(plan.objects)
    .map(([kind, count]) => `${count} ${kind}${count === 1 ? "" : "s"}`)
    .join(", ");
  const review = plan.review.map((item) =>
    item.kind === "seed-rows"
      ? `    rows: ${item.rows} in ${item.subject}`
      : item.kind === "typescript"
        ? `    TypeScript: ${item.subject}`
        : `    data: ${item.subject}:${item.line}: ${item.statement}`,
  );
  return [
    `${written ? "Wrote" : "Would write"} ${plan.file}: migrations 1 to ${plan.version} as one (${objects || "no objects"}); ${plan.kept} later migration${plan.kept === 1 ? "" : "s"} unchanged.`,
    `  ${written ? "Deleted" : "Would delete"}: ${plan.removed.join(", ")}`,
    ...(review.length > 0 ? [`  To review (marked "-- stepwise:review" in the file):`, ...review] : []),
  ].join("\n");
}

/** The files squash deletes must be in git as they are, so git history keeps them. */
function refuseUncommitted(projectRoot: string, files: readonly string[]): void {
  const git = (args: string[]) => spawnSync("git", args, { cwd: projectRoot, encoding: "utf8", env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" } });
  // --full-name: ls-files prints paths relative to the project otherwise, and status relative to the repository's top, which the prefix below gives.
  const tracked = git(["ls-files", "-z", "--full-name", "--", ...files]);
  const changed = git(["status", "--porcelain", "-z", "--", ...files]);
  const inGit = tracked.status === 0 ? new Set(tracked.stdout.split("\0")) : new Set<string>();
  const dirty = new Set(changed.status === 0 ? changed.stdout.split("\0").map((line) => line.slice(3)) : files);
  // git prints paths relative to the repository's top, which may be above the project: one prefix for every file.
  const prefix = git(["rev-parse", "--show-prefix"]);
  const top = prefix.status === 0 ? prefix.stdout.replace(/\n$/, "") : "";
  const lost = files.filter((file) => !inGit.has(`${top}${file}`) || dirty.has(`${top}${file}`));
  if (lost.length === 0) return;
  const message = `squash deletes the migrations it replaces, and git does not hold ${lost.join(", ")} as ${lost.length === 1 ? "it is" : "they are"} (uncommitted, untracked, or no repository), so ${lost.length === 1 ? "its" : "their"} text would be lost. Commit them first. Nothing was written.`;
  throw new StepwiseError("SQUASH_UNCOMMITTED", message, { files: lost });
}

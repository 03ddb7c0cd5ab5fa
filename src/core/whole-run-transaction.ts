/**
 * The rule for `up({ transaction: "all" })` and `down({ transaction: "all" })`: which plans can run as
 * one all-or-nothing transaction, and the error for those that cannot. It is checked before anything runs.
 */
import { StepwiseError } from "./errors.js";
import { copyTexts, keepText, option, runCall, text, type Text } from "./option-text.js";
import type { MigrationExecutor } from "./executor-types.js";
import type { Step } from "./step.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";
import type { WholeRunObstacle } from "./errors.js";

/**
 * `up({ transaction: "all" })` or `down({ transaction: "all" })` was refused, before anything ran;
 * nothing was changed.
 */
export function wholeRunTransactionRefusedError(fields: {
  version: number;
  file: string;
  obstacle: WholeRunObstacle;
  direction?: MigrationDirection;
  first?: boolean;
}): StepwiseError<"WHOLE_RUN_TRANSACTION_REFUSED"> {
  const direction = fields.direction ?? "up";
  const fix = wholeRunFix(fields.version, direction, fields.first ?? false);
  const texts = {};
  const error = new StepwiseError(
    "WHOLE_RUN_TRANSACTION_REFUSED",
    text`Cannot ${direction === "up" ? "apply the pending" : "revert the"} migrations in one transaction: migration ${fields.version} (${fields.file}) ${
      fields.obstacle === "transaction-false"
        ? `has transaction: false (VACUUM, CREATE INDEX CONCURRENTLY: statements that cannot run in a transaction).`
        : `switches foreign keys off, which SQLite only allows outside a transaction, so it would cover the whole run.`
    }\nNothing was changed. To get past it, ${fix}.`,
    { fix: keepText(texts, "fix", fix), version: fields.version, file: fields.file, obstacle: fields.obstacle, direction, firstOfRun: fields.first ?? false },
  );
  copyTexts(texts, error);
  return error;
}

/**
 * The calls that get past a refused whole run: up to the obstacle in one transaction, then the rest
 * without; when the obstacle comes first, it alone, then the rest.
 */
function wholeRunFix(version: number, direction: MigrationDirection, first: boolean): Text {
  const all = option("transaction", "all");
  if (direction === "up") {
    return first
      ? text`run ${runCall("up", { to: version })}, then ${runCall("up")} for the rest`
      : text`run ${runCall("up", { to: version - 1, transaction: "all" })}, then ${runCall("up")} for the rest`;
  }
  return first
    ? text`run ${runCall("down", { steps: 1 })} (it reverts ${version} on its own), then revert the rest without ${all}`
    : text`run ${runCall("down", { to: version, transaction: "all" })}, then revert the rest without ${all}`;
}

/** The first step that cannot run inside a whole-run transaction, or `null` when all can. */
export function findWholeRunObstacle(steps: readonly MigrationEntry[], foreignKeysEnforced: boolean): { entry: MigrationEntry; obstacle: WholeRunObstacle } | null {
  for (const entry of steps) {
    if (!entry.transaction) return { entry, obstacle: "transaction-false" };
    if (entry.disableForeignKeys && foreignKeysEnforced) return { entry, obstacle: "foreign-keys-off" };
  }
  return null;
}

/**
 * Throws `WHOLE_RUN_TRANSACTION_REFUSED` when {@link findWholeRunObstacle} finds a step. A
 * revert's steps come newest first, so the one named is the newest obstacle: everything above it can
 * still be reverted in one transaction.
 */
export function assertWholeRunPossible(steps: readonly MigrationEntry[], foreignKeysEnforced: boolean, direction: MigrationDirection = "up"): void {
  const found = findWholeRunObstacle(steps, foreignKeysEnforced);
  if (found) throw wholeRunTransactionRefusedError({ version: found.entry.version, file: found.entry.file, obstacle: found.obstacle, direction, first: found.entry === steps[0] });
}

/**
 * Refuses `steps` as one transaction, reading whether foreign keys are enforced on this connection:
 * first what the driver cannot run in any mode (the foreign-key switch it lacks), as the
 * per-migration path refuses it, since the whole-run advice (a shorter run, then the rest one by one)
 * would only meet that refusal next; then {@link assertWholeRunPossible}. The whole run checks its
 * plan with it, and the CLI before it creates a database file.
 */
export function* refuseWholeRunObstacles(executor: MigrationExecutor, steps: readonly MigrationEntry[], direction: MigrationDirection): Step<void> {
  executor.refuseUnsupportedMigrations(steps, direction);
  assertWholeRunPossible(steps, yield* executor.dialect.foreignKeysEnforced(), direction);
}

export type { WholeRunObstacle } from "./errors.js";

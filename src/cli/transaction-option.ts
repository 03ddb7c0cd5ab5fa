/**
 * `--transaction <mode>` of `up` and `down`: how the run is grouped into transactions (the library's
 * `transaction` option), and the check that lets `up --transaction all` refuse before the CLI
 * creates a database file, as every other refusal of a write command does.
 */
import { InvalidArgumentError, Option } from "commander";
import { DEFAULT_TRANSACTION_MODE, type TransactionMode } from "../core/options.js";
import type { MigrationPlan } from "../core/planner.js";
import type { MigrationEntry, MigrationRegistry } from "../core/types.js";
import { refuseWholeRunObstacles } from "../core/whole-run-transaction.js";
import type { CliManager } from "./open-database.js";
import { singleValued } from "./parse-options.js";

/** Every value `--transaction` takes, the default first. */
export const TRANSACTION_MODES: readonly TransactionMode[] = ["each", "all"];

/** Parses `--transaction`: one of {@link TRANSACTION_MODES}; anything else is a usage error (exit 2). */
export function parseTransactionMode(value: string): TransactionMode {
  const mode = TRANSACTION_MODES.find((candidate) => candidate === value);
  if (mode === undefined) throw new InvalidArgumentError(`expected ${TRANSACTION_MODES.join(" or ")}`);
  return mode;
}

/**
 * The `--transaction <mode>` option for the command that `verb`s migrations ("apply", "revert").
 * No commander default: {@link singleValued} would take it for a value given before.
 */
export function createTransactionOption(verb: "apply" | "revert"): Option {
  return new Option(
    "--transaction <mode>",
    `"each" commits every migration with its history row on its own; "all" ${verb === "apply" ? "applies" : "reverts"} the whole run in one transaction, all or nothing ` +
      `(refused before anything runs if a migration of the run has transaction: false, or switches foreign keys off while they are on) (default: "${DEFAULT_TRANSACTION_MODE}")`,
  )
    .choices(TRANSACTION_MODES)
    .argParser(singleValued(parseTransactionMode));
}

/**
 * `{ transaction }` for the library call when `--transaction` was given, else nothing, so the
 * library's own default applies.
 */
export function transactionOptionOf(options: { readonly transaction?: TransactionMode }): { readonly transaction?: TransactionMode } {
  return options.transaction === undefined ? {} : { transaction: options.transaction };
}

/**
 * Refuses, as the run itself would, a `--transaction all` whose planned migrations cannot share one
 * transaction. Run on the scratch database before a file is made, it keeps such a refusal from
 * leaving an empty database behind.
 */
export async function refuseWholeRunEarly<R extends MigrationRegistry>(manager: CliManager<R>, plan: MigrationPlan<MigrationEntry>): Promise<void> {
  await manager.run(refuseWholeRunObstacles(manager.executor, plan.steps, plan.direction));
}

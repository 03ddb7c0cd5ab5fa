/** Which plans `up`/`down({ transaction: "all" })` can run as one transaction, checked before anything runs, and the error for those that cannot. */
import { StepwiseError, type WholeRunObstacle } from "./errors.js";
import type { Dialect } from "./dialect.js";
import { copyTexts, keepText, runCall, text, type Spelled, type Text } from "./option-text.js";
import type { Step } from "./step.js";
import type { MigrationDirection, MigrationEntry } from "./types.js";
import { transactionHeadOf } from "./sql-location.js";

/** The first step that cannot run inside a whole-run transaction in `direction` on `dialect`, or `null` when all can. */
export function findWholeRunObstacle(
  steps: readonly MigrationEntry[],
  foreignKeysEnforced: boolean,
  direction: MigrationDirection,
  dialect: Pick<Dialect, "transactionHead">,
): { entry: MigrationEntry; obstacle: WholeRunObstacle } | null {
  for (const entry of steps) {
    if (!entry.transaction) return { entry, obstacle: "transaction-false" };
    if (entry.disableForeignKeys && foreignKeysEnforced) return { entry, obstacle: "foreign-keys-off" };
    // Only a transaction's first statement may set it, and the first migration's would hold for the rest of the run.
    if (transactionHeadOf(entry, direction, dialect) !== "") return { entry, obstacle: "set-transaction" };
  }
  return null;
}

/** Beyond this many calls, the way past names the part before the first obstacle, then the rest one migration per transaction. */
const MAX_CALLS = 3;

/**
 * The calls that get a refused run done, in order, each aimed at a version the run reaches: every stretch of steps that can share a transaction in one (`--transaction all`, as asked),
 * every obstacle on its own. When that takes more than {@link MAX_CALLS} calls: the stretch before the first obstacle, then the rest in the default mode.
 */
function describeWayPast(steps: readonly MigrationEntry[], blocks: (entry: MigrationEntry) => boolean, direction: MigrationDirection, latest: number): Text {
  // Where each part ends: for up the version it reaches, for down the version below its last revert.
  const endOf = (entry: MigrationEntry) => (direction === "up" ? entry.version : entry.version - 1);
  const call = (end: number, transaction?: "all") => runCall(direction, { ...((direction === "down" || end !== latest) && { to: end }), ...(transaction && { transaction }) });
  const parts: { end: number; together: boolean }[] = [];
  for (const entry of steps) {
    const last = parts[parts.length - 1];
    if (!blocks(entry) && last?.together) last.end = endOf(entry);
    else parts.push({ end: endOf(entry), together: !blocks(entry) });
  }
  const calls = parts.map((part) => call(part.end, part.together ? "all" : undefined));
  if (parts.length <= MAX_CALLS) return joinCalls(calls, "");
  const before = parts[0]!.together ? [call(parts[0]!.end, "all")] : [];
  return joinCalls([...before, call(endOf(steps[steps.length - 1]!))], before.length > 0 ? " for the rest, one migration per transaction" : " one migration per transaction");
}

/** `run "a", then "b"` (or `run "a", "b", then "c"`), then `tail`. */
function joinCalls(calls: readonly Spelled[], tail: string): Text {
  return [...calls.flatMap((call, index) => text`${index === 0 ? "run " : index === calls.length - 1 ? ", then " : ", "}${call}`), tail];
}

/** Refuses `steps` as one transaction: what the driver cannot run at all, then `WHOLE_RUN_TRANSACTION_REFUSED` for the first obstacle, with the calls that get past it. */
export function* refuseWholeRunObstacles(
  executor: {
    refuseUnsupportedMigrations(entries: readonly MigrationEntry[], direction: MigrationDirection): void;
    readonly dialect: Pick<Dialect, "foreignKeysEnforced" | "transactionHead">;
    readonly migrations: readonly MigrationEntry[];
  },
  steps: readonly MigrationEntry[],
  direction: MigrationDirection,
): Step<void> {
  executor.refuseUnsupportedMigrations(steps, direction);
  const foreignKeysEnforced = yield* executor.dialect.foreignKeysEnforced();
  const found = findWholeRunObstacle(steps, foreignKeysEnforced, direction, executor.dialect);
  if (!found) return;
  const { version, file } = found.entry;
  const fix = describeWayPast(steps, (entry) => findWholeRunObstacle([entry], foreignKeysEnforced, direction, executor.dialect) !== null, direction, executor.migrations.length);
  const why = {
    "transaction-false": `has transaction: false (VACUUM, CREATE INDEX CONCURRENTLY: statements that cannot run in a transaction).`,
    "foreign-keys-off": `switches foreign keys off, which SQLite only allows outside a transaction, so it would cover the whole run.`,
    "set-transaction": `starts with SET TRANSACTION, which PostgreSQL takes only as its transaction's first statement, so it needs a transaction of its own.`,
  }[found.obstacle];
  const texts = {};
  const message = text`Cannot ${direction === "up" ? "apply the pending" : "revert the"} migrations in one transaction: migration ${version} (${file}) ${why}\nNothing was changed. To get past it, ${fix}.`;
  const details = { fix: keepText(texts, "fix", fix), version, file, obstacle: found.obstacle, direction, firstOfRun: found.entry === steps[0] };
  throw copyTexts(texts, new StepwiseError("WHOLE_RUN_TRANSACTION_REFUSED", message, details));
}

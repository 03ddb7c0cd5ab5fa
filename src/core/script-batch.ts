/**
 * Consecutive SQL migrations of a whole run (`transaction: "all"`, either direction) sent with their
 * history writes as one request (the driver's `scriptBatchWithHistory`, on PostgreSQL
 * `src/drivers/pg-script-batch.ts`), where `script-with-history.ts` sends one request per
 * migration. The run commits once, after all of them, so grouping its requests changes no
 * transaction: the migrations and their rows still commit together or not at all.
 *
 * What a listener and a caller see stays the one-request path's. The events come in the same order:
 * each migration's `migrating`, and on a failure the failing one's last, before the error; the first
 * is sent before the request goes, the others when it answers (the request runs them in between).
 * The failure is the failing migration's, with its own cause and fields; each history write's
 * changed rows are checked as that path checks them, migration by migration. Only the entries whose
 * dialect carries it (PostgreSQL's) bundle this.
 */
import type { ExecutorBase } from "./executor-base.js";
import type { AppliedStep } from "./options.js";
import { callWithDriver, collectWrites, exec, rollbackQuietly, SCRIPT_ELAPSED_MS, type Step } from "./step.js";
import type { ScriptBatchItem, ScriptBatchOutcome } from "./driver.js";
import type { MigrationDirection, MigrationEntry, SqlMigrationEntry } from "./types.js";

/** The most migrations offered to the driver at once; it sends as many of them as it can tell apart. */
const MOST_OFFERED = 16;

/**
 * Applies `steps[from]` and the SQL migrations after it in the open transaction, as few requests as
 * the driver allows, and returns what it applied; `[]` without doing anything when fewer than two in
 * a row can go together (the caller then applies `steps[from]` itself). A failure is rolled back and
 * thrown as the failing migration's.
 */
export function* runScriptBatch(executor: ExecutorBase, steps: readonly MigrationEntry[], from: number, direction: MigrationDirection): Step<AppliedStep[]> {
  if (!executor.settings.capabilities.scriptWithHistory) return [];
  const entries: SqlMigrationEntry[] = [];
  // Each script read once: a generated registry's SQL is an accessor that looks it up.
  const scripts: string[] = [];
  for (let index = from; index < steps.length && entries.length < MOST_OFFERED; index++) {
    const entry = steps[index]!;
    if (entry.kind !== "sql" || entry.disableForeignKeys || executor.needsGuard(entry, direction)) break;
    const script = direction === "up" ? entry.upSql : entry.downSql;
    if (script === null) break;
    entries.push(entry);
    scripts.push(script);
  }
  if (entries.length < 2) return [];
  const items: ScriptBatchItem[] = entries.map((entry, index) => ({
    script: scripts[index]!,
    statements: collectWrites(executor.record(entry, direction, SCRIPT_ELAPSED_MS)),
  }));
  const migrating = (entry: MigrationEntry) => executor.emit({ type: "migrating", direction, version: entry.version, name: entry.name });
  let outcome: ScriptBatchOutcome | null;
  let checked = 0;
  try {
    // Refusals made before anything runs (none on PostgreSQL, whose foreign keys need no rebuild).
    for (; checked < entries.length; checked++) yield* executor.refuseParentRebuild(entries[checked]!, direction);
    checked = 0;
    // The history guard's reading before the first script (later ones follow each item's own writes).
    const capture = executor.historyGuard?.writes?.capture;
    if (capture !== undefined) yield* exec(capture);
    outcome = yield* callWithDriver((driver) => driver.scriptBatchWithHistory?.(items, () => migrating(entries[0]!)) ?? null);
  } catch (cause) {
    // A refusal of migration `checked`, reported after the `migrating` of each before it as a request
    // of its own would have; or the request failed before the server answered (its BEGIN, a lost connection).
    for (let index = 0; index <= checked; index++) migrating(entries[index]!);
    yield* rollbackQuietly();
    throw yield* executor.migrationFailed(entries[checked]!, direction, cause, true, "body");
  }
  if (outcome === null) return [];
  const applied: AppliedStep[] = [];
  const failing = outcome.failure?.index ?? outcome.count;
  for (let index = 0; index < outcome.count; index++) {
    const entry = entries[index]!;
    if (index > 0) migrating(entry);
    // Completed before the failure, or nothing ran: the server refused the whole message (a syntax
    // error in a later migration), so these have nothing to check, and the run fails below.
    const done = outcome.completed[index];
    try {
      if (index === failing) throw outcome.failure!.cause;
      // The history writes again, over the rows each changed: an INSERT a trigger or rule discarded,
      // or a DELETE that found no row, fails here, before the COMMIT, as on the one-request path.
      if (done !== undefined) collectWrites(executor.record(entry, direction, SCRIPT_ELAPSED_MS), done.changes);
    } catch (cause) {
      yield* rollbackQuietly();
      throw yield* executor.migrationFailed(entry, direction, cause, true, "body");
    }
    if (done !== undefined) applied.push({ version: entry.version, name: entry.name, durationMs: done.durationMs });
  }
  return applied;
}

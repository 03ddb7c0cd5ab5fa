/** What `stepwise fleet` prints: the progress of a run (a bar on a terminal, a line every few seconds elsewhere), the status histogram, and each command's summary. */
import type { TargetError, TargetReport } from "../fleet/migrate-many.js";
import type { FleetListeners, FleetProgress, FleetStop } from "../fleet/run-fleet.js";
import type { CliIo } from "./cli-props.js";
import type { FleetStatusResult, FleetTargetResult, FleetVerifyResult } from "./fleet-task.js";
import type { FleetTargetSpec } from "./fleet-targets.js";
import { formatDuration, formatSeconds, type Palette } from "./format.js";

const count = (value: number) => value.toLocaleString("en-US");
const plural = (value: number, one: string, many = `${one}s`) => `${count(value)} ${value === 1 ? one : many}`;
/** How many exceptions a text summary lists; `--json` has them all. */
const LISTED = 20;
/** How often a terminal's bar is redrawn, and how often a log gets a progress line, in milliseconds. */
const BAR_INTERVAL_MS = 100;
const PLAIN_INTERVAL_MS = 2_000;

/** A database's id on a line of its own: quoted when it holds a control character (a newline, a terminal escape), which a file name may. */
const showId = (id: string) =>
  /[\u0000-\u001f\u007f-\u009f]/.test(id) ? `"${id.replace(/["\\]/g, "\\$&").replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)}"` : id;

/** Why a run left databases unstarted, as a sentence. */
export const STOP_REASONS: Readonly<Record<FleetStop, string>> = {
  canary: "a database of the canary batch failed, so no other was started",
  "fail-fast": "--fail-fast: a database failed, so no other was started",
  aborted: "interrupted (SIGINT or SIGTERM; a second one stops at once), so no other was started",
  "ids-failed": "the list of databases failed part way, so no other was started",
};

/** The first line of a target's error: its code and what its message says first. */
export function describeFailure(error: TargetError | null): string {
  return error === null ? "" : `${error.code}  ${error.message.split("\n")[0]}`;
}

/** Shows a fleet run as it goes: a bar redrawn in place on a terminal, elsewhere a line every few seconds; each failure on a line of its own. */
export function createFleetProgress(io: CliIo, palette: Palette, verb: string): FleetListeners<FleetTargetSpec, FleetTargetResult> & { clear(): void } {
  let barShown = false;
  let lastDrawn = Number.NEGATIVE_INFINITY;
  const clear = () => {
    if (barShown) io.stdout("\r\u001b[2K");
    barShown = false;
  };
  const describe = ({ done, failed, total, elapsedMs, etaMs }: FleetProgress) => {
    const rate = elapsedMs > 0 ? `${count(Math.round((done * 1000) / elapsedMs))}/s` : "";
    const eta = etaMs === null || done === total ? "" : `ETA ${formatSeconds(Math.round(etaMs / 1000), true)}`;
    return { counts: `${count(done)}${total === null ? "" : `/${count(total)}`}`, failed: failed > 0 ? palette.red(`${count(failed)} failed`) : "0 failed", rate, eta };
  };
  return {
    finished(result, progress) {
      if (!result.ok) {
        clear();
        io.stdout(`  ${palette.red("✗")} ${showId(result.id)}  ${result.error === null ? palette.yellow("drifted") : describeFailure(result.error)}\n`);
      }
      const last = progress.done === progress.total;
      if (progress.elapsedMs - lastDrawn < (io.isTTY ? BAR_INTERVAL_MS : PLAIN_INTERVAL_MS) && !last) return;
      lastDrawn = progress.elapsedMs;
      const { counts, failed, rate, eta } = describe(progress);
      if (io.isTTY) {
        const fraction = progress.total ? progress.done / progress.total : 0;
        const filled = Math.round(fraction * 24);
        io.stdout(`\r\u001b[2K  ${verb} ${palette.green(`[${"█".repeat(filled)}${"░".repeat(24 - filled)}]`)} ${counts}  ${failed}${palette.dim(`  ${rate}  ${eta}`)}`);
        barShown = true;
      } else {
        io.stdout(`  ${verb}: ${counts} done, ${failed}${rate === "" ? "" : `, ${rate}`}${eta === "" ? "" : `, ${eta}`}\n`);
      }
    },
    stopping(reason) {
      clear();
      io.stdout(`  ${palette.yellow(`stopping: ${STOP_REASONS[reason]}`)}\n`);
    },
    clear,
  };
}

/** `fleet status` as data: how many databases at each version, how many pending, refusing, locked or failed and why, and every database. */
export interface FleetStatusSummary {
  readonly ok: boolean;
  readonly latestVersion: number;
  readonly total: number;
  /** How many databases are at each version, by version. */
  readonly versions: Readonly<Record<string, number>>;
  readonly current: number;
  readonly pending: number;
  readonly refusing: number;
  readonly locked: number;
  readonly failed: number;
  /** How many databases each error code stops (refusing, locked or failed). */
  readonly reasons: Readonly<Record<string, number>>;
  readonly targets: readonly FleetStatusResult[];
}

/** Sums up `fleet status`. */
export function summarizeStatus(targets: readonly FleetStatusResult[], latestVersion: number): FleetStatusSummary {
  const tally = (keys: readonly (string | null)[]) => {
    const counts: Record<string, number> = {};
    for (const key of keys) if (key !== null) counts[key] = (counts[key] ?? 0) + 1;
    return counts;
  };
  const state = (name: FleetStatusResult["state"]) => targets.filter((target) => target.state === name).length;
  return {
    ok: targets.every((target) => target.state === "current" || target.state === "pending"),
    latestVersion,
    total: targets.length,
    versions: tally(targets.map((target) => (target.currentVersion === null ? null : String(target.currentVersion)))),
    current: state("current"),
    pending: state("pending"),
    refusing: state("refusing"),
    locked: state("locked"),
    failed: state("failed"),
    reasons: tally(targets.map((target) => target.error?.code ?? null)),
    targets,
  };
}

/** The histogram: a bar per version, then the databases that refuse, are locked or failed, by code; then the exceptions. */
export function formatFleetStatus(summary: FleetStatusSummary, palette: Palette): string {
  // A bar counts the databases `up` takes at each version; the refusing, locked and failed have lines of their own, so every database is counted once.
  const runnable = new Map<number, number>();
  for (const target of summary.targets) if (target.state === "current" || target.state === "pending") runnable.set(target.currentVersion!, (runnable.get(target.currentVersion!) ?? 0) + 1);
  const versions = [...runnable].sort(([a], [b]) => b - a);
  const widest = Math.max(1, ...versions.map(([, n]) => n));
  const label = (text: string) => text.padEnd(12);
  const codes = (state: FleetStatusResult["state"]) => {
    const found = summary.targets.filter((target) => target.state === state && target.error !== null).map((target) => target.error!.code);
    return [...new Set(found)].map((code) => `${code} ${found.filter((each) => each === code).length}`).join(", ");
  };
  const lines = [`${palette.bold(plural(summary.total, "database"))}, latest version ${summary.latestVersion}`];
  for (const [version, n] of versions) {
    const bar = "█".repeat(Math.max(1, Math.round((n / widest) * 30))).padEnd(30);
    const at = Number(version) === summary.latestVersion;
    const note = at ? "" : "  pending";
    lines.push(`  ${label(`version ${version}`)} ${at ? palette.green(bar) : palette.yellow(bar)} ${count(n).padStart(7)}${note}`);
  }
  for (const state of ["refusing", "locked", "failed"] as const)
    if (summary[state] > 0) lines.push(`  ${label(state)} ${"".padEnd(30)} ${count(summary[state]).padStart(7)}  ${palette.red(codes(state))}`);
  const exceptions = summary.targets.filter((target) => target.state !== "current");
  lines.push(
    ...listTargets(`Not at version ${summary.latestVersion}`, exceptions, palette, (target) => {
      const { state, currentVersion, pendingCount, error } = target as FleetStatusResult;
      return state === "pending" ? `at ${currentVersion}, ${pendingCount} pending` : palette.red(`${state}: ${describeFailure(error)}`);
    }),
  );
  return lines.join("\n");
}

/** A titled list of a run's databases, at most {@link LISTED} of them, each described (by default, as failed). */
function listTargets(title: string, targets: readonly FleetTargetResult[], palette: Palette, describe = (target: FleetTargetResult) => palette.red(describeFailure(target.error))): string[] {
  if (targets.length === 0) return [];
  const lines = ["", palette.bold(`${title} (${count(targets.length)}):`), ...targets.slice(0, LISTED).map((target) => `  ${showId(target.id)}  ${describe(target)}`)];
  if (targets.length > LISTED) lines.push(palette.dim(`  … and ${count(targets.length - LISTED)} more (--json lists every one)`));
  return lines;
}

/** `fleet up` as data: how many databases were migrated, already current, failed or not started (`migrated + current + failed + notStarted` is `total`), how many migrations were applied, and every database started. */
export function summarizeUp(run: { readonly results: readonly FleetTargetResult[]; readonly stopped: FleetStop | null; readonly durationMs: number; readonly venue: string; readonly total: number }) {
  const targets = run.results as TargetReport[];
  return {
    ok: run.stopped === null && targets.every((target) => target.ok),
    stopped: run.stopped,
    durationMs: run.durationMs,
    venue: run.venue,
    total: run.total,
    migrated: targets.filter((target) => target.ok && target.steps.length > 0).length,
    // A failed database's migrations committed before its failure were applied too.
    applied: targets.reduce((sum, target) => sum + target.steps.length, 0),
    current: targets.filter((target) => target.ok && target.steps.length === 0).length,
    failed: targets.filter((target) => !target.ok).length,
    // A run stopped early (Ctrl-C, the canary, --fail-fast) lists only the databases it started.
    notStarted: run.total - targets.length,
    targets,
  };
}

/** `fleet up`'s summary line, then its failures and why it stopped. */
export function formatFleetUp(summary: ReturnType<typeof summarizeUp>, palette: Palette): string {
  const { total, stopped } = summary;
  const parts = [
    `${count(summary.migrated)} migrated`,
    `${count(summary.current)} already current`,
    summary.failed > 0 ? palette.red(`${count(summary.failed)} failed`) : "0 failed",
    ...(stopped === null ? [] : [`${count(summary.notStarted)} not started`]),
  ];
  const lines = [
    `${plural(total, "database")} in ${formatDuration(summary.durationMs)}: ${parts.join(", ")}; ${plural(summary.applied, "migration")} applied`,
    ...listTargets(
      "Failed",
      summary.targets.filter((target) => !target.ok),
      palette,
    ),
  ];
  if (stopped !== null) lines.push("", palette.yellow(`Stopped: ${STOP_REASONS[stopped]}; ${plural(summary.notStarted, "database")} not started. Run it again to go on.`));
  return lines.join("\n");
}

/** `fleet verify` as data: how many databases match their migrations, drifted or failed, and every database. */
export function summarizeVerify(run: { readonly results: readonly FleetTargetResult[]; readonly venue: string; readonly total: number }) {
  const targets = run.results as FleetVerifyResult[];
  return {
    ok: targets.every((target) => target.ok),
    venue: run.venue,
    total: run.total,
    matching: targets.filter((target) => target.ok).length,
    drifted: targets.filter((target) => !target.ok && target.error === null).length,
    failed: targets.filter((target) => target.error !== null).length,
    targets,
  };
}

/** `fleet verify`'s summary line, then the drifted and the failed databases. */
export function formatFleetVerify({ targets, matching, drifted, failed }: ReturnType<typeof summarizeVerify>, palette: Palette): string {
  const driftOf = (target: FleetTargetResult) => palette.red(`at version ${(target as FleetVerifyResult).version}: ${(target as FleetVerifyResult).drift.join("; ")}`);
  const [driftedTargets, failedTargets] = [targets.filter((target) => !target.ok && target.error === null), targets.filter((target) => target.error !== null)];
  return [
    `${plural(targets.length, "database")} verified: ${count(matching)} match their migrations, ${count(drifted)} drifted, ${count(failed)} failed`,
    ...listTargets("Drifted", driftedTargets, palette, driftOf),
    ...listTargets("Failed", failedTargets, palette),
  ].join("\n");
}

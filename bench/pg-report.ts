/** Turns a {@link PgBenchResult} into markdown: every side's times, stepwise's ratios, and the issue-12 targets. */
import type { PgBenchResult, PgSideResult } from "./measure-pg.js";
import type { Summary } from "./stats.js";
import { formatInterval, judgeInterval, type Interval, type IntervalOutcome } from "./pg-ratio-interval.js";
import { INTERLEAVED_APPLY_FIGURES, type InterleavedApplyResult, type InterleavedApplyVerdict } from "./pg-apply-interleaved.js";

const FIGURES = [
  { key: "apply", label: "fresh apply" },
  { key: "noopStart", label: "no-op start" },
  { key: "rollbackAll", label: "roll back all" },
] as const;

type FigureKey = (typeof FIGURES)[number]["key"];

/** One comparison the issue asks for, and whether this run met it. */
export interface PgVerdict {
  readonly figure: FigureKey;
  /** The stepwise side compared: `stepwise` (a transaction per migration) or `stepwise-all` (one for the run). */
  readonly stepwise: string;
  readonly against: string;
  readonly ratio: number;
  readonly ratioOfMins: number;
  readonly limit: number;
  readonly met: boolean;
  /** Whether both sides group migrations into transactions the same way (see {@link PgSideResult.transactions}); always on a no-op start. */
  readonly likeForLike: boolean;
}

const PEERS = ["node-pg-migrate", "kysely", "knex"] as const;

/** Each stepwise mode and the hand loop of its own transaction grouping. */
const STEPWISE_MODES = [
  { stepwise: "stepwise", hand: "hand" },
  { stepwise: "stepwise-all", hand: "hand-all" },
] as const;

/**
 * The targets of issue 12 at the measured N, for both stepwise modes: within 1.10× of the
 * hand-written loop that groups transactions as that mode does (`up()`/`down()` against the loop
 * with a transaction per migration, `transaction: "all"` against the loop in one transaction), and
 * ahead of every peer (ratio of medians below 1). The peers run a call in one transaction, so only
 * the `transaction: "all"` rows against them are like for like. The no-op start, where nothing runs
 * and there is no transaction to group, is judged once, on the default side.
 */
export function evaluatePgTargets(result: PgBenchResult): PgVerdict[] {
  const side = (id: string) => result.sides.find((candidate) => candidate.id === id);
  const verdicts: PgVerdict[] = [];
  const compare = (figure: FigureKey, stepwiseId: string, againstId: string, limit: number) => {
    const ours = side(stepwiseId);
    const theirs = side(againstId);
    if (!ours || !theirs) return;
    verdicts.push({
      figure,
      stepwise: stepwiseId,
      against: againstId,
      ratio: ours[figure].median / theirs[figure].median,
      ratioOfMins: ours[figure].min / theirs[figure].min,
      limit,
      met: ours[figure].median / theirs[figure].median <= limit,
      // A no-op start runs nothing, so there is no grouping to differ in.
      likeForLike: figure === "noopStart" || ours.transactions === theirs.transactions,
    });
  };
  for (const { stepwise, hand } of STEPWISE_MODES) {
    for (const figure of FIGURES) {
      // Both modes start with the same `up()`, and both hand loops with the same read: judged once.
      if (figure.key === "noopStart" && stepwise !== "stepwise") continue;
      compare(figure.key, stepwise, hand, 1.1);
      for (const peer of PEERS) compare(figure.key, stepwise, peer, 1);
    }
  }
  return verdicts;
}

/** One of issue 12's targets for one figure and one stepwise mode, judged on this run: met when every comparison it holds is. */
export interface PgTargetVerdict {
  readonly figure: FigureKey;
  /** The stepwise side judged: `stepwise` or `stepwise-all`. */
  readonly stepwise: string;
  readonly target: "within 1.10× of the hand loop" | "ahead of every peer";
  /** The comparison that decides it: the worst ratio of medians among those the target holds. */
  readonly worst: PgVerdict;
  readonly met: boolean;
  /** Whether every comparison the target holds groups transactions the same way on both sides. */
  readonly likeForLike: boolean;
}

/**
 * The targets per figure, as issue 12 names them, for each stepwise mode: within 1.10× of its own
 * hand loop, and ahead of node-pg-migrate, Kysely and Knex (ratio of medians below 1).
 */
export function summarizePgTargets(result: PgBenchResult): PgTargetVerdict[] {
  const verdicts = evaluatePgTargets(result);
  const targets: PgTargetVerdict[] = [];
  for (const { stepwise } of STEPWISE_MODES) {
    for (const figure of FIGURES) {
      for (const target of ["within 1.10× of the hand loop", "ahead of every peer"] as const) {
        const held = verdicts.filter(
          (verdict) => verdict.stepwise === stepwise && verdict.figure === figure.key && (target === "ahead of every peer") === (PEERS as readonly string[]).includes(verdict.against),
        );
        if (held.length === 0) continue;
        const worst = held.reduce((a, b) => (b.ratio > a.ratio ? b : a));
        targets.push({ figure: figure.key, stepwise, target, worst, met: held.every((verdict) => verdict.met), likeForLike: held.every((verdict) => verdict.likeForLike) });
      }
    }
  }
  return targets;
}

/** What a run shows of the no-op target (see {@link judgeInterval}, `pg-ratio-interval.ts`). */
export type PgNoOpOutcome = IntervalOutcome;

/** The no-op start's verdict from the interleaved phase: against the hand loop (≤ 1.10×) and Kysely (< 1). */
export interface PgNoOpVerdict {
  readonly against: "hand" | "kysely";
  readonly ratio: Interval;
  /** The target: at most this (the hand loop), or below it (Kysely). */
  readonly limit: number;
  readonly outcome: PgNoOpOutcome;
}

export { judgeInterval };

/** The interleaved phase's two verdicts, or `[]` when the phase was skipped. */
export function evaluatePgNoOp(result: PgBenchResult): PgNoOpVerdict[] {
  const phase = result.noopInterleaved;
  if (phase === null) return [];
  return [
    { against: "hand", ratio: phase.againstHand, limit: 1.1, outcome: judgeInterval(phase.againstHand, 1.1, true) },
    { against: "kysely", ratio: phase.againstKysely, limit: 1, outcome: judgeInterval(phase.againstKysely, 1, false) },
  ];
}

/** How the report prints an outcome. */
const OUTCOME_TEXT: Readonly<Record<PgNoOpOutcome, string>> = {
  met: "**met**",
  "not met": "**not met**",
  undecided: "**undecided** (the interval straddles the target; rerun on a quieter machine)",
};

function renderNoOpVerdicts(result: PgBenchResult): string[] {
  const phase = result.noopInterleaved;
  if (phase === null) return [];
  const ms = (value: number) => value.toFixed(2);
  return [
    `**No-op start, interleaved** (${phase.samples} starts a side, alternating start by start; load average ${phase.load[0].toFixed(1)} → ${phase.load[1].toFixed(1)}): ` +
      `stepwise ${ms(phase.starts.stepwise.median)} ms (min ${ms(phase.starts.stepwise.min)}), the hand loop ${ms(phase.starts.hand.median)} (${ms(phase.starts.hand.min)}), Kysely ${ms(phase.starts.kysely.median)} (${ms(phase.starts.kysely.min)}).`,
    "",
    ...evaluatePgNoOp(result).map(
      (verdict) =>
        `- no-op start against ${verdict.against === "hand" ? "the hand loop" : "Kysely"}: ${formatInterval(verdict.ratio)}, ratio of medians; ` +
        `target ${verdict.against === "hand" ? "≤ 1.10×" : "< 1×"} over the whole interval: ${OUTCOME_TEXT[verdict.outcome]}`,
    ),
    "",
  ];
}

const APPLY_FIGURE_LABELS = { apply: "fresh apply", rollbackAll: "roll back all" } as const;

/** The side a verdict names, as the report's lines spell it. */
function sideName(id: string): string {
  return id === "hand" ? "the hand loop" : id === "hand-all" ? "the hand loop in one transaction" : id === "stepwise-all" ? 'stepwise `transaction: "all"`' : id;
}

/** One verdict of the interleaved apply phase, as a line the smoke test looks for. */
export function renderApplyVerdict(verdict: InterleavedApplyVerdict): string {
  const target = verdict.target === "within" ? `≤ ${verdict.limit.toFixed(2)}×` : `< ${verdict.limit.toFixed(2)}×`;
  return `- ${APPLY_FIGURE_LABELS[verdict.figure]}, ${sideName(verdict.stepwise)} against ${sideName(verdict.against)}: ${formatInterval(verdict.ratio)}; target ${target} by the interval's upper end: **${verdict.verdict}**`;
}

/** The interleaved apply phase's section: every side's times and the verdicts. */
export function renderApplyInterleaved(phase: InterleavedApplyResult): string[] {
  const ms = (summary: Summary) => `${summary.median.toFixed(0)} (${summary.min.toFixed(0)})`;
  return [
    `**Fresh apply and roll back all, interleaved** (N = ${phase.size}, ${phase.pairs} rounds: each round every side applies to a fresh database, then rolls everything back, the order rotating; ` +
      `load average ${phase.load[0].toFixed(1)} → ${phase.load[1].toFixed(1)}, ${phase.seconds.toFixed(0)} s). ms, median (min); ratios are stepwise / the other side, ratio of medians with a 95% interval resampled by round:`,
    "",
    "| side | fresh apply | roll back all |",
    "|---|--:|--:|",
    ...Object.entries(phase.times).map(([id, figures]) => `| ${id} | ${ms(figures.apply)} | ${ms(figures.rollbackAll)} |`),
    "",
    ...INTERLEAVED_APPLY_FIGURES.flatMap((figure) => phase.verdicts.filter((verdict) => verdict.figure === figure).map(renderApplyVerdict)),
    "",
  ];
}

function formatSummary(summary: Summary): string {
  return `${summary.median.toFixed(1)} (${summary.min.toFixed(1)}–${summary.max.toFixed(1)})`;
}

function sideRow(side: PgSideResult): string {
  return `| ${side.label} | ${side.transactions} | ${FIGURES.map((figure) => formatSummary(side[figure.key])).join(" | ")} |`;
}

/** The markdown section of the PostgreSQL benchmark. */
export function renderPgMarkdown(result: PgBenchResult): string {
  const lines = [
    `## PostgreSQL: stepwise-migrate/pg against a hand-written loop and its peers (N = ${result.size})`,
    "",
    `PostgreSQL ${result.serverVersion} (embedded, fsync off), Node ${result.node}, ${result.rounds} rounds (${result.noopRuns} no-op starts per side and round); ${result.startedAt}.`,
    "Each cell is `median (min–max)` in ms; every side opens and closes its own connection.",
    "",
    ...renderNoOpVerdicts(result),
    ...(result.applyInterleaved === null ? [] : renderApplyInterleaved(result.applyInterleaved)),
    `| side | transactions | ${FIGURES.map((figure) => figure.label).join(" | ")} |`,
    `|---|---|${FIGURES.map(() => "--:").join("|")}|`,
    ...result.sides.map(sideRow),
    "",
    "| figure | stepwise side | against | like for like | ratio of medians | ratio of mins | target | met |",
    "|---|---|---|---|--:|--:|--:|---|",
    ...evaluatePgTargets(result).map(
      (verdict) =>
        `| ${FIGURES.find((figure) => figure.key === verdict.figure)!.label} | ${verdict.stepwise} | ${verdict.against} | ${verdict.likeForLike ? "yes" : "no"} | ${verdict.ratio.toFixed(2)}× | ${verdict.ratioOfMins.toFixed(2)}× | ≤ ${verdict.limit.toFixed(2)}× | ${verdict.met ? "yes" : "no"} |`,
    ),
    "",
    "Issue 12's targets for both stepwise modes (ratio of medians; the worst comparison each target holds). " +
      'Like with like against the peers is `stepwise-all` (`up`/`down` with `transaction: "all"`): node-pg-migrate, Kysely and Knex each run the whole call in one transaction. ' +
      "`stepwise` (`up()`/`down()`, the default) commits every migration with its history row on its own, a guarantee the peers do not give, so its rows against them compare unlike groupings; " +
      "each mode is held to the hand loop of its own grouping.",
    "",
    "| stepwise side | figure | target | worst ratio | against | like for like | verdict |",
    "|---|---|---|--:|---|---|---|",
    ...summarizePgTargets(result).map(
      (target) =>
        `| ${target.stepwise} | ${FIGURES.find((figure) => figure.key === target.figure)!.label} | ${target.target} | ${target.worst.ratio.toFixed(2)}× (mins ${target.worst.ratioOfMins.toFixed(2)}×) | ${target.worst.against} | ${target.likeForLike ? "yes" : "no"} | ${target.met ? "**met**" : "**not met**"} |`,
    ),
  ];
  return lines.join("\n");
}

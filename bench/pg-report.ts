/** Turns a {@link PgBenchResult} into markdown: every side's times, stepwise's ratios, and the issue-12 targets. */
import type { PgBenchResult, PgSideResult } from "./measure-pg.js";
import type { Summary } from "./stats.js";

const FIGURES = [
  { key: "apply", label: "fresh apply" },
  { key: "noopStart", label: "no-op start" },
  { key: "rollbackAll", label: "roll back all" },
] as const;

type FigureKey = (typeof FIGURES)[number]["key"];

/** One comparison the issue asks for, and whether this run met it. */
export interface PgVerdict {
  readonly figure: FigureKey;
  /** The stepwise side compared: the one whose transaction mode matches the other side's. */
  readonly stepwise: string;
  readonly against: string;
  readonly ratio: number;
  readonly ratioOfMins: number;
  readonly limit: number;
  readonly met: boolean;
}

const PEERS = ["node-pg-migrate", "kysely", "knex"] as const;

/**
 * The targets of issue 12 at the measured N: ahead of every peer (ratio below 1), within 1.10× of the
 * hand-written loop. Each comparison is like for like where stepwise offers the mode: the peers run
 * a call in one transaction, so their apply is compared with `up({ transaction: "all" })`; the no-op
 * start and the rollback (stepwise's `down` has one mode) with the default.
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
    });
  };
  compare("apply", "stepwise", "hand", 1.1);
  compare("apply", "stepwise-all", "hand-all", 1.1);
  compare("noopStart", "stepwise", "hand", 1.1);
  compare("rollbackAll", "stepwise", "hand", 1.1);
  for (const peer of PEERS) {
    compare("apply", "stepwise-all", peer, 1);
    compare("apply", "stepwise", peer, 1);
    compare("noopStart", "stepwise", peer, 1);
    compare("rollbackAll", "stepwise", peer, 1);
  }
  return verdicts;
}

/** One of issue 12's targets for one figure, judged on this run: met when every comparison it holds is. */
export interface PgTargetVerdict {
  readonly figure: FigureKey;
  readonly target: "within 1.10× of the hand loop" | "ahead of every peer";
  /** The comparison that decides it: the worst ratio of medians among those the target holds. */
  readonly worst: PgVerdict;
  readonly met: boolean;
}

/**
 * The targets per figure, as issue 12 names them: stepwise's default `up()` (a transaction per
 * migration) within 1.10× of the hand loop, and ahead of node-pg-migrate, Kysely and Knex (ratio of
 * medians below 1). The like-for-like rows (`transaction: "all"` against the peers' one transaction)
 * stay in the comparison table; the verdict is on what an app gets by default.
 */
export function summarizePgTargets(result: PgBenchResult): PgTargetVerdict[] {
  const verdicts = evaluatePgTargets(result).filter((verdict) => verdict.stepwise === "stepwise");
  const targets: PgTargetVerdict[] = [];
  for (const figure of FIGURES) {
    for (const target of ["within 1.10× of the hand loop", "ahead of every peer"] as const) {
      const held = verdicts.filter((verdict) => verdict.figure === figure.key && (target === "ahead of every peer" ? verdict.against !== "hand" : verdict.against === "hand"));
      if (held.length === 0) continue;
      const worst = held.reduce((a, b) => (b.ratio > a.ratio ? b : a));
      targets.push({ figure: figure.key, target, worst, met: held.every((verdict) => verdict.met) });
    }
  }
  return targets;
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
    `## PostgreSQL: stepwise/pg against a hand-written loop and its peers (N = ${result.size})`,
    "",
    `PostgreSQL ${result.serverVersion} (embedded, fsync off), Node ${result.node}, ${result.rounds} rounds (${result.noopRuns} no-op starts per side and round); ${result.startedAt}.`,
    "Each cell is `median (min–max)` in ms; every side opens and closes its own connection.",
    "",
    `| side | transactions | ${FIGURES.map((figure) => figure.label).join(" | ")} |`,
    `|---|---|${FIGURES.map(() => "--:").join("|")}|`,
    ...result.sides.map(sideRow),
    "",
    "| figure | stepwise side | against | ratio of medians | ratio of mins | target | met |",
    "|---|---|---|--:|--:|--:|---|",
    ...evaluatePgTargets(result).map(
      (verdict) =>
        `| ${FIGURES.find((figure) => figure.key === verdict.figure)!.label} | ${verdict.stepwise} | ${verdict.against} | ${verdict.ratio.toFixed(2)}× | ${verdict.ratioOfMins.toFixed(2)}× | ≤ ${verdict.limit.toFixed(2)}× | ${verdict.met ? "yes" : "no"} |`,
    ),
    "",
    "Issue 12's targets for stepwise's default `up()` (ratio of medians; the worst comparison each target holds):",
    "",
    "| figure | target | worst ratio | against | verdict |",
    "|---|---|--:|---|---|",
    ...summarizePgTargets(result).map(
      (target) =>
        `| ${FIGURES.find((figure) => figure.key === target.figure)!.label} | ${target.target} | ${target.worst.ratio.toFixed(2)}× (mins ${target.worst.ratioOfMins.toFixed(2)}×) | ${target.worst.against} | ${target.met ? "**met**" : "**not met**"} |`,
    ),
  ];
  return lines.join("\n");
}

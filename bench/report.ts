/** The bench's markdown: one table per dialect and N with stepwise's ratios and the verdicts, and the entry sizes. */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Figure, Measured, SideSamples } from "./measure.js";
import type { EntrySize } from "./sizes.js";
import { repoRoot } from "./workload.js";

const FIGURES: readonly [Figure, string][] = [
  ["apply", "fresh apply"],
  ["noop", "no-op start"],
  ["rollback", "roll back all"],
];

/** Within this of the hand-written loop (ratio of medians). */
const HAND_LOOP_LIMIT = 1.25;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
/** The median of the samples' wall times. */
export const medianMs = (samples: readonly { readonly ms: number }[]) => median(samples.map((sample) => sample.ms));
const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const times = (ratio: number) => `${ratio.toFixed(2)}×`;

/** A side's name as the table prints it: the peers with the version installed. */
function label(side: SideSamples): string {
  if (side.id === "stepwise") return "**stepwise**";
  if (side.id === "stepwise-all") return '**stepwise** `transaction: "all"`';
  if (side.id === "hand") return "hand-written loop";
  return `${side.id} ${(JSON.parse(readFileSync(path.join(repoRoot, "node_modules", side.id, "package.json"), "utf8")) as { version: string }).version}`;
}

/** The stepwise side `side` is measured against: the one grouping transactions as it does (a peer that runs none, as Kysely on SQLite, against one for the run). */
function stepwiseFor(result: Measured, side: SideSamples): SideSamples {
  return result.sides.find((candidate) => candidate.id === (side.transactions === "one per migration" ? "stepwise" : "stepwise-all"))!;
}

const isStepwise = (side: SideSamples) => side.id.startsWith("stepwise");

/** The matching stepwise side's median over `side`'s, per figure; absent where the side has no figure. */
function ratios(result: Measured, side: SideSamples): Partial<Record<Figure, number>> {
  const stepwise = stepwiseFor(result, side);
  return Object.fromEntries(FIGURES.filter(([figure]) => side[figure].length > 0).map(([figure]) => [figure, medianMs(stepwise[figure]) / medianMs(side[figure])]));
}

/** The table for one dialect and N: `median (min)` ms per cell, and the matching stepwise side ÷ the side (below 1: stepwise is faster). */
export function renderMeasured(result: Measured): string {
  const title = result.dialect === "sqlite" ? "SQLite (better-sqlite3)" : "PostgreSQL (pg, embedded server)";
  const lines = [
    `### ${title}, N = ${result.size.toLocaleString("en-US")}, ${result.rounds} round${result.rounds === 1 ? "" : "s"}`,
    "",
    `| side | transactions | ${FIGURES.map(([, name]) => `${name}, ms`).join(" | ")} | peak RSS, MiB |`,
    "|---|---|--:|--:|--:|--:|",
  ];
  for (const side of result.sides) {
    const ratio = ratios(result, side);
    const cell = (figure: Figure) => {
      const samples = side[figure];
      if (samples.length === 0) return "—";
      const text = `${ms(medianMs(samples))} (${ms(Math.min(...samples.map((sample) => sample.ms)))})`;
      return isStepwise(side) ? text : `${text} · ${times(ratio[figure]!)}`;
    };
    const rss = Math.max(
      ...FIGURES.map(([figure]) => side[figure])
        .filter((samples) => samples.length > 0)
        .map((samples) => median(samples.map((sample) => sample.rssKiB))),
    );
    lines.push(`| ${label(side)} | ${side.transactions} | ${FIGURES.map(([figure]) => cell(figure)).join(" | ")} | ${(rss / 1024).toFixed(0)} |`);
  }
  lines.push("", ...verdicts(result).map((verdict) => `- ${verdict}`));
  return lines.join("\n");
}

/** Per figure: within {@link HAND_LOOP_LIMIT} of the hand loop, and ahead of every peer (the worst ratio named). */
function verdicts(result: Measured): string[] {
  const hand = ratios(
    result,
    result.sides.find((side) => side.id === "hand")!,
  );
  const peers = result.sides.filter((side) => !isStepwise(side) && side.id !== "hand").map((side) => ({ side, ratio: ratios(result, side) }));
  return FIGURES.map(([figure, name]) => {
    const worst = peers.filter((peer) => peer.ratio[figure] !== undefined).reduce((a, b) => (b.ratio[figure]! > a.ratio[figure]! ? b : a));
    const againstHand = `${times(hand[figure]!)} the hand loop (≤ ${times(HAND_LOOP_LIMIT)}: ${hand[figure]! <= HAND_LOOP_LIMIT ? "met" : "**not met**"})`;
    const mode = stepwiseFor(result, worst.side).id === "stepwise" ? "" : ` (stepwise with \`transaction: "all"\`, as ${worst.side.id} groups them)`;
    const againstPeers = `${times(worst.ratio[figure]!)} the strongest peer, ${worst.side.id}${mode} (< 1×: ${worst.ratio[figure]! < 1 ? "met" : "**not met**"})`;
    return `${name}: stepwise takes ${againstHand}; ${againstPeers}`;
  });
}

/** The entry sizes against issue 26's ceilings. */
export function renderSizes(sizes: readonly EntrySize[]): string {
  const kib = (bytes: number) => (bytes / 1024).toFixed(1);
  return [
    "### Entry sizes (`migrate` alone; esbuild, minified, gzipped)",
    "",
    "| entry | KiB gzipped | ceiling, KiB | |",
    "|---|--:|--:|---|",
    ...sizes.map(
      (size) =>
        `| stepwise-migrate/${size.entry} | ${kib(size.gzipBytes)} | ${size.targetKiB} | ${size.gzipBytes <= size.targetKiB * 1024 ? "within" : `**over by ${kib(size.gzipBytes - size.targetKiB * 1024)}**`} |`,
    ),
  ].join("\n");
}

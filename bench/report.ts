/** Turns a {@link BenchResult} into the markdown table and the verdict on each target of issue 6. */
import type { BenchResult, Figure } from "./run-bench.js";
import type { Summary } from "./stats.js";

/** One target and whether this run met it. */
export interface TargetVerdict {
  readonly figureId: string;
  readonly size: number;
  readonly target: string;
  /** `null` when the figure was not measured in this run. */
  readonly met: boolean | null;
}

/** The targets, checked against the figures of one run. */
export function evaluateTargets(result: BenchResult): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  const find = (id: string, size: number) => result.figures.find((figure) => figure.id === id && figure.size === size);
  const sizes = [...new Set(result.figures.map((figure) => figure.size))];
  for (const size of sizes) {
    for (const id of ["apply", "rollback"]) {
      const figure = find(id, size);
      verdicts.push({ figureId: id, size, target: "≤ 1.10× raw", met: figure ? figure.ratio <= 1.1 : null });
    }
    const genCold = find("gen-cold", size);
    for (const id of ["gen-check-miss", "gen-check-hit"]) {
      const figure = find(id, size);
      verdicts.push({ figureId: id, size, target: "cheaper than gen, cold", met: figure && genCold ? figure.stepwise.median < genCold.stepwise.median : null });
    }
  }
  const noop = find("noop-in-process", 1000);
  verdicts.push({ figureId: "noop-in-process", size: 1000, target: "< 1 ms median and ≤ 2× raw", met: noop ? noop.stepwise.median < 1 && noop.ratio <= 2 : null });
  const genCold = find("gen-cold", 1000);
  verdicts.push({ figureId: "gen-cold", size: 1000, target: "< 2 s", met: genCold ? genCold.stepwise.median < 2000 : null });
  const linear = linearity(result);
  verdicts.push({ figureId: "gen-cold", size: 10_000, target: "linear in N (per-file time at the largest N ≤ 1.5× at 1,000)", met: linear });
  const applyAll = find("apply-all", 1000);
  verdicts.push({ figureId: "apply-all", size: 1000, target: "≤ 1.10× raw in one transaction", met: applyAll ? applyAll.ratio <= 1.1 : null });
  for (const id of ["start-bundled", "start-tsx"]) {
    const figure = find(id, 1000);
    verdicts.push({ figureId: id, size: 1000, target: "≤ 1.15× open + one SELECT", met: figure ? figure.ratio <= 1.15 : null });
  }
  return verdicts;
}

/**
 * Compares gen's cost per file at the largest N with its cost at 1,000. The fixed start-up cost
 * (loading ts-morph and prettier) is taken out first using the per-file slope between the two sizes.
 */
function linearity(result: BenchResult): boolean | null {
  const gens = result.figures.filter((figure) => figure.id === "gen-cold").sort((a, b) => a.size - b.size);
  const small = gens.find((figure) => figure.size === 1000);
  const large = gens.at(-1);
  if (!small || !large || large.size <= small.size) return null;
  return large.stepwise.median / large.size <= (1.5 * small.stepwise.median) / small.size;
}

/** The markdown report: one table of every figure, then the targets. */
export function renderMarkdown(result: BenchResult): string {
  const lines = [
    `stepwise bench, ${result.startedAt}: node ${result.node}, ${result.platform}, ${result.cpus} CPUs; pragmas: ${result.pragmas.join(", ")}`,
    "",
    `runtime bundle size (esbuild --minify, only MigrationManager and migrate imported, better-sqlite3 external): ${(result.runtimeBundleBytes / 1024).toFixed(1)} KiB`,
    "",
    "| figure | N | stepwise ms, median (min–max) | baseline | baseline ms, median (min–max) | ratio of medians | ratio of mins | peak RSS MiB (stepwise / baseline) |",
    "|---|--:|--:|---|--:|--:|--:|--:|",
  ];
  for (const figure of result.figures) {
    lines.push(
      `| ${figure.label} | ${figure.size.toLocaleString("en-US")} | ${formatSummary(figure.stepwise)} | ${figure.baselineLabel} | ${formatSummary(figure.baseline)} | ${figure.ratio.toFixed(2)}× | ${(figure.stepwise.min / figure.baseline.min).toFixed(2)}× | ${formatRss(figure)} |`,
    );
  }
  lines.push("", "| target | N | met |", "|---|--:|---|");
  for (const verdict of evaluateTargets(result)) {
    const label = result.figures.find((figure) => figure.id === verdict.figureId)?.label ?? verdict.figureId;
    lines.push(`| ${label}: ${verdict.target} | ${verdict.size.toLocaleString("en-US")} | ${verdict.met === null ? "not measured" : verdict.met ? "yes" : "**no**"} |`);
  }
  return lines.join("\n");
}

function formatSummary(summary: Summary): string {
  return `${formatMs(summary.median)} (${formatMs(summary.min)}–${formatMs(summary.max)})`;
}

function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms < 1) return ms.toFixed(3);
  if (ms < 100) return ms.toFixed(1);
  return Math.round(ms).toLocaleString("en-US");
}

function formatRss(figure: Figure): string {
  if (!figure.stepwiseRssMiB || !figure.baselineRssMiB) return "";
  return `${Math.round(figure.stepwiseRssMiB.median)} / ${Math.round(figure.baselineRssMiB.median)}`;
}

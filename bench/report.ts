/** Turns a {@link BenchResult} into the markdown tables and the verdict on each target of issues 6 and 11. */
import { DRIVER_FIGURE_IDS } from "./measure-drivers.js";
import { START_VARIANTS, startVariantId } from "./start-variants.js";
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

/** The per-driver targets of issue 11, at the largest N where the driver figures were measured. */
export const DRIVER_TARGETS = [
  { id: DRIVER_FIGURE_IDS.apply, what: "fresh apply", limit: 1.05, against: "the hand-written loop" },
  { id: DRIVER_FIGURE_IDS.startSql, what: "no-op start, mostly-SQL registry", limit: 1.1, against: "the floor" },
  { id: DRIVER_FIGURE_IDS.startTs, what: "no-op start, TypeScript-only registry", limit: 1.1, against: "the floor" },
] as const;

/** One driver's verdict on one target; `met` is null when the figure was not measured. */
export interface DriverVerdict {
  readonly driver: string;
  readonly target: (typeof DRIVER_TARGETS)[number];
  readonly figure: Figure | undefined;
  readonly met: boolean | null;
}

/** Checks each driver's figures against {@link DRIVER_TARGETS}, judged by the ratio of medians. */
export function evaluateDriverTargets(result: BenchResult): DriverVerdict[] {
  const driverFigures = result.figures.filter((figure) => figure.driver !== undefined);
  const drivers = [...new Set(driverFigures.map((figure) => figure.driver!))];
  const verdicts: DriverVerdict[] = [];
  for (const driver of drivers) {
    for (const target of DRIVER_TARGETS) {
      const candidates = driverFigures.filter((figure) => figure.driver === driver && figure.id === target.id).sort((a, b) => b.size - a.size);
      const figure = candidates.find((candidate) => candidate.size === 1000) ?? candidates[0];
      verdicts.push({ driver, target, figure, met: figure ? figure.ratio <= target.limit : null });
    }
  }
  return verdicts;
}

const cpuTargets = DRIVER_TARGETS.filter((target) => target.id !== DRIVER_FIGURE_IDS.apply);

function formatRatios(stepwise: Summary, baseline: Summary): string {
  return `${(stepwise.median / baseline.median).toFixed(2)}× (${(stepwise.min / baseline.min).toFixed(2)}×)`;
}

/** The per-driver tables: ratios, median and min, per driver (wall time, then CPU time of the starts); then pass or fail per target on wall time. */
export function renderDriverMarkdown(result: BenchResult): string {
  const verdicts = evaluateDriverTargets(result);
  const drivers = [...new Set(verdicts.map((verdict) => verdict.driver))];
  const lines = [
    "| driver | runtime | N | " +
      DRIVER_TARGETS.map((target) => `${target.what} / ${target.against}: median (min)`).join(" | ") +
      " | " +
      cpuTargets.map((target) => `${target.what}, CPU time: median (min)`).join(" | ") +
      " |",
    "|---|---|--:|" + [...DRIVER_TARGETS, ...cpuTargets].map(() => "--:").join("|") + "|",
  ];
  for (const driver of drivers) {
    const mine = verdicts.filter((verdict) => verdict.driver === driver);
    const any = mine.find((verdict) => verdict.figure)?.figure;
    const cells = mine.map((verdict) => (verdict.figure ? formatRatios(verdict.figure.stepwise, verdict.figure.baseline) : "–"));
    const cpuCells = cpuTargets.map((target) => {
      const figure = mine.find((verdict) => verdict.target.id === target.id)?.figure;
      return figure?.stepwiseCpuMs && figure.baselineCpuMs ? formatRatios(figure.stepwiseCpuMs, figure.baselineCpuMs) : "–";
    });
    lines.push(`| ${driver} | ${any?.runtime ?? ""} | ${any ? any.size.toLocaleString("en-US") : ""} | ${[...cells, ...cpuCells].join(" | ")} |`);
  }
  for (const skipped of result.skippedDrivers) lines.push(`| ${skipped.driver} | skipped: ${skipped.reason} | | ${[...DRIVER_TARGETS, ...cpuTargets].map(() => "–").join(" | ")} |`);
  lines.push("", "| driver | " + DRIVER_TARGETS.map((target) => `${target.what}: ≤ ${target.limit.toFixed(2)}× ${target.against}`).join(" | ") + " |");
  lines.push("|---|" + DRIVER_TARGETS.map(() => "---").join("|") + "|");
  for (const driver of drivers) {
    const cells = verdicts.filter((verdict) => verdict.driver === driver).map((verdict) => (verdict.met === null ? "not measured" : verdict.met ? "yes" : "**no**"));
    lines.push(`| ${driver} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The registry-only rows of each driver, wall and CPU time; empty when none was measured. */
export function renderDriverRegistryMarkdown(result: BenchResult): string {
  const kinds = [
    { id: DRIVER_FIGURE_IDS.registrySql, what: "mostly-SQL registry" },
    { id: DRIVER_FIGURE_IDS.registryTs, what: "TypeScript-only registry" },
  ];
  const figures = result.figures.filter((figure) => figure.driver !== undefined && kinds.some((kind) => kind.id === figure.id));
  if (figures.length === 0) return "";
  const drivers = [...new Set(figures.map((figure) => figure.driver!))];
  const lines = [
    "| driver | runtime | " + kinds.map((kind) => `${kind.what}: wall, median (min) | ${kind.what}: CPU, median (min)`).join(" | ") + " |",
    "|---|---|" + kinds.map(() => "--:|--:").join("|") + "|",
  ];
  for (const driver of drivers) {
    const cells = kinds.flatMap((kind) => {
      const figure = figures.find((candidate) => candidate.driver === driver && candidate.id === kind.id);
      if (!figure) return ["–", "–"];
      return [formatRatios(figure.stepwise, figure.baseline), figure.stepwiseCpuMs && figure.baselineCpuMs ? formatRatios(figure.stepwiseCpuMs, figure.baselineCpuMs) : "–"];
    });
    lines.push(`| ${driver} | ${figures.find((figure) => figure.driver === driver)?.runtime ?? ""} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/**
 * Whether the TypeScript-only start target can be met at all under the design's rule (static imports
 * only): the floor plus the app's own migration modules, with no registry and no stepwise code,
 * against the floor. When that alone is past 1.10×, the target is out of reach for any migration
 * system that imports those modules statically; the verdict says so, apart from stepwise's own share
 * (the app against this program). Empty when it was not measured.
 */
export function renderTsOnlyBoundMarkdown(result: BenchResult): string {
  const modules = result.figures.filter((figure) => figure.driver !== undefined && figure.id === DRIVER_FIGURE_IDS.modulesTs);
  if (modules.length === 0) return "";
  const limit = DRIVER_TARGETS.find((target) => target.id === DRIVER_FIGURE_IDS.startTs)!.limit;
  const lines = [
    "| driver | runtime | the modules alone / the floor: wall, median (min) | CPU, median (min) | the app / the modules alone: wall, median (min) | CPU, median (min) | TypeScript-only target reachable under static imports (modules alone, wall median ≤ " +
      `${limit.toFixed(2)}×) |`,
    "|---|---|--:|--:|--:|--:|---|",
  ];
  for (const figure of modules) {
    const app = result.figures.find((candidate) => candidate.driver === figure.driver && candidate.id === DRIVER_FIGURE_IDS.startTs && candidate.size === figure.size);
    const cpu = figure.stepwiseCpuMs && figure.baselineCpuMs ? formatRatios(figure.stepwiseCpuMs, figure.baselineCpuMs) : "–";
    const appWall = app ? formatRatios(app.stepwise, figure.stepwise) : "–";
    const appCpu = app?.stepwiseCpuMs && figure.stepwiseCpuMs ? formatRatios(app.stepwiseCpuMs, figure.stepwiseCpuMs) : "–";
    const reachable = figure.ratio <= limit ? "yes" : "**no**: the app's own modules alone exceed it";
    lines.push(`| ${figure.driver} | ${figure.runtime ?? ""} | ${formatRatios(figure.stepwise, figure.baseline)} | ${cpu} | ${appWall} | ${appCpu} | ${reachable} |`);
  }
  return lines.join("\n");
}

/**
 * Whether the mostly-SQL start target can be met at all under the design: the floor plus the
 * smallest registry the design allows (`design-minimum.ts`: a version and checksum per migration,
 * the SQL inlined, the TypeScript migrations imported), against the floor. When that alone is past
 * 1.10×, no migration system that keeps the design's promises meets the target there; stepwise's own
 * share is the app against this program. Empty when it was not measured.
 */
export function renderSqlBoundMarkdown(result: BenchResult): string {
  const minimums = result.figures.filter((figure) => figure.driver !== undefined && figure.id === DRIVER_FIGURE_IDS.minimumSql);
  if (minimums.length === 0) return "";
  const limit = DRIVER_TARGETS.find((target) => target.id === DRIVER_FIGURE_IDS.startSql)!.limit;
  const lines = [
    "| driver | runtime | the design's minimum alone / the floor: wall, median (min) | CPU, median (min) | the app / the design's minimum: wall, median (min) | CPU, median (min) | mostly-SQL target reachable by the design (its minimum alone, wall median ≤ " +
      `${limit.toFixed(2)}×) |`,
    "|---|---|--:|--:|--:|--:|---|",
  ];
  for (const figure of minimums) {
    const app = result.figures.find((candidate) => candidate.driver === figure.driver && candidate.id === DRIVER_FIGURE_IDS.startSql && candidate.size === figure.size);
    const cpu = figure.stepwiseCpuMs && figure.baselineCpuMs ? formatRatios(figure.stepwiseCpuMs, figure.baselineCpuMs) : "–";
    const appWall = app ? formatRatios(app.stepwise, figure.stepwise) : "–";
    const appCpu = app?.stepwiseCpuMs && figure.stepwiseCpuMs ? formatRatios(app.stepwiseCpuMs, figure.stepwiseCpuMs) : "–";
    const reachable = figure.ratio <= limit ? "yes" : "**no**: the design's minimum alone exceeds it";
    lines.push(`| ${figure.driver} | ${figure.runtime ?? ""} | ${formatRatios(figure.stepwise, figure.baseline)} | ${cpu} | ${appWall} | ${appCpu} | ${reachable} |`);
  }
  return lines.join("\n");
}

/**
 * The supplementary starts (`start-variants.ts`): the app against the floor, both started with the
 * runtime's compile cache, or on Node 20 without NODE_EXTRA_CA_CERTS. Empty when none was measured.
 */
export function renderStartVariantsMarkdown(result: BenchResult): string {
  const rows: string[] = [];
  const drivers = [...new Set(result.figures.filter((figure) => figure.driver !== undefined).map((figure) => figure.driver!))];
  for (const driver of drivers) {
    for (const variant of START_VARIANTS) {
      const [sql, ts] = (["sql", "ts"] as const).map((kind) => result.figures.find((figure) => figure.driver === driver && figure.id === startVariantId(kind, variant)));
      if (!sql && !ts) continue;
      const cells = [sql, ts].flatMap((figure) =>
        figure ? [formatRatios(figure.stepwise, figure.baseline), figure.stepwiseCpuMs && figure.baselineCpuMs ? formatRatios(figure.stepwiseCpuMs, figure.baselineCpuMs) : "–"] : ["–", "–"],
      );
      rows.push(`| ${driver} | ${(sql ?? ts)!.runtime ?? ""} | ${variant} | ${cells.join(" | ")} |`);
    }
  }
  if (rows.length === 0) return "";
  return [
    "| driver | runtime | started with | no-op start, mostly-SQL / the floor: wall, median (min) | CPU, median (min) | no-op start, TypeScript-only / the floor: wall, median (min) | CPU, median (min) |",
    "|---|---|---|--:|--:|--:|--:|",
    ...rows,
  ].join("\n");
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
    ...(result.extraCaCerts
      ? [
          "",
          "NODE_EXTRA_CA_CERTS is set: Node 20 reads those certificates at every start, which lengthens every Node 20 figure, floors included, and so shrinks their ratios (see the supplementary table).",
        ]
      : []),
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
  if (result.figures.some((figure) => figure.driver !== undefined) || result.skippedDrivers.length > 0) {
    lines.push("", "Per driver, each against its own baselines in this run (ratio of medians, ratio of mins in brackets):", "", renderDriverMarkdown(result));
    const registryOnly = renderDriverRegistryMarkdown(result);
    if (registryOnly) lines.push("", "What the registry alone costs a start: the floor plus importing the registry, against the floor (no stepwise code, no `migrate()`):", "", registryOnly);
    const sqlBound = renderSqlBoundMarkdown(result);
    if (sqlBound)
      lines.push(
        "",
        "What the smallest registry the design allows costs a start (a version and checksum per migration, the SQL inlined, the TypeScript migrations imported: bench/design-minimum.ts), with no entries and no stepwise code, and stepwise's share on top of it:",
        "",
        sqlBound,
      );
    const bound = renderTsOnlyBoundMarkdown(result);
    if (bound)
      lines.push(
        "",
        "What the app's own TypeScript migration modules (the TypeScript-only workload's) cost a start, with no registry and no stepwise code (the floor plus their static imports), and stepwise's share on top of them:",
        "",
        bound,
      );
    const variants = renderStartVariantsMarkdown(result);
    if (variants)
      lines.push(
        "",
        "Supplementary, not the verdict: the same starts with the runtime's compile cache (Node 24: NODE_COMPILE_CACHE; Bun: `bun build --bytecode`), and on Node 20 without NODE_EXTRA_CA_CERTS, which Node 20 reads at every start (bench/start-variants.ts):",
        "",
        variants,
      );
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

/**
 * What each driver entry costs an app's bundle: esbuild bundles, minified, of an app that imports from
 * the entry, with the database library external and no registry (the registry is the app's own
 * migrations, whatever the entry). Each entry is bundled twice: importing `migrate` alone (what the
 * README's Cloudflare and Browser recipes do, and the figure held to a budget) and importing
 * `MigrationManager` and `migrate` (an app that also calls `status`, `down`…). Sizes are minified and
 * gzipped bytes; for each bundle, the modules that weigh most (esbuild's metafile), so a change that
 * pulls in weight shows where it came from.
 *
 * `stepwise-migrate/sql-js` is measured as a browser page bundles it (`platform: "browser"`, where any
 * `node:` import fails the build). It and the two Cloudflare entries are held to issue 14's 10 KB
 * gzipped budget, reported, and to a regression ceiling (`bundle-ceilings.ts`), enforced. Every other
 * file of `src/entries/` is measured for Node, the libraries and Node's built-ins external, so a new
 * entry is measured from the day it lands.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { BUNDLE_GZIP_CEILINGS, type BundleCeiling } from "./bundle-ceilings.js";
import { LONGEST_KEPT_LITERAL, measureCodeOnlyBound } from "./bundle-size-bound.js";
import { repoRoot } from "./workload.js";

/** The gzipped budget for an entry that runs in a browser page or a Worker (issue 14). */
export const BROWSER_ENTRY_GZIP_BUDGET = 10 * 1024;

/** One entry, as an app that bundles it. */
interface EntryCase {
  readonly entry: string;
  readonly platform: "node" | "browser";
  readonly gzipBudget: number | null;
  readonly gzipCeiling: BundleCeiling | null;
}

/**
 * What an app installs next to stepwise (every driver's library, the runtimes' built-in modules),
 * left out of every bundle: an entry imports at most its own.
 */
const LIBRARIES = ["better-sqlite3", "libsql", "pg", "@libsql/client", "sql.js", "bun:sqlite", "cloudflare:*"];

/** Entries bundled as a browser page bundles them; every other entry is bundled for Node. */
const BROWSER_ENTRIES: ReadonlySet<string> = new Set(["sql-js"]);

/** The entries issue 14 holds to {@link BROWSER_ENTRY_GZIP_BUDGET}: the browser one and the two Workers ones. */
const BUDGETED_ENTRIES: ReadonlySet<string> = new Set(["sql-js", "durable-objects", "d1"]);

/** Every file of `src/entries/` that is a package entry (the safety nets are re-exported by each). */
function listEntryCases(): EntryCase[] {
  return readdirSync(path.join(repoRoot, "src", "entries"))
    .filter((file) => file.endsWith(".ts"))
    .map((file) => file.slice(0, -3))
    .sort()
    .map((entry) => ({
      entry,
      platform: BROWSER_ENTRIES.has(entry) ? "browser" : "node",
      gzipBudget: BUDGETED_ENTRIES.has(entry) ? BROWSER_ENTRY_GZIP_BUDGET : null,
      gzipCeiling: BUNDLE_GZIP_CEILINGS[entry] ?? null,
    }));
}

/** A module's share of a bundle, in minified bytes before compression. */
export interface ModuleWeight {
  readonly module: string;
  readonly bytes: number;
}

/** One bundle's size. */
export interface BundleBytes {
  readonly minifiedBytes: number;
  readonly gzipBytes: number;
}

/** One entry's bundles. */
export interface EntryBundleSize {
  /** `stepwise-migrate/<entry>`. */
  readonly entry: string;
  readonly platform: "node" | "browser";
  /** The bundle of an app importing `MigrationManager` and `migrate`. */
  readonly minifiedBytes: number;
  readonly gzipBytes: number;
  /** The bundle of an app importing `migrate` alone: the figure the budget and the ceiling hold. */
  readonly migrateOnly: BundleBytes;
  /** Issue 14's gzipped budget for {@link migrateOnly}, or `null` where the issue sets none (reported, not enforced). */
  readonly gzipBudget: number | null;
  /**
   * The gzipped size each bundle may not exceed (`bundle-ceilings.ts`), or `null` for an entry
   * without one: `npm run bench` exits 1 when a bundle grows past its own.
   */
  readonly gzipCeiling: BundleCeiling | null;
  /**
   * For a budgeted entry, {@link migrateOnly} with no text and every property renamed
   * (`bundle-size-bound.ts`): the least that trimming messages and minifying could ever reach; `null`
   * for an entry without a budget.
   */
  readonly codeOnlyBound: BundleBytes | null;
  /** The `node:` modules the bundle still imports; a browser bundle must have none. */
  readonly nodeImports: readonly string[];
  /** The heaviest modules, heaviest first. */
  readonly heaviest: readonly ModuleWeight[];
}

/** Bundles every entry in memory from this repo's source and measures it. */
export async function measureEntryBundleSizes(options: { heaviest?: number } = {}): Promise<EntryBundleSize[]> {
  const sizes: EntryBundleSize[] = [];
  for (const entryCase of listEntryCases()) {
    const full = await bundleEntry(entryCase, "MigrationManager, migrate");
    const migrateOnly = await bundleEntry(entryCase, "migrate");
    const [bundle] = Object.values(full.metafile.outputs);
    const heaviest = Object.entries(bundle!.inputs)
      .map(([module, input]) => ({ module, bytes: input.bytesInOutput }))
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, options.heaviest ?? 6);
    const nodeImports = [full, migrateOnly].flatMap((result) =>
      Object.values(result.metafile.outputs)[0]!
        .imports.filter((imported) => imported.path.startsWith("node:"))
        .map((imported) => imported.path),
    );
    sizes.push({
      entry: `stepwise-migrate/${entryCase.entry}`,
      platform: entryCase.platform,
      ...bundleBytes(full.outputFiles[0]!.contents),
      migrateOnly: bundleBytes(migrateOnly.outputFiles[0]!.contents),
      codeOnlyBound: entryCase.gzipBudget === null ? null : await measureCodeOnlyBound(migrateOnly.outputFiles[0]!.text),
      gzipBudget: entryCase.gzipBudget,
      gzipCeiling: entryCase.gzipCeiling,
      nodeImports: [...new Set(nodeImports)].sort(),
      heaviest,
    });
  }
  return sizes;
}

/** Bundles an app whose one line is `export { <names> } from "<entry>"`, in memory. */
function bundleEntry(entryCase: EntryCase, names: string) {
  return build({
    stdin: { contents: `export { ${names} } from "./src/entries/${entryCase.entry}.ts";`, resolveDir: repoRoot, sourcefile: "app.ts", loader: "ts" },
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    platform: entryCase.platform,
    target: "es2022",
    format: "esm",
    // Node's built-ins stay external for Node; for the browser, a `node:` import fails the build.
    external: entryCase.platform === "node" ? [...LIBRARIES, "node:*"] : LIBRARIES,
    outfile: "app.js",
    logLevel: "silent",
  });
}

function bundleBytes(output: Uint8Array): BundleBytes {
  return { minifiedBytes: output.byteLength, gzipBytes: gzipSync(output, { level: 9 }).byteLength };
}

/** One bundle that grew past its entry's ceiling. */
export interface BundleRegression {
  readonly entry: string;
  readonly imports: "migrate" | "MigrationManager, migrate";
  readonly gzipBytes: number;
  readonly gzipCeiling: number;
}

/** Every bundle of `sizes` past its entry's {@link EntryBundleSize.gzipCeiling}; `[]` when none grew. */
export function findBundleRegressions(sizes: readonly EntryBundleSize[]): BundleRegression[] {
  return sizes.flatMap((size) => {
    const ceiling = size.gzipCeiling;
    if (ceiling === null) return [];
    const bundles = [
      { imports: "migrate" as const, gzipBytes: size.migrateOnly.gzipBytes, gzipCeiling: ceiling.migrate },
      { imports: "MigrationManager, migrate" as const, gzipBytes: size.gzipBytes, gzipCeiling: ceiling.manager },
    ];
    return bundles.filter((bundle) => bundle.gzipBytes > bundle.gzipCeiling).map((bundle) => ({ entry: size.entry, ...bundle }));
  });
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** The sizes as a markdown table, then the heaviest modules of each bundle. */
export function renderEntryBundleSizes(sizes: readonly EntryBundleSize[]): string {
  const verdict = (bytes: number, limit: number | null) => (limit === null ? "—" : `${kib(limit)}: ${bytes <= limit ? "within" : `**over by ${kib(bytes - limit)}**`}`);
  const lines = [
    "## Driver entry bundle sizes (esbuild --minify; library external; registry excluded)",
    "",
    "| entry | platform | `migrate` only: minified | gzipped | `MigrationManager` + `migrate`: minified | gzipped | issue 14 budget (`migrate` only, gzipped) | regression ceilings, `migrate` / manager (gzipped, enforced) | node: imports |",
    "|---|---|--:|--:|--:|--:|---|---|---|",
    ...sizes.map(
      (size) =>
        `| ${size.entry} | ${size.platform} | ${kib(size.migrateOnly.minifiedBytes)} | ${kib(size.migrateOnly.gzipBytes)} | ${kib(size.minifiedBytes)} | ${kib(size.gzipBytes)} | ${verdict(
          size.migrateOnly.gzipBytes,
          size.gzipBudget,
        )} | ${size.gzipCeiling === null ? "—" : `${verdict(size.migrateOnly.gzipBytes, size.gzipCeiling.migrate)} / ${verdict(size.gzipBytes, size.gzipCeiling.manager)}`} | ${size.nodeImports.join(", ") || "none"} |`,
    ),
    "",
    ...renderBudgetVerdicts(sizes),
    "",
    "Heaviest modules (minified bytes in the `MigrationManager` + `migrate` bundle):",
    "",
    ...sizes.map((size) => `- ${size.entry}: ${size.heaviest.map((weight) => `${weight.module} ${kib(weight.bytes)}`).join(", ")}`),
  ];
  return lines.join("\n");
}

/** The entry whose `migrate` bundle, measured in the same run, the budgeted ones are compared with. */
const BASELINE_ENTRY = "stepwise-migrate/better-sqlite3";

/**
 * Issue 14's figure for each budgeted entry, one line each: `migrate` alone, gzipped, as a ratio to
 * the budget and to better-sqlite3's `migrate` bundle of the same run, and a met / not met verdict;
 * then one verdict for the issue (met only when every budgeted entry is).
 */
export function renderBudgetVerdicts(sizes: readonly EntryBundleSize[]): string[] {
  const baseline = sizes.find((size) => size.entry === BASELINE_ENTRY);
  const budgeted = sizes.filter((size) => size.gzipBudget !== null);
  const lines = budgeted.map((size) => {
    const bytes = size.migrateOnly.gzipBytes;
    const versusBaseline = baseline ? `; ${(bytes / baseline.migrateOnly.gzipBytes).toFixed(2)}× ${BASELINE_ENTRY}'s in this run` : "";
    return `- ${size.entry}, \`migrate\` alone: ${kib(bytes)} gzipped, ${(bytes / size.gzipBudget!).toFixed(2)}× the ${kib(size.gzipBudget!)} budget${versusBaseline}: **${bytes <= size.gzipBudget! ? "met" : "not met"}**`;
  });
  const met = budgeted.every((size) => size.migrateOnly.gzipBytes <= size.gzipBudget!);
  return [`Issue 14, \`migrate\` alone within 10 KiB gzipped: **${met ? "met" : "not met"}**`, "", ...lines, "", ...renderCodeOnlyBounds(budgeted)];
}

/**
 * For each budgeted entry, what its `migrate` bundle weighs with no text at all and every property
 * renamed (`bundle-size-bound.ts`), and what that leaves of the budget for all the text the entry
 * carries: when the bound is over, no trimming of text and no minifier can reach it, only less code.
 */
export function renderCodeOnlyBounds(budgeted: readonly EntryBundleSize[]): string[] {
  const withBound = budgeted.filter((size) => size.codeOnlyBound !== null && size.gzipBudget !== null);
  if (withBound.length === 0) return [];
  return [
    `The code alone (\`bench/bundle-size-bound.ts\`): \`migrate\` alone with every string and template literal over ${LONGEST_KEPT_LITERAL} characters removed (messages, fixes, SQL) and every property renamed, an output that no longer runs:`,
    "",
    ...withBound.map((size) => {
      const bound = size.codeOnlyBound!;
      const room = size.gzipBudget! - bound.gzipBytes;
      return `- ${size.entry}: ${kib(bound.minifiedBytes)} minified, ${kib(bound.gzipBytes)} gzipped, ${(bound.gzipBytes / size.gzipBudget!).toFixed(2)}× the budget: ${
        room < 0 ? "**over the budget with no text at all: only carrying less code can reach it**" : `within it only if every message and SQL statement together fit in ${room} bytes gzipped`
      }`;
    }),
  ];
}

/**
 * The bench case for what a Worker pays to migrate: each Cloudflare driver entry bundled by esbuild
 * for workerd (minified, ESM, `platform: "neutral"`), the registry excluded, as `migrate` alone and
 * as `MigrationManager` with `migrate`, measured raw and gzipped, against the 10 KB gzipped budget. The better-sqlite3 entry, bundled the same way in the
 * same run, is the baseline the ratio is read against. `--only bundles` runs this case alone.
 */
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";
import { repoRoot } from "./workload.js";

/** The budget each Cloudflare entry's bundle must stay within, gzipped. */
export const CLOUDFLARE_BUNDLE_BUDGET_BYTES = 10 * 1024;

/** One measured entry. */
export interface BundleSize {
  readonly entry: string;
  /** What the Worker imports: `migrate` alone (the README's recipe), or `MigrationManager` with it. */
  readonly imports: "migrate" | "MigrationManager, migrate";
  readonly minifiedBytes: number;
  readonly gzippedBytes: number;
  /** The modules that weigh most in the bundle, heaviest first (bytes in the minified output). */
  readonly heaviest: readonly { readonly module: string; readonly bytes: number }[];
}

/** The entries measured: the two Cloudflare ones, then the baseline. */
export const BUNDLE_ENTRIES = ["durable-objects", "d1", "better-sqlite3"] as const;

/** Bundles `imports` from `stepwise-migrate/<entry>`, as a Worker imports them, and measures it. */
export async function measureEntryBundle(entry: string, imports: BundleSize["imports"] = "MigrationManager, migrate"): Promise<BundleSize> {
  const result = await build({
    stdin: { contents: `export { ${imports} } from "./src/entries/${entry}.ts";`, resolveDir: repoRoot, sourcefile: "worker.ts", loader: "ts" },
    bundle: true,
    minify: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    // The app's own library is the app's: an app bundler leaves it to the app, as a Worker has none.
    external: ["better-sqlite3", "node:*"],
    metafile: true,
    logLevel: "silent",
  });
  const bytes = result.outputFiles[0]!.contents;
  return { entry, imports, minifiedBytes: bytes.byteLength, gzippedBytes: gzipSync(bytes).byteLength, heaviest: heaviestModules(result.metafile) };
}

function heaviestModules(metafile: Metafile): BundleSize["heaviest"] {
  const output = Object.values(metafile.outputs)[0];
  if (!output) return [];
  return Object.entries(output.inputs)
    .map(([module, input]) => ({ module, bytes: input.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 6);
}

/** Every entry of {@link BUNDLE_ENTRIES}, measured in this run. */
export async function runBundleSizeBench(): Promise<BundleSize[]> {
  const sizes: BundleSize[] = [];
  for (const entry of BUNDLE_ENTRIES) {
    sizes.push(await measureEntryBundle(entry, "migrate"));
    sizes.push(await measureEntryBundle(entry));
  }
  return sizes;
}

/** The case as a markdown table: sizes, the ratio to the baseline, and the verdict against the budget. */
export function renderBundleSizeMarkdown(sizes: readonly BundleSize[]): string {
  const baselineOf = (size: BundleSize) => sizes.find((candidate) => candidate.entry === "better-sqlite3" && candidate.imports === size.imports);
  const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
  const lines = [
    "## Driver entry bundles (registry excluded; esbuild, minified, platform neutral)",
    "",
    "| entry | imports | minified | gzipped | vs better-sqlite3, same imports (gzipped) | budget 10 KB gzipped | heaviest modules |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const size of sizes) {
    const baseline = baselineOf(size);
    const ratio = baseline ? `${(size.gzippedBytes / baseline.gzippedBytes).toFixed(2)}×` : "n/a";
    const budget = size.entry === "better-sqlite3" ? "baseline" : size.gzippedBytes <= CLOUDFLARE_BUNDLE_BUDGET_BYTES ? "within" : `OVER by ${kb(size.gzippedBytes - CLOUDFLARE_BUNDLE_BUDGET_BYTES)}`;
    const heaviest = size.heaviest.map((module) => `${module.module.replace(/^src\//, "")} ${kb(module.bytes)}`).join(", ");
    lines.push(`| stepwise-migrate/${size.entry} | \`${size.imports}\` | ${kb(size.minifiedBytes)} | ${kb(size.gzippedBytes)} | ${ratio} | ${budget} | ${heaviest} |`);
  }
  return lines.join("\n");
}

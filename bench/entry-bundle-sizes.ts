/**
 * What each driver entry costs an app's bundle: esbuild bundles, minified, of an app that imports only
 * `MigrationManager` and `migrate` from the entry, with the database library external and no registry
 * (the registry is the app's own migrations, whatever the entry). Sizes are minified and gzipped
 * bytes; for each bundle, the modules that weigh most (esbuild's metafile), so a change that pulls in
 * weight shows where it came from.
 *
 * `stepwise/sql-js` is measured as a browser page bundles it (`platform: "browser"`, where any
 * `node:` import fails the build), against the 10 KB gzipped budget of issue 14. Every other file of
 * `src/entries/` is measured for Node, the libraries and Node's built-ins external, so a new entry is
 * measured from the day it lands.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { repoRoot } from "./workload.js";

/** The gzipped budget for an entry that runs in a browser page or a Worker (issue 14). */
export const BROWSER_ENTRY_GZIP_BUDGET = 10 * 1024;

/** One entry, as an app that bundles it. */
interface EntryCase {
  readonly entry: string;
  readonly platform: "node" | "browser";
  readonly gzipBudget: number | null;
}

/**
 * What an app installs next to stepwise (every driver's library, the runtimes' built-in modules),
 * left out of every bundle: an entry imports at most its own.
 */
const LIBRARIES = ["better-sqlite3", "libsql", "pg", "@libsql/client", "sql.js", "bun:sqlite", "cloudflare:*"];

/** Entries bundled as a browser page bundles them, with their budget; every other entry is bundled for Node. */
const BROWSER_ENTRIES: Readonly<Record<string, number>> = { "sql-js": BROWSER_ENTRY_GZIP_BUDGET };

/** Every file of `src/entries/` that is a package entry (the safety nets are re-exported by each). */
function listEntryCases(): EntryCase[] {
  return readdirSync(path.join(repoRoot, "src", "entries"))
    .filter((file) => file.endsWith(".ts") && file !== "safety-nets.ts")
    .map((file) => file.slice(0, -3))
    .sort()
    .map((entry) => ({ entry, platform: entry in BROWSER_ENTRIES ? "browser" : "node", gzipBudget: BROWSER_ENTRIES[entry] ?? null }));
}

/** A module's share of a bundle, in minified bytes before compression. */
export interface ModuleWeight {
  readonly module: string;
  readonly bytes: number;
}

/** One entry's bundle. */
export interface EntryBundleSize {
  /** `stepwise/<entry>`. */
  readonly entry: string;
  readonly platform: "node" | "browser";
  readonly minifiedBytes: number;
  readonly gzipBytes: number;
  /** The gzipped budget, or `null` where the issue sets none. */
  readonly gzipBudget: number | null;
  /** The `node:` modules the bundle still imports; a browser bundle must have none. */
  readonly nodeImports: readonly string[];
  /** The heaviest modules, heaviest first. */
  readonly heaviest: readonly ModuleWeight[];
}

/** Bundles every entry in memory from this repo's source and measures it. */
export async function measureEntryBundleSizes(options: { heaviest?: number } = {}): Promise<EntryBundleSize[]> {
  const sizes: EntryBundleSize[] = [];
  for (const entryCase of listEntryCases()) {
    const result = await build({
      stdin: { contents: `export { MigrationManager, migrate } from "./src/entries/${entryCase.entry}.ts";`, resolveDir: repoRoot, sourcefile: "app.ts", loader: "ts" },
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
    const output = result.outputFiles[0]!.contents;
    const [bundle] = Object.values(result.metafile.outputs);
    const heaviest = Object.entries(bundle!.inputs)
      .map(([module, input]) => ({ module, bytes: input.bytesInOutput }))
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, options.heaviest ?? 6);
    const nodeImports = bundle!.imports.filter((imported) => imported.path.startsWith("node:")).map((imported) => imported.path);
    sizes.push({
      entry: `stepwise/${entryCase.entry}`,
      platform: entryCase.platform,
      minifiedBytes: output.byteLength,
      gzipBytes: gzipSync(output, { level: 9 }).byteLength,
      gzipBudget: entryCase.gzipBudget,
      nodeImports: [...new Set(nodeImports)].sort(),
      heaviest,
    });
  }
  return sizes;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** The sizes as a markdown table, then the heaviest modules of each bundle. */
export function renderEntryBundleSizes(sizes: readonly EntryBundleSize[]): string {
  const lines = [
    "## Driver entry bundle sizes (esbuild --minify; only MigrationManager and migrate imported; library external; registry excluded)",
    "",
    "| entry | platform | minified | gzipped | budget (gzipped) | node: imports |",
    "|---|---|--:|--:|---|---|",
    ...sizes.map(
      (size) =>
        `| ${size.entry} | ${size.platform} | ${kib(size.minifiedBytes)} | ${kib(size.gzipBytes)} | ${
          size.gzipBudget === null ? "—" : `${kib(size.gzipBudget)}: ${size.gzipBytes <= size.gzipBudget ? "within" : `**over by ${kib(size.gzipBytes - size.gzipBudget)}**`}`
        } | ${size.nodeImports.join(", ") || "none"} |`,
    ),
    "",
    "Heaviest modules (minified bytes in the bundle):",
    "",
    ...sizes.map((size) => `- ${size.entry}: ${size.heaviest.map((weight) => `${weight.module} ${kib(weight.bytes)}`).join(", ")}`),
  ];
  return lines.join("\n");
}

/**
 * What each driver entry costs an app's bundle: esbuild bundles, minified, of an app that imports only
 * `MigrationManager` and `migrate` from the entry, with the database library external and no registry
 * (the registry is the app's own migrations, whatever the entry). Sizes are minified and gzipped
 * bytes; for each bundle, the modules that weigh most (esbuild's metafile), so a change that pulls in
 * weight shows where it came from.
 *
 * `stepwise/sql-js` is measured as a browser page bundles it (`platform: "browser"`, where any
 * `node:` import fails the build), against the 10 KB gzipped budget of issue 14. The others are
 * measured for Node, their library and Node's built-ins external.
 */
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { repoRoot } from "./workload.js";

/** The gzipped budget for an entry that runs in a browser page or a Worker (issue 14). */
export const BROWSER_ENTRY_GZIP_BUDGET = 10 * 1024;

/** One entry, as an app that bundles it. */
interface EntryCase {
  readonly entry: string;
  readonly platform: "node" | "browser";
  /** The libraries an app installs next to stepwise, left out of the bundle. */
  readonly external: readonly string[];
  readonly gzipBudget: number | null;
}

const NODE_BUILTINS = ["node:*"];

const ENTRY_CASES: readonly EntryCase[] = [
  { entry: "better-sqlite3", platform: "node", external: ["better-sqlite3", ...NODE_BUILTINS], gzipBudget: null },
  { entry: "node-sqlite", platform: "node", external: NODE_BUILTINS, gzipBudget: null },
  { entry: "bun-sqlite", platform: "node", external: ["bun:sqlite", ...NODE_BUILTINS], gzipBudget: null },
  { entry: "libsql", platform: "node", external: ["libsql", ...NODE_BUILTINS], gzipBudget: null },
  { entry: "sql-js", platform: "browser", external: ["sql.js"], gzipBudget: BROWSER_ENTRY_GZIP_BUDGET },
  { entry: "pg", platform: "node", external: ["pg", ...NODE_BUILTINS], gzipBudget: null },
  { entry: "libsql-client", platform: "node", external: ["@libsql/client", ...NODE_BUILTINS], gzipBudget: null },
];

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
  for (const entryCase of ENTRY_CASES) {
    const result = await build({
      stdin: { contents: `export { MigrationManager, migrate } from "./src/entries/${entryCase.entry}.ts";`, resolveDir: repoRoot, sourcefile: "app.ts", loader: "ts" },
      bundle: true,
      minify: true,
      write: false,
      metafile: true,
      platform: entryCase.platform,
      target: "es2022",
      format: "esm",
      external: [...entryCase.external],
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

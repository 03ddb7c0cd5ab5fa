/**
 * What the edge entries cost an app's bundle: `migrate` imported alone from each, bundled by esbuild
 * (minified, for the browser, so a `node:` import fails the build; the database library and the
 * registry left out), then gzipped at level 9.
 */
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { repoRoot } from "./workload.js";

/** Issue 26's ceilings, in gzipped KiB: each entry measured this way at the issue's commit. */
export const SIZE_TARGETS_KIB: Readonly<Record<string, number>> = { d1: 16.1, "durable-objects": 18.5, "sql-js": 23.4 };

/** One entry's bundle. */
export interface EntrySize {
  readonly entry: string;
  readonly gzipBytes: number;
  readonly targetKiB: number;
}

/** Bundles and measures every entry of {@link SIZE_TARGETS_KIB}. */
export async function measureEntrySizes(): Promise<EntrySize[]> {
  const sizes: EntrySize[] = [];
  for (const [entry, targetKiB] of Object.entries(SIZE_TARGETS_KIB)) {
    const result = await build({
      stdin: { contents: `export { migrate } from "./src/entries/${entry}.ts";`, resolveDir: repoRoot, loader: "ts" },
      bundle: true,
      minify: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      external: ["sql.js", "cloudflare:*"],
      logLevel: "error",
    });
    sizes.push({ entry, gzipBytes: gzipSync(result.outputFiles[0]!.contents, { level: 9 }).byteLength, targetKiB });
  }
  return sizes;
}

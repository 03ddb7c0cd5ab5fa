/**
 * The size an app pays for migrating at start-up: a minified esbuild bundle of an entry that imports
 * only `MigrationManager` and `migrate`, with better-sqlite3 left external as an app bundler would.
 * Reported, not asserted; `test/runtime-bundle.test.ts` guards which modules it may contain.
 */
import path from "node:path";
import { build } from "esbuild";
import { repoRoot } from "./workload.js";

/** Bytes of the minified runtime bundle, built in memory from this repo's source. */
export async function measureRuntimeBundleBytes(): Promise<number> {
  const result = await build({
    stdin: { contents: `export { MigrationManager, migrate } from "./src/entries/better-sqlite3.ts";`, resolveDir: repoRoot, sourcefile: "app.ts", loader: "ts" },
    bundle: true,
    minify: true,
    write: false,
    platform: "node",
    target: "node20",
    format: "esm",
    external: ["better-sqlite3"],
    outfile: path.join(repoRoot, "runtime-bundle.js"),
    logLevel: "silent",
  });
  return result.outputFiles.reduce((total, file) => total + file.contents.byteLength, 0);
}

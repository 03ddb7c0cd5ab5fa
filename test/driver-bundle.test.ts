/**
 * Importing one driver entry never loads another: a bundle of `stepwise/libsql` or `stepwise/sql-js`
 * holds no other driver's module and imports no other driver's library. Structural, on esbuild's
 * metafile, like `runtime-bundle.test.ts`.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { build } from "esbuild";
import { repoRoot } from "./support/project.js";

const DRIVER_LIBRARIES = ["better-sqlite3", "libsql", "sql.js", "node:sqlite", "bun:sqlite"];
const DRIVER_MODULES = ["src/drivers/better-sqlite3.ts", "src/drivers/libsql.ts", "src/drivers/sql-js.ts"];

/** The repo files that leave code in a bundle of `entry`, and the packages the bundle imports at run time. */
async function bundleOf(entry: string): Promise<{ inputs: string[]; imports: string[] }> {
  const result = await build({
    stdin: { contents: `export * from "${entry}";`, resolveDir: repoRoot, sourcefile: "app.ts", loader: "ts" },
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // Left external, so a run-time import of any driver library shows up in `imports`.
    external: DRIVER_LIBRARIES,
    logLevel: "silent",
  });
  const [output] = Object.values(result.metafile.outputs);
  assert.ok(output);
  return {
    inputs: Object.entries(output.inputs)
      .filter(([, contribution]) => contribution.bytesInOutput > 0)
      .map(([input]) => path.relative(repoRoot, path.resolve(repoRoot, input)).split(path.sep).join("/")),
    imports: output.imports.map((imported) => imported.path),
  };
}

for (const [entry, own] of [
  ["./src/entries/libsql.ts", "src/drivers/libsql.ts"],
  ["./src/entries/sql-js.ts", "src/drivers/sql-js.ts"],
] as const) {
  test(`a bundle of ${entry} holds no other driver and imports no driver library`, async () => {
    const { inputs, imports } = await bundleOf(entry);
    assert.ok(inputs.includes(own), `${own} missing from ${inputs.join(", ")}`);
    assert.ok(inputs.includes("src/core/executor.ts"));
    assert.deepEqual(inputs.filter((input) => DRIVER_MODULES.includes(input) && input !== own), []);
    assert.deepEqual(inputs.filter((input) => input.startsWith("node_modules/") || input.startsWith("src/safety/") || input.startsWith("src/cli/")), []);
    // Both take the app's own connection and load their library through it: not even their own is imported.
    assert.deepEqual(imports.filter((imported) => DRIVER_LIBRARIES.includes(imported)), []);
  });
}

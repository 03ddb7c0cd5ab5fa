/**
 * A driver entry carries only its own driver: a bundle of `stepwise/node-sqlite` or
 * `stepwise/bun-sqlite` holds no other driver's file and imports no other database library (nor,
 * since the app's connection brings it, its own). Structural, on esbuild's metafile.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { build } from "esbuild";
import { DRIVERS } from "./support/driver-matrix.js";
import { repoRoot } from "./support/project.js";

/** The repo-relative files that leave code in a bundle of `entry`, and the modules it imports at run time. */
async function bundle(entry: string): Promise<{ inputs: string[]; imports: string[] }> {
  const result = await build({
    stdin: { contents: `export * from "./${entry}";`, resolveDir: repoRoot, sourcefile: "app.ts", loader: "ts" },
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // Kept out so a stray import shows up below rather than failing the build.
    external: ["better-sqlite3", "bun:sqlite", "node:sqlite", "libsql", "sql.js"],
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

const DATABASE_LIBRARIES = ["better-sqlite3", "bun:sqlite", "node:sqlite", "sqlite", "libsql", "sql.js"];

for (const name of ["node-sqlite", "bun-sqlite"]) {
  test(`a bundle of stepwise/${name} holds no other driver and imports no database library`, async () => {
    const driver = DRIVERS.find((candidate) => candidate.name === name);
    assert.ok(driver);
    const { inputs, imports } = await bundle(driver.entry);
    assert.ok(inputs.includes(`src/drivers/${name}.ts`), inputs.join(", "));
    assert.ok(inputs.includes("src/core/executor.ts"), inputs.join(", "));
    const otherDrivers = DRIVERS.filter((other) => other.name !== name).flatMap((other) => [`src/drivers/${other.name}.ts`, other.entry]);
    assert.deepEqual(inputs.filter((input) => otherDrivers.includes(input) || input.includes("node_modules/") || input.startsWith("src/safety/")), []);
    assert.deepEqual(imports.filter((imported) => DATABASE_LIBRARIES.includes(imported)), []);
  });
}

test("the check sees a driver's library when an entry does import it (better-sqlite3's own entry)", async () => {
  const { inputs, imports } = await bundle("src/entries/better-sqlite3.ts");
  assert.ok(inputs.includes("src/drivers/better-sqlite3.ts"));
  assert.ok(imports.includes("better-sqlite3"), imports.join(", "));
});

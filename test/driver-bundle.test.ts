/**
 * Importing one driver entry never loads another: a bundle of any driver's entry, with every safety
 * net of the root entry beside it, holds no other driver's module and imports no other database library. Entries other than better-sqlite3's take
 * the app's own connection and reach their library through it, so they import not even their own.
 * Structural, on esbuild's metafile, like `runtime-bundle.test.ts`.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { build } from "esbuild";
import { DRIVERS } from "./support/driver-matrix.js";
import { repoRoot } from "./support/project.js";

const DATABASE_LIBRARIES = ["better-sqlite3", "bun:sqlite", "node:sqlite", "sqlite", "libsql", "sql.js"];

/** The safety nets the root entry exports; each reads and writes only through a driver's primitives. */
const SAFETY_NETS = ["backup", "baseline", "rehearsal", "repair", "restore", "schema-reader", "schema-snapshot", "verify"].map((name) => `src/safety/${name}.ts`);

/** The repo-relative files that leave code in a bundle of `entry` and the root entry, and the modules it imports at run time. */
async function bundle(entry: string): Promise<{ inputs: string[]; imports: string[] }> {
  const result = await build({
    stdin: { contents: `export * from "./${entry}"; export * from "./src/index.ts";`, resolveDir: repoRoot, sourcefile: "app.ts", loader: "ts" },
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // Kept out so a stray import shows up below rather than failing the build.
    external: DATABASE_LIBRARIES,
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

for (const driver of DRIVERS) {
  test(`a bundle of ${driver.entry} holds no other driver and imports no other database library`, async () => {
    const { inputs, imports } = await bundle(driver.entry);
    assert.ok(inputs.includes(driver.driverFile), `${driver.driverFile} missing from ${inputs.join(", ")}`);
    assert.ok(inputs.includes("src/core/executor.ts"), inputs.join(", "));
    const otherDrivers = DRIVERS.filter((other) => other !== driver).flatMap((other) => [other.driverFile, other.entry]);
    assert.deepEqual(
      inputs.filter((input) => otherDrivers.includes(input) || input.includes("node_modules/") || input.startsWith("src/cli/")),
      [],
    );
    // The root entry's safety nets (src/safety/index.ts) reach SQLite only through the driver, so they
    // bring no library of their own into a driver's bundle.
    assert.deepEqual(
      SAFETY_NETS.filter((net) => !inputs.includes(net)),
      [],
      `missing from ${driver.entry}`,
    );
    const allowed = driver.name === "better-sqlite3" ? ["better-sqlite3"] : [];
    assert.deepEqual(
      imports.filter((imported) => DATABASE_LIBRARIES.includes(imported) && !allowed.includes(imported)),
      [],
    );
  });
}

test("the check sees a driver's library when an entry does import it (better-sqlite3's own entry)", async () => {
  const { inputs, imports } = await bundle("src/entries/better-sqlite3.ts");
  assert.ok(inputs.includes("src/drivers/better-sqlite3.ts"));
  assert.ok(imports.includes("better-sqlite3"), imports.join(", "));
});

test("the embeddable CLI (stepwise-migrate/cli) bundles with no dynamic import: driver loaders and fleet workers come from the bin", async () => {
  const result = await build({
    entryPoints: [path.join(repoRoot, "src/cli/index.ts")],
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    target: "node20",
    format: "esm",
    packages: "external",
    logLevel: "silent",
  });
  const [output] = Object.values(result.metafile.outputs);
  assert.ok(output);
  assert.deepEqual(
    output.imports.filter((imported) => imported.kind === "dynamic-import"),
    [],
  );
  const inputs = Object.keys(output.inputs).map((input) => path.relative(repoRoot, path.resolve(repoRoot, input)).split(path.sep).join("/"));
  assert.ok(inputs.includes("src/cli/create-cli.ts"), inputs.join(", "));
  assert.deepEqual(
    inputs.filter((input) => ["src/cli/driver-loaders.ts", "src/cli/fleet-workers.ts"].includes(input)),
    [],
  );
  assert.ok(!result.outputFiles[0]!.text.includes("import("), "no import( in the CLI's code, not even inside a string a Worker evaluates");
});

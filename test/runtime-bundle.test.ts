/**
 * An app that only migrates bundles only the runtime core: the safety nets (rehearsal, backups,
 * baseline, verification and the schema diff they share) and the CLI stay out unless imported. The
 * check is structural, on esbuild's metafile, so it fails when a core module starts importing a
 * feature, not when a byte count drifts.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { build } from "esbuild";
import { migrations } from "../generated/registry.js";
import { MigrationManager, migrate } from "./support/stepwise.js";
import { repoRoot } from "./support/project.js";

const ENTRY = "./src/entries/better-sqlite3.ts";

/**
 * The repo-relative source files that contribute code to a minified bundle of `entry`, an ES
 * module's text. The metafile's top-level `inputs` lists every file esbuild parsed, tree-shaken or
 * not; the output's `inputs` say how many bytes each one left in the bundle.
 */
async function bundledInputs(entry: string): Promise<string[]> {
  const result = await build({
    stdin: { contents: entry, resolveDir: repoRoot, sourcefile: "app.ts", loader: "ts" },
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    platform: "node",
    target: "node20",
    format: "esm",
    external: ["better-sqlite3"],
    logLevel: "silent",
  });
  const [output] = Object.values(result.metafile.outputs);
  assert.ok(output);
  return Object.entries(output.inputs)
    .filter(([, contribution]) => contribution.bytesInOutput > 0)
    .map(([input]) => path.relative(repoRoot, path.resolve(repoRoot, input)).split(path.sep).join("/"));
}

test("importing only migrate and MigrationManager bundles no safety-net, build-time, CLI or commander module", async () => {
  const inputs = await bundledInputs(`export { MigrationManager, migrate } from "${ENTRY}";`);
  for (const core of ["src/core/executor.ts", "src/core/runners.ts", "src/drivers/better-sqlite3.ts"]) {
    assert.ok(inputs.includes(core), `the bundle lacks ${core}: ${inputs.join(", ")}`);
  }
  // Build-time code (file-name rules, checksums) lives in src/shared/ and codegen/. The SQLite tokenizer
  // is the runtime's too: a failed SQL migration is located by its statements, and the history guard
  // reads whether a migration's text names the history table.
  const unwanted = inputs.filter(
    (input) =>
      input.startsWith("src/safety/") ||
      (input.startsWith("src/shared/") && input !== "src/shared/sqlite-tokens.ts") ||
      input.startsWith("codegen/") ||
      input.startsWith("src/cli/") ||
      input.includes("node_modules/commander/"),
  );
  assert.deepEqual(unwanted, []);
});

test("the root entry bundles no driver library's module, no CLI and no build-time code; defineMigration alone bundles no safety net", async () => {
  const DRIVERS = /^src\/drivers\/(better-sqlite3|node-sqlite|bun-sqlite|libsql|sql-js|pg|libsql-client|d1|durable-objects)\.ts$/;
  const everything = await bundledInputs(`export * from "./src/index.ts";`);
  assert.ok(everything.includes("src/safety/verify.ts"), "the root entry's safety nets are in its bundle");
  assert.deepEqual(
    everything.filter((input) => DRIVERS.test(input) || input.startsWith("src/cli/") || input.startsWith("codegen/")),
    [],
  );
  const authoring = await bundledInputs(`export { defineMigration } from "./src/index.ts";`);
  assert.deepEqual(
    authoring.filter((input) => input.startsWith("src/drivers/") || input.startsWith("src/safety/") || input.startsWith("src/shared/") || input.startsWith("src/cli/")),
    [],
  );
});

test("the guard sees a safety net when an app does import one", async () => {
  const inputs = await bundledInputs(`export { migrate } from "${ENTRY}"; export { verifySchema, upWithBackup } from "./src/index.ts";`);
  for (const feature of ["src/safety/verify.ts", "src/safety/schema-snapshot.ts", "src/safety/schema-reader.ts", "src/safety/backup.ts"]) {
    assert.ok(inputs.includes(feature), `${feature} missing from ${inputs.join(", ")}`);
  }
});

test("options that moved to standalone functions are refused with USAGE, not ignored, and nothing is applied", () => {
  const db = new Database(":memory:");
  try {
    const manager = new MigrationManager(db, migrations);
    const usage = { code: "USAGE" };
    assert.throws(() => manager.up({ backup: { directory: "backups" } } as never), usage);
    assert.throws(() => manager.planUp({ rehearse: true } as never), usage);
    assert.throws(() => migrate(db, migrations, { verifySchema: true } as never), usage);
    assert.throws(() => migrate(db, migrations, { backup: { directory: "backups" } } as never), usage);
    assert.equal(manager.currentVersion(), 0);
    assert.equal(db.prepare("SELECT count(*) AS n FROM sqlite_master").pluck().get(), 0);
  } finally {
    db.close();
  }
});

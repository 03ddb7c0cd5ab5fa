/**
 * An error's `name` survives minification: a bundler renames classes (`class e extends ...`), so a
 * name read off the class at run time (`new.target.name`) printed `e: Migration 3 failed...` in a
 * minified app. `StepwiseError`, the one class every stepwise error is, states its name as a
 * literal (as do the plain errors a migration's failure carries as its `cause`); the bundle test
 * triggers real errors through a minified bundle of a driver entry, and the source test holds every
 * error class to it.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { build } from "esbuild";
import { repoRoot } from "./support/project.js";

/** A driver entry and two safety nets, minified into one module and imported (better-sqlite3 stays external). */
async function minifiedEntry(): Promise<Record<string, unknown>> {
  const result = await build({
    stdin: {
      contents: `export { MigrationManager, migrate } from "./src/entries/better-sqlite3.ts"; export { verifySchema, baselineDatabase } from "./src/safety/index.ts";`,
      resolveDir: repoRoot,
      sourcefile: "app.ts",
      loader: "ts",
    },
    bundle: true,
    minify: true,
    write: false,
    platform: "node",
    target: "node20",
    format: "esm",
    external: ["better-sqlite3"],
    logLevel: "silent",
  });
  const text = result.outputFiles[0]!.text;
  // Proof that the bundle is minified: no class keeps its own name.
  assert.doesNotMatch(text, /class StepwiseError\b/);
  // Beside the repo's node_modules so `import "better-sqlite3"` resolves.
  const folder = path.join(repoRoot, "node_modules", ".cache");
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `stepwise-minified-${process.pid}-${Date.now()}.mjs`);
  writeFileSync(file, text);
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } finally {
    rmSync(file, { force: true });
  }
}

function caught(action: () => unknown): { name: string; code: string } {
  try {
    action();
  } catch (error) {
    return error as { name: string; code: string };
  }
  assert.fail("expected a throw");
}

test("errors thrown by a minified bundle of a driver entry keep their class name, StepwiseError", async () => {
  const bundle = (await minifiedEntry()) as {
    MigrationManager: new (db: unknown, migrations: unknown[]) => { up(): unknown };
    verifySchema: (manager: unknown, options?: unknown) => unknown;
  };
  const Database = (await import("better-sqlite3")).default;
  const db = new Database(":memory:");
  try {
    const sql = (version: number, upSql: string) => ({
      version,
      name: `m${version}`,
      file: `migrations/00${version}_m${version}.sql`,
      kind: "sql",
      checksum: `c${version}`,
      reversible: false,
      transaction: true,
      disableForeignKeys: false,
      upSql,
      downSql: null,
    });
    const invalid = caught(() => new bundle.MigrationManager(db, [sql(2, "SELECT 1")]));
    assert.deepEqual([invalid.name, invalid.code], ["StepwiseError", "REGISTRY_INVALID"]);
    const failed = caught(() => new bundle.MigrationManager(db, [sql(1, "CREATE TABLE t (x);"), sql(2, "CREAT TABLE u (x);")]).up());
    assert.deepEqual([failed.name, failed.code], ["StepwiseError", "MIGRATION_FAILED"]);
    db.exec("CREATE TABLE t2 (y)");
    const drift = caught(() => bundle.verifySchema(new bundle.MigrationManager(db, [sql(1, "CREATE TABLE t (x);")]), { refuseDrift: true }));
    assert.deepEqual([drift.name, drift.code], ["StepwiseError", "SCHEMA_DRIFT"]);
    db.prepare("UPDATE schema_migrations SET checksum = 'other'").run();
    const mismatch = caught(() => new bundle.MigrationManager(db, [sql(1, "CREATE TABLE t (x);")]).up());
    assert.deepEqual([mismatch.name, mismatch.code], ["StepwiseError", "CHECKSUM_MISMATCH"]);
  } finally {
    db.close();
  }
});

/** Every `.ts` file under `dir`, repo-relative. */
function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir)).flatMap((name) => {
    const relative = `${dir}/${name}`;
    if (statSync(path.join(repoRoot, relative)).isDirectory()) return sourceFiles(relative);
    return name.endsWith(".ts") ? [relative] : [];
  });
}

test("every error class in src/ and codegen/ states its name as a literal, the class's own, and none extends StepwiseError", () => {
  const missing: string[] = [];
  let classes = 0;
  for (const file of [...sourceFiles("src"), ...sourceFiles("codegen")]) {
    const text = readFileSync(path.join(repoRoot, file), "utf8");
    assert.doesNotMatch(text, /\bclass \w+ extends StepwiseError\b/, `${file}: every stepwise error is a StepwiseError, with a code`);
    for (const match of text.matchAll(/^export class (\w+)(?:<[^>]*>)? extends \w*Error\b[^{]*\{/gm)) {
      classes++;
      const name = match[1]!;
      const body = text.slice(match.index + match[0].length, text.indexOf("\n}", match.index));
      if (!body.includes(`name: string = "${name}";`) && !body.includes(`this.name = "${name}";`)) missing.push(`${file}: ${name}`);
    }
  }
  assert.ok(classes >= 4, `found only ${classes} error classes`);
  assert.deepEqual(missing, []);
});

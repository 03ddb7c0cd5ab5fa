/**
 * Capability-driven composition (issue 14's bundle budget): `migrate` alone from the Durable
 * Objects, D1 and sql.js entries bundles only the executor strategies its driver can use
 * (`src/core/executor-types.ts`), no manager, none of the history reads only `history()`
 * and the safety nets make, and none of `down`'s history writes (`history-reverts.ts`) where the
 * driver's strategies do not reach them (D1's atomic batch checks a revert's row in its batch). Read from esbuild's metafile of the same bundle `npm run bench` measures,
 * so a static import that pulls a path back in fails here with the module's name. And sql.js's
 * `migrate`, which builds no manager, still verifies first when handed stepwise's `verifySchema`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { build } from "esbuild";
import initSqlJs from "sql.js";
import { migrate, type MigrationManager } from "../src/entries/sql-js.js";
import { verifySchema } from "../src/safety/verify.js";
import { createItems, sqlEntry } from "./support/registry-builders.js";
import { repoRoot } from "./support/project.js";

/** The repo-relative modules of an app bundle that imports `names` from `entry`, bundled as the bench bundles it. */
async function bundledModules(entry: string, names: string, fromRoot = ""): Promise<Set<string>> {
  const platform = entry === "sql-js" ? "browser" : "node";
  const result = await build({
    stdin: {
      contents: `export { ${names} } from "./src/entries/${entry}.ts";` + (fromRoot ? ` export { ${fromRoot} } from "./src/index.ts";` : ""),
      resolveDir: repoRoot,
      sourcefile: "app.ts",
      loader: "ts",
    },
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    platform,
    target: "es2022",
    format: "esm",
    external: ["better-sqlite3", "libsql", "pg", "@libsql/client", "sql.js", "bun:sqlite", "cloudflare:*", ...(platform === "node" ? ["node:*"] : [])],
    outfile: "app.js",
    logLevel: "silent",
  });
  const [output] = Object.values(result.metafile.outputs);
  return new Set(Object.keys(output!.inputs).filter((module) => output!.inputs[module]!.bytesInOutput > 0));
}

/** What no `migrate` alone may bundle: a manager's operations and the reads only they and the safety nets make. */
const MANAGER_ONLY = ["src/core/executor.ts", "src/core/manager-base.ts", "src/core/history-reads.ts", "src/safety/verify.ts"];

const CASES: readonly { entry: string; bundles: readonly string[]; leavesOut: readonly string[] }[] = [
  {
    // No savepoints, no batches; a whole run is one transactionSync.
    entry: "durable-objects",
    bundles: ["src/core/apply-in-transaction.ts", "src/core/whole-run-strategy.ts"],
    leavesOut: ["src/core/atomic-batch-strategy.ts", "src/core/whole-run-refusal.ts", "src/core/escape-guard.ts", "src/core/transaction-control.ts", "src/core/history-reverts.ts"],
  },
  {
    // One batch per migration, no interactive transaction: a whole run is refused.
    entry: "d1",
    bundles: ["src/core/atomic-batch-strategy.ts", "src/core/whole-run-refusal.ts"],
    leavesOut: ["src/core/apply-in-transaction.ts", "src/core/whole-run-strategy.ts", "src/core/whole-run-transaction.ts", "src/core/escape-guard.ts", "src/core/transaction-control.ts"],
  },
  {
    // Savepoints, so the escape guard; transactions, so the whole run; no batches.
    entry: "sql-js",
    bundles: ["src/core/apply-in-transaction.ts", "src/core/whole-run-strategy.ts", "src/core/escape-guard.ts"],
    leavesOut: ["src/core/atomic-batch-strategy.ts", "src/core/whole-run-refusal.ts", "src/core/history-reverts.ts"],
  },
];

for (const { entry, bundles, leavesOut } of CASES) {
  test(`migrate alone from stepwise-migrate/${entry} bundles the strategies its driver uses, and no manager or other strategy`, async () => {
    const modules = await bundledModules(entry, "migrate");
    for (const module of bundles) assert.ok(modules.has(module), `${module} missing from stepwise-migrate/${entry}'s migrate`);
    for (const module of [...leavesOut, ...MANAGER_ONLY]) assert.ok(!modules.has(module), `${module} in stepwise-migrate/${entry}'s migrate`);
  });
}

test("stepwise-migrate/sql-js: importing verifySchema with migrate is what brings the manager into the bundle", async () => {
  const modules = await bundledModules("sql-js", "migrate", "verifySchema");
  for (const module of ["src/core/manager-base.ts", "src/core/executor.ts", "src/safety/verify.ts"]) assert.ok(modules.has(module), module);
});

test("stepwise-migrate/sql-js migrate({ verifySchema }) verifies before applying; any other function is USAGE with nothing applied", async () => {
  const SQL = await initSqlJs();
  const migrations = [createItems, sqlEntry(2, "CREATE TABLE tags (name TEXT);")];
  const db = new SQL.Database();
  try {
    const tables = (): string[] => (db.exec("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")[0]?.values ?? []).map((row) => String(row[0]));
    // The app's own function around stepwise's: typed as the option takes it, but it carries no manager.
    const wrapped = (manager: MigrationManager<typeof migrations>, options: { readonly refuseDrift: true; readonly cacheExpectedSchema: true }): unknown => verifySchema(manager, options);
    assert.throws(() => migrate(db, migrations, { verifySchema: wrapped }), { code: "USAGE" });
    assert.deepEqual(tables(), []);
    assert.deepEqual(
      migrate(db, [createItems], { verifySchema }).steps.map((step) => step.version),
      [1],
    );
    // Drift made by hand is refused before the pending migration runs.
    db.exec("CREATE INDEX by_hand ON items (note)");
    assert.throws(() => migrate(db, migrations, { verifySchema }), { code: "SCHEMA_DRIFT" });
    assert.deepEqual(tables(), ["items", "schema_migrations"]);
    db.exec("DROP INDEX by_hand");
    assert.deepEqual(
      migrate(db, migrations, { verifySchema }).steps.map((step) => step.version),
      [2],
    );
  } finally {
    db.close();
  }
});

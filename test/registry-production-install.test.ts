/**
 * A production install has the tarball and a driver, none of the devDependencies (tsx, ts-morph,
 * prettier). There the bin's runtime commands cannot load the TypeScript registry, and say so with
 * MISSING_DEPENDENCY naming tsx, before opening any database. Proven on the real bin as a child
 * process whose module resolver finds none of the three tools.
 */
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { createTestProject, runCli, type RunResult, type TestProject } from "./support/project.js";

const TS_MIGRATION = [
  'import { defineMigration } from "stepwise-migrate";',
  "",
  "export default defineMigration({",
  "  up(db) {",
  "    db.exec(\"INSERT INTO items (label) VALUES ('from ts')\");",
  "  },",
  "  down(db) {",
  "    db.exec(\"DELETE FROM items WHERE label = 'from ts'\");",
  "  },",
  "});",
  "",
].join("\n");

/** Writes a module for `node --import` under which tsx, ts-morph and prettier do not resolve, as on a production install. */
function writeProductionResolver(project: TestProject): string {
  const hooks = path.join(project.root, "production-hooks.mjs");
  writeFileSync(
    hooks,
    [
      "export async function resolve(specifier, context, nextResolve) {",
      '  if (/^(?:tsx|ts-morph|prettier)(?:\\/|$)/.test(specifier)) throw Object.assign(new Error(`Cannot find package ${specifier}`), { code: "ERR_MODULE_NOT_FOUND" });',
      "  return nextResolve(specifier, context);",
      "}",
      "",
    ].join("\n"),
  );
  const register = path.join(project.root, "production.mjs");
  writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return register;
}

const json = (result: RunResult) => JSON.parse(result.stdout) as Record<string, unknown> & { error?: Record<string, unknown> };

test("on a production install the bin's runtime commands refuse the TypeScript registry with MISSING_DEPENDENCY naming tsx, and create no database", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT);\n-- migrate:down\nDROP TABLE items;\n");
  project.writeMigration("002_add_row.ts", TS_MIGRATION);
  assert.equal((await project.generate()).ok, true);
  const production = { NODE_OPTIONS: `--import ${pathToFileURL(writeProductionResolver(project)).href}` };
  const refused = await runCli(["status", "--json", "--db", "app.db"], { cwd: project.root, env: production });
  assert.equal(refused.code, 1, refused.stderr);
  const error = json(refused).error!;
  assert.equal(error.code, "MISSING_DEPENDENCY");
  assert.deepEqual(error.packages, ["tsx"]);
  assert.equal(existsSync(path.join(project.root, "app.db")), false);
});

/**
 * A production install has the tarball and a driver, none of the devDependencies (tsx, ts-morph,
 * prettier). There the bin's runtime commands load a registry compiled to JavaScript (`.mjs`, `.js`
 * in a module package, `.cjs`) with Node's own import, and only a TypeScript registry needs tsx; the
 * refusal for that one names the way out that needs no install. Proven on the real bin as a child
 * process whose module resolver finds none of the three tools. Real projects, real SQLite files.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { build } from "esbuild";
import { createTestProject, repoRoot, runCli, type RunResult, type TestProject } from "./support/project.js";

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

test("a registry compiled to .mjs, .js or .cjs runs status and up without tsx; a TypeScript one is MISSING_DEPENDENCY naming tsx", async (t) => {
  const project = createTestProject(t);
  project.writeMigration("001_items.sql", "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT);\n-- migrate:down\nDROP TABLE items;\n");
  project.writeMigration("002_add_row.ts", TS_MIGRATION);
  assert.equal((await project.generate()).ok, true);
  const production = { NODE_OPTIONS: `--import ${pathToFileURL(writeProductionResolver(project)).href}` };
  const configure = (registryFile: string, database: string) =>
    writeFileSync(path.join(project.root, "package.json"), JSON.stringify({ name: "test-app", private: true, type: "module", stepwise: { registryFile, database } }));

  for (const [file, format] of [
    ["dist/registry.mjs", "esm"],
    ["dist/registry.js", "esm"],
    ["dist/registry.cjs", "cjs"],
  ] as const) {
    // As an app's build does: the registry and the migrations it imports, compiled together (the stub re-exports stepwise's source by URL, which esbuild does not follow).
    await build({
      entryPoints: [project.registryFile],
      outfile: path.join(project.root, file),
      bundle: true,
      format,
      platform: "node",
      alias: { "stepwise-migrate": path.join(repoRoot, "src", "index.ts") },
      external: ["better-sqlite3"],
      logLevel: "silent",
    });
    const database = `${path.basename(file).replace(/\./g, "-")}.db`;
    configure(file, database);
    const status = await runCli(["status", "--json"], { cwd: project.root, env: production });
    assert.equal(status.code, 0, `${file}: ${status.stdout}\n${status.stderr}`);
    assert.equal(json(status).pendingCount, 2, file);
    const up = await runCli(["up", "--json"], { cwd: project.root, env: production });
    assert.equal(up.code, 0, `${file}: ${up.stdout}\n${up.stderr}`);
    assert.equal(json(up).toVersion, 2, file);
  }

  // The control: the same box, the TypeScript registry. The refusal is the resolver's doing, and says what to do there.
  configure("generated/registry.ts", "ts.db");
  const refused = await runCli(["status", "--json"], { cwd: project.root, env: production });
  assert.equal(refused.code, 1, refused.stderr);
  const error = json(refused).error!;
  assert.equal(error.code, "MISSING_DEPENDENCY");
  assert.deepEqual(error.packages, ["tsx"]);
  assert.match(String(error.message), /"registryFile"/);
});

/**
 * `importTypeScript` (codegen/ts-import.ts), how the bin and `project.load` import a registry: the
 * project's modules (a workspace package's too) as fresh on each load as tsx's `tsImport` made them,
 * installed packages loaded once, and no loader hook more per load (each one stays for
 * the life of the process, and a test shard that loaded registries 165 times paid for all of them on
 * every later import). A child process of its own, so the hooks it counts are its own.
 */
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { makeTempDir, repoRoot, runNode } from "./support/project.js";

test("each load is fresh for the project's own modules, installed packages (ES module and CommonJS) are loaded once, and 20 loads register tsx's hooks once", async (t) => {
  const dir = makeTempDir(t);
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(
    path.join(dir, "a.ts"),
    `import { b } from "./b.js";\nimport { u } from "workspace-utils";\nimport { Kysely } from "kysely";\nimport pg from "pg";\nexport const mods = { b, u, Kysely, pg };\n`,
  );
  const script = path.join(dir, "run.mts");
  writeFileSync(
    script,
    `import module from "node:module";
import { writeFileSync } from "node:fs";
let registrations = 0;
for (const name of ["register", "registerHooks"] as const) {
  const original = (module as any)[name];
  if (typeof original === "function") (module as any)[name] = (...args: unknown[]) => (registrations++, original.apply(module, args));
}
module.syncBuiltinESMExports();
const { importTypeScript } = await import(${JSON.stringify(pathToFileURL(path.join(repoRoot, "codegen", "ts-import.ts")).href)});
const url = ${JSON.stringify(pathToFileURL(path.join(dir, "a.ts")).href)};
writeFileSync(${JSON.stringify(path.join(dir, "b.ts"))}, "export const b = 1;\\n");
writeFileSync(${JSON.stringify(path.join(dir, "utils", "index.js"))}, "export const u = 1;\\n");
const first: any = await importTypeScript(url, import.meta.url);
writeFileSync(${JSON.stringify(path.join(dir, "b.ts"))}, "export const b = 2;\\n");
writeFileSync(${JSON.stringify(path.join(dir, "utils", "index.js"))}, "export const u = 2;\\n");
const second: any = await importTypeScript(url, import.meta.url);
const afterTwo = registrations;
for (let load = 0; load < 18; load++) await importTypeScript(url, import.meta.url);
console.log(JSON.stringify({ b: [first.mods.b, second.mods.b], u: [first.mods.u, second.mods.u], esmShared: first.mods.Kysely === second.mods.Kysely, cjsShared: first.mods.pg === second.mods.pg, afterTwo, afterTwenty: registrations }));
`,
  );
  // The installed packages a.ts imports are this repo's; a workspace package is linked in from a folder beside it.
  mkdirSync(path.join(dir, "node_modules"));
  for (const name of ["kysely", "pg"]) symlinkSync(path.join(repoRoot, "node_modules", name), path.join(dir, "node_modules", name), "dir");
  mkdirSync(path.join(dir, "utils"));
  writeFileSync(path.join(dir, "utils", "package.json"), JSON.stringify({ name: "workspace-utils", type: "module", exports: "./index.js" }));
  symlinkSync(path.join(dir, "utils"), path.join(dir, "node_modules", "workspace-utils"), "dir");
  const run = await runNode(script, [], { cwd: repoRoot });
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { b: number[]; u: number[]; esmShared: boolean; cjsShared: boolean; afterTwo: number; afterTwenty: number };
  assert.deepEqual(result.b, [1, 2], "the second load sees the edited module");
  assert.deepEqual(result.u, [1, 2], "the second load sees the edited workspace package, linked from outside node_modules");
  assert.equal(result.esmShared, true, "an ES module package is loaded once, not once more per load");
  assert.equal(result.cjsShared, true, "a CommonJS package is shared, as require caches it");
  assert.equal(result.afterTwenty, result.afterTwo, `18 more loads registered ${result.afterTwenty - result.afterTwo} more hooks`);
});

test("a project inside a node_modules folder still gets its own modules fresh on each load", async (t) => {
  const dir = path.join(makeTempDir(t), "node_modules", "app");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(path.join(dir, "a.ts"), `export { b } from "./b.js";\n`);
  const b = path.join(dir, "b.ts");
  const script = path.join(dir, "run.mts");
  writeFileSync(
    script,
    `import { writeFileSync } from "node:fs";
const { importTypeScript } = await import(${JSON.stringify(pathToFileURL(path.join(repoRoot, "codegen", "ts-import.ts")).href)});
const url = ${JSON.stringify(pathToFileURL(path.join(dir, "a.ts")).href)};
const seen = [];
for (const value of [1, 2]) {
  writeFileSync(${JSON.stringify(b)}, \`export const b = \${value};\\n\`);
  seen.push(((await importTypeScript(url, import.meta.url)) as { b: number }).b);
}
console.log(JSON.stringify(seen));
`,
  );
  const run = await runNode(script, [], { cwd: repoRoot });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), [1, 2], "the second load sees the edited module");
});

/**
 * `importTypeScript` (codegen/ts-import.ts), how the bin and `project.load` import a registry: each
 * load as fresh as tsx's `tsImport` made it, without a loader hook more per load (each one stays for
 * the life of the process, and a test shard that loaded registries 165 times paid for all of them on
 * every later import). A child process of its own, so the hooks it counts are its own.
 */
import assert from "node:assert/strict";
import { symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { makeTempDir, repoRoot, runNode } from "./support/project.js";

test("each load is fresh (local modules, ES module packages; CommonJS packages shared), and 20 loads register tsx's hooks once", async (t) => {
  const dir = makeTempDir(t);
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(path.join(dir, "a.ts"), `import { b } from "./b.js";\nimport { Kysely } from "kysely";\nimport pg from "pg";\nexport const mods = { b, Kysely, pg };\n`);
  const script = path.join(dir, "run.mts");
  writeFileSync(
    script,
    `import module from "node:module";
import { symlinkSync, writeFileSync } from "node:fs";
let registrations = 0;
for (const name of ["register", "registerHooks"] as const) {
  const original = (module as any)[name];
  if (typeof original === "function") (module as any)[name] = (...args: unknown[]) => (registrations++, original.apply(module, args));
}
module.syncBuiltinESMExports();
const { importTypeScript } = await import(${JSON.stringify(pathToFileURL(path.join(repoRoot, "codegen", "ts-import.ts")).href)});
const url = ${JSON.stringify(pathToFileURL(path.join(dir, "a.ts")).href)};
writeFileSync(${JSON.stringify(path.join(dir, "b.ts"))}, "export const b = 1;\\n");
const first: any = await importTypeScript(url, import.meta.url);
writeFileSync(${JSON.stringify(path.join(dir, "b.ts"))}, "export const b = 2;\\n");
const second: any = await importTypeScript(url, import.meta.url);
const afterTwo = registrations;
for (let load = 0; load < 18; load++) await importTypeScript(url, import.meta.url);
console.log(JSON.stringify({ b: [first.mods.b, second.mods.b], esmShared: first.mods.Kysely === second.mods.Kysely, cjsShared: first.mods.pg === second.mods.pg, afterTwo, afterTwenty: registrations }));
`,
  );
  // The packages a.ts imports resolve from this repo's node_modules.
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), "dir");
  const run = await runNode(script, [], { cwd: repoRoot });
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { b: number[]; esmShared: boolean; cjsShared: boolean; afterTwo: number; afterTwenty: number };
  assert.deepEqual(result.b, [1, 2], "the second load sees the edited module");
  assert.equal(result.esmShared, false, "an ES module package is loaded afresh, as tsImport did");
  assert.equal(result.cjsShared, true, "a CommonJS package is shared, as require caches it");
  assert.equal(result.afterTwenty, result.afterTwo, `18 more loads registered ${result.afterTwenty - result.afterTwo} more hooks`);
});

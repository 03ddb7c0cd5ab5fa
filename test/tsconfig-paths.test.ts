/**
 * Inside this repository, `stepwise-migrate/<entry>` resolves through tsconfig.json's `paths` to the entry's
 * source (tsx, tsc), not to `dist/`, which exists only after a build: a migration or an example that
 * imports `stepwise-migrate/pg` then runs from a clone without `npm run build`. Every module subpath that
 * package.json exports must have that mapping, and it must name the source of the file it exports.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const readJson = (file: string): unknown => JSON.parse(readFileSync(path.join(root, file), "utf8"));

/** The module subpaths package.json exports, each with the built file it points to. */
function exportedModules(): Array<{ specifier: string; built: string }> {
  const { exports } = readJson("package.json") as { exports: Record<string, string | { default: string }> };
  return Object.entries(exports)
    .map(([subpath, target]) => ({ specifier: subpath === "." ? "stepwise-migrate" : `stepwise-migrate/${subpath.slice(2)}`, built: typeof target === "string" ? target : target.default }))
    .filter(({ built }) => built.startsWith("./dist/") && built.endsWith(".js") && !built.endsWith("/bin.js"));
}

test("every module entry package.json exports maps, in tsconfig.json's paths, to the source it is built from", () => {
  const { compilerOptions } = readJson("tsconfig.json") as { compilerOptions: { paths: Record<string, string[]> } };
  const modules = exportedModules();
  assert.ok(modules.length >= 10, `expected the root, nine drivers and more, found ${modules.length}`);
  const unmapped: string[] = [];
  for (const { specifier, built } of modules) {
    const source = `./${built.slice("./dist/".length, -".js".length)}.ts`;
    const mapped = compilerOptions.paths[specifier];
    if (mapped === undefined || mapped.length !== 1 || mapped[0] !== source) unmapped.push(`${specifier} → ${source} (found ${JSON.stringify(mapped)})`);
    else assert.ok(existsSync(path.join(root, source)), `${source} exists`);
  }
  assert.deepEqual(unmapped, []);
});

/**
 * Every example under `examples/` installs as a user would: this repo's package by a `file:` path
 * (a bare name would install an unrelated package from npm), each tool its scripts run as its own
 * dependency, the peers `stepwise gen` loads, and a README that says how to run it. Each example is
 * also run by a test of its own (`test/browser-example.test.ts`, `test/cloudflare-example.test.ts`).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { CODEGEN_PEERS, REGISTRY_LOADER_PEERS } from "../codegen/optional-dependencies.js";
import { repoRoot } from "./support/project.js";

interface ExamplePackage {
  readonly scripts?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}

const ownName = (JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { name: string }).name;
const examplesDir = path.join(repoRoot, "examples");
const examples = readdirSync(examplesDir).filter((name) => existsSync(path.join(examplesDir, name, "package.json")));

/** The programs a script runs: the first word of each command joined by `&&`, `||` or `;`. */
function programsOf(script: string): string[] {
  return script
    .split(/&&|\|\||;/)
    .map((command) => command.trim().split(/\s+/)[0]!)
    .filter((program) => program !== "" && program !== "npm" && program !== "npx" && program !== "node");
}

test("there are examples to check", () => {
  assert.ok(examples.length >= 2, examples.join(", "));
});

for (const example of examples) {
  test(`examples/${example} installs this repo's package and carries its own tools, with a README`, () => {
    const manifest = JSON.parse(readFileSync(path.join(examplesDir, example, "package.json"), "utf8")) as ExamplePackage;
    const installed = { ...manifest.dependencies, ...manifest.devDependencies };
    assert.equal(installed[ownName], "file:../..", `${example} must depend on "${ownName}": "file:../.."`);
    const scripts = Object.values(manifest.scripts ?? {});
    const usesGen = scripts.some((script) => /\bstepwise gen\b/.test(script));
    // The stepwise bin comes with the package; every other program a script runs is the example's own.
    const programs = new Set(scripts.flatMap(programsOf).filter((program) => program !== "stepwise"));
    const missing = [...programs, ...(usesGen ? [...CODEGEN_PEERS, ...REGISTRY_LOADER_PEERS] : [])].filter((name) => installed[name] === undefined);
    assert.deepEqual(missing, [], `${example}'s package.json lacks what its scripts run`);
    assert.ok(existsSync(path.join(examplesDir, example, "README.md")), `${example} has no README.md`);
  });
}

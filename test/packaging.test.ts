/**
 * The package as npm packs it: the tarball holds compiled ESM with declarations for every export and
 * the docs/ pages the README and the help point to, nothing else, and installing it runs no script.
 * What a fresh app does with it (create, generate, migrate, bundle, install without codegen tools) is
 * `packed-app.test.ts`, in the full run.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, repoRoot } from "./support/project.js";
import { describeRun, PACK_TIMEOUT_MS, run, runNpm, runPlainNode, stageRepo } from "./support/packed-app.js";

const repoManifest = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
  exports: Record<string, string | Record<string, string>>;
  typesVersions: Record<string, Record<string, string[]>>;
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
};
const TEST_TIMEOUT_MS = 240_000;
const tscPath = path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");

let tarball = "";
let packedFiles: string[] = [];
/** The staged copy of the repo that was packed: its package.json after `npm pack`. */
let stagedManifestAfterPack = "";

/** Folders of the shared pack step, removed after the last test (kept with STEPWISE_KEEP_TMP). */
const packFolders: (() => void)[] = [];
const suiteScope = { after: (cleanup: () => void) => packFolders.push(cleanup) };
after(() => {
  for (const cleanup of packFolders) cleanup();
});

before(async () => {
  const stage = makeTempDir(suiteScope, "stepwise-stage-");
  const packDir = makeTempDir(suiteScope, "stepwise-pack-");
  stageRepo(stage);
  const packed = await runNpm(["pack", "--json", "--pack-destination", packDir], { cwd: stage, timeoutMs: PACK_TIMEOUT_MS });
  assert.equal(packed.code, 0, describeRun(packed));
  const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as [{ filename: string; files: { path: string }[] }];
  tarball = path.join(packDir, report.filename);
  packedFiles = report.files.map((file) => file.path);
  stagedManifestAfterPack = readFileSync(path.join(stage, "package.json"), "utf8");
});

test("the tarball holds compiled ESM with declarations for every export, and no tests, fixtures, migrations or example app", () => {
  for (const file of packedFiles) {
    assert.match(file, /^(package\.json|README\.md|LICENSE(\.md)?|docs\/[\w-]+\.md|dist\/(src|codegen)\/[\w/.-]+\.(js|d\.ts))$/, `${file} should not be packed`);
    assert.doesNotMatch(file, /example-app|fixtures|(^|\/)(test|migrations|generated)\//, `${file} should not be packed`);
  }
  for (const file of packedFiles.filter((name) => name.endsWith(".js"))) {
    assert.ok(packedFiles.includes(file.replace(/\.js$/, ".d.ts")), `${file} has no declaration file`);
  }
  const targets = Object.values(repoManifest.exports).flatMap((target) => (typeof target === "string" ? [target] : Object.values(target)));
  const typesVersions = repoManifest.typesVersions["*"]!;
  for (const [key, target] of Object.entries(repoManifest.exports)) {
    if (key === "." || typeof target === "string") continue;
    assert.deepEqual(typesVersions[key.slice(2)], [target.types], `typesVersions does not map ${key} to its types, so a node10 (CommonJS) app cannot resolve them`);
  }
  for (const [key, target] of Object.entries(typesVersions)) assert.ok(targets.includes(target[0]!) && `./${key}` in repoManifest.exports, `typesVersions maps ${key}, which exports lacks`);
  for (const target of [...targets, ...Object.values(repoManifest.bin)]) {
    assert.ok(packedFiles.includes(path.posix.normalize(target)), `export target ${target} is not in the tarball`);
  }
});

test("every docs/ page the README links to and the bin's help names is in the tarball, so it resolves inside node_modules/stepwise-migrate", () => {
  const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");
  const fromReadme = [...readme.matchAll(/\]\((docs\/[\w-]+\.md)(?:#[^)]*)?\)/g)].map((match) => match[1]!);
  const helpSources = readdirSync(path.join(repoRoot, "codegen"), { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".ts"));
  const fromHelp = helpSources.flatMap((name) => [...readFileSync(path.join(repoRoot, "codegen", name), "utf8").matchAll(/\bSee (docs\/[\w-]+\.md)/g)].map((match) => match[1]!));
  assert.ok(fromReadme.length > 0 && fromHelp.length > 0, `${fromReadme.length} README links, ${fromHelp.length} help pointers`);
  for (const page of new Set([...fromReadme, ...fromHelp])) assert.ok(packedFiles.includes(page), `${page} is not in the tarball`);
});

test("the packed package.json carries no scripts, so installing the tarball runs and warns about none; the repo's package.json is left as it was", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const extracted = await run("tar", ["-xzOf", tarball, "package/package.json"], { cwd: path.dirname(tarball) });
  assert.equal(extracted.code, 0, describeRun(extracted));
  const packed = JSON.parse(extracted.stdout) as Record<string, unknown>;
  assert.equal(packed.scripts, undefined, `the packed manifest carries scripts: ${JSON.stringify(packed.scripts)}`);
  assert.equal(packed.allowScripts, undefined, "the packed manifest carries the repo's allowScripts");
  // Everything an installed package needs is still there.
  for (const field of ["name", "version", "bin", "exports", "files", "dependencies", "peerDependencies", "engines"]) assert.ok(field in packed, `${field} is missing`);
  assert.equal(stagedManifestAfterPack, readFileSync(path.join(repoRoot, "package.json"), "utf8"), "npm pack left the repo's package.json changed");

  // An app with nothing but the tarball: npm's install-scripts warning names no stepwise script.
  const app = makeTempDir(t, "stepwise-app-");
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "bare-consumer", private: true, type: "module", dependencies: { "stepwise-migrate": `file:${tarball}` } }));
  const installed = await runNpm(["install", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: app, env: { npm_config_loglevel: "warn" } });
  assert.equal(installed.code, 0, describeRun(installed));
  assert.doesNotMatch(installed.stdout + installed.stderr, /stepwise-migrate@[^\s]*\s*\((prepare|preinstall|install|postinstall)/, describeRun(installed));
  const installedManifest = JSON.parse(readFileSync(path.join(app, "node_modules", "stepwise-migrate", "package.json"), "utf8")) as Record<string, unknown>;
  assert.equal(installedManifest.scripts, undefined);

  // Every entry's types resolve for a CommonJS app ("module": "commonjs", whose resolution is node10 and
  // reads no `exports`: typesVersions serves it) and for the resolutions that read `exports`.
  const entries = Object.keys(repoManifest.exports).filter((key) => !key.endsWith(".json"));
  writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: { noEmit: true, strict: true, skipLibCheck: true, types: [] }, files: ["entries.ts"] }));
  writeFileSync(path.join(app, "entries.ts"), entries.map((key, index) => `import * as entry${index} from "stepwise-migrate${key.slice(1)}";\nexport { entry${index} };\n`).join(""));
  const resolutions = [
    ["commonjs", "node10"],
    ["nodenext", "nodenext"],
    ["esnext", "bundler"],
  ] as const;
  // The embeddable CLI in a better-sqlite3 app that checks libraries' declarations too: it names no type
  // of the optional peers (pg, @libsql/client) the app lacks. A copy of the app with @types installed,
  // so the checks above still see none, and all four run side by side.
  const typedApp = makeTempDir(t, "stepwise-typed-app-");
  for (const entry of ["package.json", "node_modules"]) cpSync(path.join(app, entry), path.join(typedApp, entry), { recursive: true });
  mkdirSync(path.join(typedApp, "node_modules", "@types"));
  for (const types of ["node", "better-sqlite3"]) symlinkSync(path.join(repoRoot, "node_modules", "@types", types), path.join(typedApp, "node_modules", "@types", types), "dir");
  writeFileSync(path.join(typedApp, "cli.ts"), 'import { createCli } from "stepwise-migrate/cli";\nexport { createCli };\n');
  const [strict, ...checks] = await Promise.all([
    runPlainNode([tscPath, "--noEmit", "--strict", "--types", "node", "--module", "nodenext", "--moduleResolution", "nodenext", "cli.ts"], { cwd: typedApp }),
    ...resolutions.map(([module, moduleResolution]) => runPlainNode([tscPath, "-p", "tsconfig.json", "--module", module, "--moduleResolution", moduleResolution], { cwd: app })),
  ]);
  checks.forEach((checked, index) => assert.equal(checked.code, 0, `${resolutions[index]!.join("/")}: ${describeRun(checked)}`));
  assert.equal(strict!.code, 0, `stepwise-migrate/cli with skipLibCheck off: ${describeRun(strict!)}`);
});

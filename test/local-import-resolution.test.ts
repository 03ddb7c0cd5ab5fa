/**
 * gen resolves a migration's import to the same file tsx loads at run time, and that file is part of
 * the checksum. Each case is run through tsx, in a child started in the project's root as `stepwise up`
 * is, to prove which file it really loads; then the scan must list that file and its edit must move
 * the checksum.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { scanMigrations } from "../codegen/scan.js";
import { createTestProject, makeTempDir, type TestProject } from "./support/project.js";

const tsxLoader = import.meta.resolve("tsx");

function write(root: string, relative: string, text: string): void {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

const migration = (specifier: string) =>
  `import { defineMigration } from "stepwise-migrate";\nimport { TABLE } from ${JSON.stringify(specifier)};\n\nexport default defineMigration({\n  up(db) {\n    db.exec(\`CREATE TABLE \${TABLE} (id INTEGER)\`);\n  },\n});\n`;
const helper = (table: string) => `export const TABLE = ${JSON.stringify(table)};\n`;

/** The SQL the migration's `up` runs when tsx loads it from the project's root, as `stepwise up` does. */
function sqlRunByTsx(project: TestProject, file: string): string {
  const script = `const m = await import(${JSON.stringify(pathToFileURL(file).href)}); const migration = m.default.up ? m.default : m.default.default; const sql = []; migration.up({ exec: (s) => sql.push(s) }); console.log(sql.join("\\n"));`;
  return execFileSync(process.execPath, ["--import", tsxLoader, "--input-type=module", "-e", script], { cwd: project.root, encoding: "utf8" }).trim();
}

const scan = (project: TestProject) => scanMigrations({ projectRoot: project.root, migrationsDir: project.migrationsDir });

/** tsx loads `helperFile` (project-relative, as the scan lists it); gen lists it, and editing it moves the checksum. */
function assertFollowed(project: TestProject, specifier: string, helperFile: string): void {
  const file = project.writeMigration("001_seed.ts", migration(specifier));
  const helperPath = path.resolve(project.root, helperFile);
  writeFileSync(helperPath, helper("loaded_v1"));
  assert.equal(sqlRunByTsx(project, file), "CREATE TABLE loaded_v1 (id INTEGER)", `tsx loads ${helperFile}`);
  const before = scan(project);
  assert.deepEqual(before.problems, []);
  assert.ok(before.migrations[0]!.localImports?.includes(helperFile), `gen follows ${specifier} to ${helperFile}: ${JSON.stringify(before.migrations[0]!.localImports)}`);
  writeFileSync(helperPath, helper("loaded_v2"));
  assert.notEqual(scan(project).migrations[0]!.checksum, before.migrations[0]!.checksum);
}

test("a bare specifier no paths entry matches resolves through baseUrl when paths is set too, as tsx does", (t) => {
  const project = createTestProject(t);
  write(project.root, "tsconfig.json", JSON.stringify({ compilerOptions: { module: "NodeNext", baseUrl: ".", paths: { "@/*": ["src/*"] }, strict: true } }));
  mkdirSync(path.join(project.root, "lib"));
  assertFollowed(project, "lib/seed", "lib/seed.ts");
});

test("a specifier a paths pattern matches does not fall back to baseUrl, as tsx does not", (t) => {
  const project = createTestProject(t);
  write(project.root, "tsconfig.json", JSON.stringify({ compilerOptions: { module: "NodeNext", baseUrl: ".", paths: { "lib/*": ["src/*"] }, strict: true } }));
  write(project.root, "lib/seed.ts", helper("never_loaded"));
  project.writeMigration("001_seed.ts", migration("lib/seed"));
  assert.throws(() => sqlRunByTsx(project, path.join(project.migrationsDir, "001_seed.ts")), "tsx does not find lib/seed");
  assert.deepEqual(
    scan(project).problems.map((problem) => problem.code),
    [],
    "a package as far as gen can tell, which tsx refuses to load",
  );
  assert.deepEqual(scan(project).migrations[0]!.localImports, []);
});

test("a project without a tsconfig.json uses the one in a folder above it, as tsx does: its paths and what it extends", (t) => {
  const monorepo = makeTempDir(t);
  write(monorepo, "tsconfig.base.json", JSON.stringify({ compilerOptions: { paths: { "@shared/*": ["./shared/*"] } } }));
  write(monorepo, "tsconfig.json", JSON.stringify({ extends: "./tsconfig.base.json", compilerOptions: { strict: true } }));
  mkdirSync(path.join(monorepo, "shared"));
  const project = createTestProject(t, { parentDir: monorepo });
  rmSync(path.join(project.root, "tsconfig.json"));
  assertFollowed(project, "@shared/seed", "../shared/seed.ts");
});

test("a tsconfig.json tsx reads past a syntax error in is refused at its line, not silently dropped", (t) => {
  const project = createTestProject(t);
  write(project.root, "tsconfig.json", '{ "compilerOptions": { "paths": { "@lib/*": ["./lib/*"] } } }\n}\n');
  write(project.root, "lib/seed.ts", helper("loaded_by_tsx"));
  const file = project.writeMigration("001_seed.ts", migration("@lib/seed"));
  project.writeMigration("002_seed.ts", migration("@lib/seed"));
  assert.equal(sqlRunByTsx(project, file), "CREATE TABLE loaded_by_tsx (id INTEGER)", "tsx still applies the paths");
  assert.deepEqual(
    scan(project).problems.map(({ code, file, line }) => ({ code, file, line })),
    [{ code: "TSCONFIG_INVALID", file: "tsconfig.json", line: 2 }],
  );
  // The same in a file it extends.
  write(project.root, "tsconfig.json", JSON.stringify({ extends: "./tsconfig.base.json" }));
  write(project.root, "tsconfig.base.json", '{\n  "compilerOptions": { "paths": { "@lib/*": ["./lib/*"] } }\n}\n}\n');
  assert.equal(sqlRunByTsx(project, file), "CREATE TABLE loaded_by_tsx (id INTEGER)", "tsx still applies the paths it extends");
  assert.deepEqual(
    scan(project).problems.map(({ code, file, line }) => ({ code, file, line })),
    [{ code: "TSCONFIG_INVALID", file: "tsconfig.base.json", line: 4 }],
  );
});

/** The SQL `up` runs when the migration is loaded as stepwise's compiled bin loads it (tsx's CommonJS and ES module hooks registered by their APIs), in a child started in the project's root. */
function sqlRunByRegisteredHooks(project: TestProject, file: string): string {
  const tsxApi = (entry: string) => JSON.stringify(import.meta.resolve(`tsx/${entry}/api`));
  const script = `const cjs = await import(${tsxApi("cjs")}); const esm = await import(${tsxApi("esm")}); cjs.register({ namespace: "n" }); const { import: load } = esm.register({ namespace: "n" });
const m = await load(${JSON.stringify(pathToFileURL(file).href)}, import.meta.url); const migration = m.default.up ? m.default : m.default.default; const sql = []; migration.up({ exec: (s) => sql.push(s) }); console.log(sql.join("\\n"));`;
  return execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: project.root, encoding: "utf8" }).trim();
}

test("a CommonJS import of a folder covers its package.json main, and its index where tsx's hooks differ; an ES module import reads no main", (t) => {
  for (const [type, main] of [
    ["commonjs", "impl.js"],
    ["commonjs", "./impl"],
    ["commonjs", "missing.js"],
    ["module", "impl.js"],
  ] as const) {
    const project = createTestProject(t, { packageJson: { type } });
    write(project.root, "lib/package.json", JSON.stringify({ main }));
    write(project.root, "lib/impl.ts", helper("from_impl"));
    write(project.root, "lib/index.ts", helper("from_index"));
    const file = project.writeMigration("001_seed.ts", migration("../lib"));
    const what = `${type}, main ${main}`;
    const loaded = [sqlRunByTsx(project, file), sqlRunByRegisteredHooks(project, file)].map((sql) => `lib/${/from_(\w+)/.exec(sql)![1]}.ts`);
    const before = scan(project);
    assert.deepEqual(before.problems, [], what);
    assert.deepEqual(before.migrations[0]!.localImports, [...new Set(loaded)].sort(), `${what}: tsx loads ${loaded.join(" or ")}`);
    for (const helperFile of loaded) {
      write(project.root, helperFile, helper("edited"));
      assert.notEqual(scan(project).migrations[0]!.checksum, before.migrations[0]!.checksum, `${what}: ${helperFile}`);
    }
  }
});

test("a workspace package, linked into node_modules from outside every node_modules, is followed as the project's own code; an installed package is not", (t) => {
  for (const [manifest, helperFile] of [
    [{ name: "@acme/helpers", main: "index.ts" }, "../packages/helpers/index.ts"],
    [{ name: "@acme/helpers", type: "module", exports: { ".": { import: "./src/seed.ts" } } }, "../packages/helpers/src/seed.ts"],
  ] as const) {
    const monorepo = makeTempDir(t);
    write(monorepo, "packages/helpers/package.json", JSON.stringify(manifest));
    mkdirSync(path.join(monorepo, "packages/helpers/src"));
    const project = createTestProject(t, { parentDir: monorepo });
    mkdirSync(path.join(project.root, "node_modules/@acme"));
    symlinkSync(path.join("..", "..", "..", "packages", "helpers"), path.join(project.root, "node_modules/@acme/helpers"));
    assertFollowed(project, "@acme/helpers", helperFile);
  }
  const project = createTestProject(t);
  write(project.root, "node_modules/installed/package.json", JSON.stringify({ name: "installed", main: "index.ts" }));
  write(project.root, "node_modules/installed/index.ts", helper("installed"));
  project.writeMigration("001_seed.ts", migration("installed"));
  assert.deepEqual(scan(project).migrations[0]!.localImports, []);
});

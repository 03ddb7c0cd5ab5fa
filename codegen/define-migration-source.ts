/**
 * Where a migration may take `defineMigration` from. Codegen reads the call without running it, so
 * it must be the function whose rules codegen checks: the root entry's (`db` generic) or a driver
 * entry's (`db` typed as that driver's connection). Anything else of that name could do anything.
 */
import type { Node, SourceFile } from "ts-morph";
import { DRIVER_ENTRIES, entrySpecifier, isDefineMigrationSource } from "../src/shared/package-name.js";

/**
 * The package entries that export `defineMigration`; `test/codegen-define-migration.test.ts` holds this
 * to package.json's `exports`. The same entries under the package's next name are accepted too.
 */
export const DEFINE_MIGRATION_SOURCES: readonly string[] = [entrySpecifier(null), ...DRIVER_ENTRIES.map(entrySpecifier)];

/** An import that binds the name `defineMigration` to something other than a stepwise entry's `defineMigration`. */
export interface ForeignDefineMigration {
  /** The node to report at: the module specifier, or the imported name when that is what is wrong. */
  readonly node: Node;
  readonly source: string;
  /** The name the module exports under, when the import renames it (`x as defineMigration`); `default` for a default import. */
  readonly importedName: string;
}

/**
 * The import that binds `defineMigration` in `sourceFile` wrongly, or `null` when it comes from a
 * stepwise entry or is not imported at all (a file that declares its own is read as before).
 */
export function findForeignDefineMigration(sourceFile: SourceFile): ForeignDefineMigration | null {
  for (const declaration of sourceFile.getImportDeclarations()) {
    const source = declaration.getModuleSpecifierValue();
    const bindings: { node: Node; importedName: string }[] = [];
    const defaultImport = declaration.getDefaultImport();
    if (defaultImport?.getText() === "defineMigration") bindings.push({ node: defaultImport, importedName: "default" });
    for (const specifier of declaration.getNamedImports()) {
      if ((specifier.getAliasNode()?.getText() ?? specifier.getName()) === "defineMigration") bindings.push({ node: specifier, importedName: specifier.getName() });
    }
    for (const binding of bindings) {
      if (!isDefineMigrationSource(source)) return { node: declaration.getModuleSpecifier(), source, importedName: binding.importedName };
      if (binding.importedName !== "defineMigration") return { node: binding.node, source, importedName: binding.importedName };
    }
  }
  return null;
}

/** The fix, for the problem's message. */
export function describeForeignDefineMigration(found: ForeignDefineMigration): string {
  const what = found.importedName === "defineMigration" ? `defineMigration is imported from "${found.source}"` : `"${found.importedName}" of "${found.source}" is imported as defineMigration`;
  return `${what}, so codegen cannot know what the call does; write import { defineMigration } from "${DEFINE_MIGRATION_SOURCES[0]}" (or from your driver's entry: ${DEFINE_MIGRATION_SOURCES.slice(1)
    .map((s) => `"${s}"`)
    .join(", ")})`;
}

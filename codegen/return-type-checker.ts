/**
 * Asks TypeScript's checker whether a migration function returns a promise, for the one case the
 * syntax cannot settle: a function that is neither `async` nor annotated and returns a value
 * (`up(db) { return query(db) }`, `up: (db) => db.exec(...)`). The scan's own project is in memory
 * with no libraries, so such a function is checked in a second project on the real files, with the
 * project's tsconfig (its `paths`, its `lib`), created the first time it is needed: a folder of
 * ordinary migrations never pays for it.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { Project, ts, type Node, type Type } from "ts-morph";

/** See the module note. */
export interface ReturnTypeChecker {
  /**
   * Whether the function at `fn`'s position in the migration `absolutePath` (whose analysed text is
   * `text`) returns a thenable. A return type the checker cannot resolve (`any`, `unknown`, an error)
   * is not a thenable.
   */
  returnsThenable(absolutePath: string, text: string, fn: Node): boolean;
}

/** A checker for the migrations of the project at `projectRoot`. */
export function createReturnTypeChecker(projectRoot: string): ReturnTypeChecker {
  let project: Project | null = null;
  const open = (): Project => {
    const tsConfigFilePath = path.join(projectRoot, "tsconfig.json");
    project ??= existsSync(tsConfigFilePath)
      ? new Project({ tsConfigFilePath, skipAddingFilesFromTsConfig: true, compilerOptions: { noEmit: true, skipLibCheck: true } })
      : new Project({
          compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, noEmit: true },
        });
    return project;
  };
  return {
    returnsThenable(absolutePath, text, fn) {
      try {
        const sourceFile = open().createSourceFile(absolutePath, text, { overwrite: true });
        const twin = sourceFile.getDescendantAtStartWithWidth(fn.getStart(), fn.getWidth());
        const signature = twin ? twin.getType().getCallSignatures()[0] : undefined;
        return signature !== undefined && isThenable(signature.getReturnType(), twin!);
      } catch {
        // A project the checker cannot load (a broken tsconfig) tells us nothing; the syntax said sync.
        return false;
      }
    },
  };
}

/** A type with a callable `then`, or a union one of whose members has one. */
function isThenable(type: Type, at: Node): boolean {
  if (type.isAny() || type.isUnknown()) return false;
  if (type.isUnion()) return type.getUnionTypes().some((member) => isThenable(member, at));
  const then = type.getProperty("then");
  return then !== undefined && then.getTypeAtLocation(at).getCallSignatures().length > 0;
}

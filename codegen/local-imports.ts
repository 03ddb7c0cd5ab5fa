/**
 * A TypeScript migration's behaviour includes the project files it imports: a helper in
 * `migrations/lib/` that an applied migration calls decides what a new database gets as much as the
 * migration does. So its checksum covers every project file reached by following imports
 * transitively (`import`, `export … from`, `import x = require()`, `require()`, `import()` with a
 * literal specifier, a function made by `createRequire`), each hashed by meaning the same way the
 * migration is. A specifier counts as local when it resolves to a file of the project, however it is
 * written: a relative path, a tsconfig `paths` alias, a package.json `#import`, or the package's own
 * name (see `import-resolution.ts`).
 *
 * Packages are left out: the lockfile versions them. Type-only imports are left out: they run
 * nothing. A specifier computed at run time cannot be followed, so it is refused.
 */
import { createHash } from "node:crypto";
import { readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ts } from "ts-morph";
import { hashCanonicalMigration } from "../src/shared/checksum.js";
import { ImportResolver, isPathSpecifier, moduleFormatOf, type ImportMode } from "./import-resolution.js";
import { decodeSourceBytes } from "../src/shared/source-text.js";
import { toPortablePath } from "./portable-path.js";
import type { Problem } from "./problems.js";
import { hashDependency } from "./gen-cache.js";
import { checksumTypeScriptForms, findRawNul } from "./ts-migration.js";

/** What following a migration's local imports found. */
export interface LocalImports {
  /** Project-relative paths of every imported file, sorted. */
  readonly files: readonly string[];
  /** Every path read or looked for while resolving, with its `hashDependency` digest (`null`: absent). */
  readonly probed: readonly { readonly file: string; readonly sha256: string | null }[];
  readonly problems: readonly Problem[];
  /** The migration's checksum combined with its imports'; the migration's own when it imports nothing local. */
  readonly checksum: string;
  /**
   * The combinations earlier releases computed (over `earlierOwnChecksums` and each import as
   * written), where they differ from `checksum`, joined by spaces; `null` when none does.
   */
  readonly legacyChecksum: string | null;
}

/** Where a migration is, and how to name files in problems. */
export interface LocalImportsInput {
  readonly absolutePath: string;
  readonly sourceFile: ts.SourceFile;
  /** The migration's checksum over its own syntax tree. */
  readonly ownChecksum: string;
  /** Its checksums as earlier releases computed them (`TsMigrationFacts.earlierChecksums`). */
  readonly earlierOwnChecksums?: readonly string[];
  /** Turns an absolute path into the project-relative one problems use. */
  readonly relative: (absolute: string) => string;
  /** The project root: packages are judged by the path inside it, and its tsconfig maps `paths`. */
  readonly projectRoot: string;
}

const SCRIPT_KINDS: Readonly<Record<string, ts.ScriptKind>> = {
  ".ts": ts.ScriptKind.TS,
  ".mts": ts.ScriptKind.TS,
  ".cts": ts.ScriptKind.TS,
  ".tsx": ts.ScriptKind.TSX,
  ".js": ts.ScriptKind.JS,
  ".mjs": ts.ScriptKind.JS,
  ".cjs": ts.ScriptKind.JS,
  ".jsx": ts.ScriptKind.JSX,
  ".json": ts.ScriptKind.JSON,
};

/** Declarations run nothing: an import that resolves only to one is type information. */
const DECLARATION_FILE = /\.d\.[cm]?ts$/;

/** Follows a migration's local imports and combines their checksums with its own. */
export function followLocalImports(input: LocalImportsInput): LocalImports {
  const problems: Problem[] = [];
  const probed = new Map<string, string | null>();
  const digests = new Map<string, string>();
  // Each import's checksum as earlier releases computed it (its stepwise specifiers as written).
  const earlierDigests = new Map<string, string>();
  // Keyed by real path, so a symlinked folder that points back up cannot make the walk endless; the
  // checksum itself uses the paths as written, which do not depend on the machine's links.
  const visited = new Set<string>([realPath(input.absolutePath)]);
  const queue: Array<{ absolutePath: string; sourceFile: ts.SourceFile }> = [{ absolutePath: input.absolutePath, sourceFile: input.sourceFile }];

  const resolver = new ImportResolver(input.projectRoot, probed);

  while (queue.length > 0) {
    const { absolutePath, sourceFile } = queue.shift()!;
    const label = input.relative(absolutePath);
    const format = moduleFormatOf(absolutePath, probed);
    for (const found of findImportSpecifiers(sourceFile)) {
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(found.node.getStart(sourceFile));
      const at = { file: label, line: line + 1, column: character + 1 };
      if (found.specifier === null) {
        problems.push({
          code: "TS_UNTRACEABLE_IMPORT",
          ...at,
          message: `${found.how} ${found.untraceable ?? "with a specifier computed at run time"}: codegen cannot tell which file it loads, so the migration's checksum could not cover it; ${found.fix ?? "import the file with a string literal"}`,
        });
        continue;
      }
      const fromDir = found.fromDir ?? path.dirname(absolutePath);
      const resolution = resolver.resolve(fromDir, found.specifier, found.mode ?? format);
      if (resolution.kind === "package") continue;
      if (resolution.kind === "not-found") {
        problems.push({
          code: "TS_IMPORT_NOT_FOUND",
          ...at,
          message: `cannot find "${found.specifier}"${describeCandidates(resolution.candidates.map(input.relative))}; fix the path${isPathSpecifier(found.specifier) ? "" : " (or the package.json imports/exports entry it goes through)"} or create the file, since the migration's checksum must cover what it imports`,
        });
        continue;
      }
      const resolved = resolution.file;
      // Packages reached through a path are still versioned by the lockfile. Judged inside the
      // project only: a project may itself live under a folder named node_modules.
      if (isInsidePackages(input.projectRoot, resolved) || DECLARATION_FILE.test(resolved)) continue;
      if (visited.has(realPath(resolved))) {
        // Another name for a file already hashed (a symlink): the checksum already covers its bytes,
        // but the gen cache must still notice when this name stops pointing there.
        if (!probed.has(resolved)) probed.set(resolved, hashDependency(resolved));
        continue;
      }
      visited.add(realPath(resolved));
      const loaded = loadImportedFile(resolved, input.relative(resolved), probed, problems);
      if (!loaded) continue;
      digests.set(resolved, loaded.digest);
      earlierDigests.set(resolved, loaded.earlierDigest);
      if (loaded.sourceFile) queue.push({ absolutePath: resolved, sourceFile: loaded.sourceFile });
    }
  }

  const migrationDir = path.dirname(input.absolutePath);
  const ordered = [...digests.keys()].map((file) => ({ key: toPortablePath(path.relative(migrationDir, file)), file })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // Without local imports the checksum stays the migration's own, so existing checksums do not move.
  const combine = (own: string, digestOf: ReadonlyMap<string, string>) =>
    ordered.length === 0 ? own : hashCanonicalMigration("ts", [own, "local-imports", ...ordered.flatMap((entry) => [entry.key, digestOf.get(entry.file)!])].join("\0"));
  const checksum = combine(input.ownChecksum, digests);
  const legacy = [...new Set((input.earlierOwnChecksums ?? []).map((own) => combine(own, earlierDigests)))].filter((form) => form !== checksum);
  return {
    files: ordered.map((entry) => input.relative(entry.file)).sort(),
    probed: [...probed.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([file, sha256]) => ({ file, sha256 })),
    problems,
    checksum,
    legacyChecksum: legacy.length === 0 ? null : legacy.join(" "),
  };
}

interface FoundImport {
  readonly node: ts.Node;
  /** `null` when the specifier cannot be read without running the code. */
  readonly specifier: string | null;
  readonly how: string;
  /** How it loads; absent: as the file's own module format decides (a static import). */
  readonly mode?: ImportMode;
  /** The folder relative specifiers start from; absent: the importing file's folder. */
  readonly fromDir?: string;
  /** For an untraceable import: why, and what to write instead. */
  readonly untraceable?: string;
  readonly fix?: string;
}

const CREATE_REQUIRE_FIX = "call require, or the function createRequire(import.meta.url) returns, directly with a string literal";

/** Every module a file loads when it runs. */
function findImportSpecifiers(sourceFile: ts.SourceFile): FoundImport[] {
  const found: FoundImport[] = [];
  const literal = (node: ts.Node | undefined): string | null => (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : null);
  const requireFunctions = findCreatedRequireFunctions(sourceFile);
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      if (!node.importClause?.isTypeOnly) found.push({ node: node.moduleSpecifier, specifier: literal(node.moduleSpecifier), how: "import" });
    } else if (ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier && !node.isTypeOnly) found.push({ node: node.moduleSpecifier, specifier: literal(node.moduleSpecifier), how: "export … from" });
    } else if (ts.isImportEqualsDeclaration(node)) {
      if (ts.isExternalModuleReference(node.moduleReference) && !node.isTypeOnly) {
        found.push({ node: node.moduleReference.expression, specifier: literal(node.moduleReference.expression), how: "import = require()", mode: "require" });
      }
    } else if (ts.isCallExpression(node)) {
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const callee = node.expression;
      const isRequire =
        (ts.isIdentifier(callee) && callee.text === "require") ||
        (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === "module" && callee.name.text === "require");
      const argument = node.arguments[0];
      if (isDynamicImport || isRequire) {
        found.push({ node: argument ?? node, specifier: literal(argument), how: isDynamicImport ? "import()" : "require()", mode: isDynamicImport ? "import" : "require" });
      } else {
        // `load("./x")` with `const load = createRequire(…)`, or `createRequire(…)("./x")`.
        const base = ts.isIdentifier(node.expression) ? requireFunctions.get(node.expression.text) : isCreateRequireCall(node.expression) ? createRequireBase(node.expression) : undefined;
        if (base !== undefined) {
          const how = "a require function made by createRequire()";
          if (base === null) found.push({ node: node.expression, specifier: null, how, untraceable: "with a base path computed at run time", fix: CREATE_REQUIRE_FIX });
          else found.push({ node: argument ?? node, specifier: literal(argument), how, mode: "require", ...(base === SAME_FOLDER ? {} : { fromDir: base }) });
        }
      }
    } else if (ts.isIdentifier(node) && (requireFunctions.has(node.text) || node.text === "require") && isUseAsValue(node)) {
      // A require function handed on (`const load = require`) loads whatever its caller names.
      found.push({ node, specifier: null, how: `"${node.text}", a require function,`, untraceable: "is used as a value rather than called", fix: CREATE_REQUIRE_FIX });
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/** Marks a createRequire base that is the importing file itself (`import.meta.url`, `__filename`). */
const SAME_FOLDER = "\0same-folder";

/** Names bound to `createRequire(base)`, with the folder they resolve from (`null`: not static). */
function findCreatedRequireFunctions(sourceFile: ts.SourceFile): Map<string, string | null> {
  const functions = new Map<string, string | null>();
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && isCreateRequireCall(node.initializer)) {
      functions.set(node.name.text, createRequireBase(node.initializer));
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return functions;
}

function isCreateRequireCall(node: ts.Node): node is ts.CallExpression {
  if (!ts.isCallExpression(node)) return false;
  const callee = node.expression;
  return (ts.isIdentifier(callee) && callee.text === "createRequire") || (ts.isPropertyAccessExpression(callee) && callee.name.text === "createRequire");
}

/** The folder a created require resolves from, when written so codegen can read it. */
function createRequireBase(call: ts.CallExpression): string | null {
  const base = call.arguments[0];
  if (!base) return null;
  const isOwnUrl = ts.isPropertyAccessExpression(base) && ts.isMetaProperty(base.expression) && base.name.text === "url";
  if (isOwnUrl || (ts.isIdentifier(base) && base.text === "__filename")) return SAME_FOLDER;
  if (ts.isStringLiteral(base) || ts.isNoSubstitutionTemplateLiteral(base)) {
    try {
      const file = base.text.startsWith("file:") ? fileURLToPath(base.text) : base.text;
      if (!path.isAbsolute(file)) return null;
      return file.endsWith("/") ? file : path.dirname(file);
    } catch {
      return null;
    }
  }
  return null;
}

/** A reference that hands the function on (an argument, an assignment), not a call or its declaration. */
function isUseAsValue(node: ts.Identifier): boolean {
  const parent = node.parent;
  // A name being declared, or a property or member named alike, is not a use.
  if ((parent as ts.Node & { name?: ts.Node }).name === node && !ts.isShorthandPropertyAssignment(parent)) return false;
  if (ts.isCallExpression(parent) && parent.expression === node) return false;
  // `load.resolve("./x")` finds a path without loading anything; `load.call(…)` loads.
  if (ts.isPropertyAccessExpression(parent) && parent.expression === node) return ["call", "apply", "bind"].includes(parent.name.text);
  if (ts.isTypeReferenceNode(parent) || ts.isTypeQueryNode(parent) || ts.isQualifiedName(parent) || ts.isTypeOfExpression(parent)) return false;
  if (ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent) || ts.isImportClause(parent)) return false;
  return true;
}

function isInsidePackages(projectRoot: string, file: string): boolean {
  return path.relative(projectRoot, file).split(path.sep).includes("node_modules");
}

function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

function describeCandidates(candidates: readonly string[]): string {
  if (candidates.length === 0) return "";
  const shown = candidates.slice(0, 3).join(", ");
  return ` (looked for ${shown}${candidates.length > 3 ? ` and ${candidates.length - 3} more` : ""})`;
}

/** Reads, checks and hashes one imported file; `null` after reporting why it cannot be. */
function loadImportedFile(
  absolutePath: string,
  label: string,
  probed: Map<string, string | null>,
  problems: Problem[],
): { digest: string; earlierDigest: string; sourceFile: ts.SourceFile | null } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolutePath);
  } catch (error) {
    problems.push({
      code: "TS_IMPORT_NOT_FOUND",
      file: label,
      line: 1,
      column: 1,
      message: `cannot read this imported file (${(error as NodeJS.ErrnoException).code ?? String(error)}); make it readable`,
    });
    return null;
  }
  probed.set(absolutePath, hashDependency(absolutePath));
  const decoded = decodeSourceBytes(bytes);
  if (!decoded.ok) {
    problems.push({ code: "FILE_NOT_UTF8", file: label, line: decoded.line, column: decoded.column, message: decoded.message });
    return null;
  }
  const kind = SCRIPT_KINDS[path.extname(absolutePath)];
  if (kind === undefined) {
    // Not code (a loader may import other files): it counts byte for byte.
    const digest = hashCanonicalMigration("ts", `bytes\0${createHash("sha256").update(bytes).digest("hex")}`);
    return { digest, earlierDigest: digest, sourceFile: null };
  }
  const text = decoded.text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const nulProblem = findRawNul(text, label);
  if (nulProblem) {
    problems.push(nulProblem);
    return null;
  }
  const sourceFile = ts.createSourceFile(absolutePath, text, ts.ScriptTarget.Latest, true, kind);
  const diagnostics = (sourceFile as unknown as { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
  if (diagnostics.length > 0) {
    for (const diagnostic of diagnostics) {
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(diagnostic.start);
      problems.push({
        code: "TS_SYNTAX_ERROR",
        file: label,
        line: line + 1,
        column: character + 1,
        message: `syntax error in a file a migration imports: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}`,
      });
    }
    return null;
  }
  const { checksum, earlierChecksums } = checksumTypeScriptForms(sourceFile, false);
  return { digest: checksum, earlierDigest: earlierChecksums[0]!, sourceFile: kind === ts.ScriptKind.JSON ? null : sourceFile };
}

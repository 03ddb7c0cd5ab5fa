/**
 * A TypeScript migration's behaviour includes the project files it imports: a helper in
 * `migrations/lib/` that an applied migration calls decides what a new database gets as much as the
 * migration does. So its checksum covers every file reached by following relative imports
 * transitively (`import`, `export … from`, `import x = require()`, `require()`, `import()` with a
 * literal specifier), each hashed by meaning the same way the migration is.
 *
 * Package imports are left out: the lockfile versions them. Type-only imports are left out: they run
 * nothing. A specifier computed at run time cannot be followed, so it is refused.
 */
import { createHash } from "node:crypto";
import { readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ts } from "ts-morph";
import { hashCanonicalMigration } from "../src/checksum.js";
import { decodeSourceBytes } from "../src/source-text.js";
import { toPortablePath } from "./portable-path.js";
import type { Problem } from "./problems.js";
import { checksumTypeScriptSource } from "./ts-migration.js";

/** What following a migration's local imports found. */
export interface LocalImports {
  /** Project-relative paths of every imported file, sorted. */
  readonly files: readonly string[];
  /** Every path read or looked for while resolving, with the SHA-256 of its bytes (`null`: absent). */
  readonly probed: readonly { readonly file: string; readonly sha256: string | null }[];
  readonly problems: readonly Problem[];
  /** The migration's checksum combined with its imports'; the migration's own when it imports nothing local. */
  readonly checksum: string;
}

/** Where a migration is, and how to name files in problems. */
export interface LocalImportsInput {
  readonly absolutePath: string;
  readonly sourceFile: ts.SourceFile;
  /** The migration's checksum over its own syntax tree. */
  readonly ownChecksum: string;
  /** Turns an absolute path into the project-relative one problems use. */
  readonly relative: (absolute: string) => string;
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

/** A `.js`-style specifier names the file it compiles to; the source is tried first, as tsx and TypeScript do. */
const SOURCE_FOR_OUTPUT: Readonly<Record<string, readonly string[]>> = {
  ".js": [".ts", ".tsx", ".js", ".d.ts"],
  ".jsx": [".tsx", ".jsx"],
  ".mjs": [".mts", ".mjs"],
  ".cjs": [".cts", ".cjs"],
};
const EXTENSIONLESS_TRIES = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".d.ts"];
/** Declarations run nothing: an import that resolves only to one is type information. */
const DECLARATION_FILE = /\.d\.[cm]?ts$/;

/** Follows a migration's local imports and combines their checksums with its own. */
export function followLocalImports(input: LocalImportsInput): LocalImports {
  const problems: Problem[] = [];
  const probed = new Map<string, string | null>();
  const digests = new Map<string, string>();
  // Keyed by real path, so a symlinked folder that points back up cannot make the walk endless; the
  // checksum itself uses the paths as written, which do not depend on the machine's links.
  const visited = new Set<string>([realPath(input.absolutePath)]);
  const queue: Array<{ absolutePath: string; sourceFile: ts.SourceFile }> = [{ absolutePath: input.absolutePath, sourceFile: input.sourceFile }];

  while (queue.length > 0) {
    const { absolutePath, sourceFile } = queue.shift()!;
    const label = input.relative(absolutePath);
    for (const found of findImportSpecifiers(sourceFile)) {
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(found.node.getStart(sourceFile));
      const at = { file: label, line: line + 1, column: character + 1 };
      if (found.specifier === null) {
        problems.push({
          code: "TS_UNTRACEABLE_IMPORT",
          ...at,
          message: `${found.how} with a specifier computed at run time: codegen cannot tell which file it loads, so the migration's checksum could not cover it; import the file with a string literal`,
        });
        continue;
      }
      if (!isLocalSpecifier(found.specifier)) continue;
      const resolved = resolveLocalImport(path.dirname(absolutePath), found.specifier, probed);
      if (resolved === null) {
        problems.push({
          code: "TS_IMPORT_NOT_FOUND",
          ...at,
          message: `cannot find "${found.specifier}"${describeCandidates(candidatesFor(path.dirname(absolutePath), found.specifier).map(input.relative))}; fix the path or create the file, since the migration's checksum must cover what it imports`,
        });
        continue;
      }
      // Packages reached through a relative path are still versioned by the lockfile.
      if (resolved.split(path.sep).includes("node_modules") || DECLARATION_FILE.test(resolved) || visited.has(realPath(resolved))) continue;
      visited.add(realPath(resolved));
      const loaded = loadImportedFile(resolved, input.relative(resolved), probed, problems);
      if (!loaded) continue;
      digests.set(resolved, loaded.digest);
      if (loaded.sourceFile) queue.push({ absolutePath: resolved, sourceFile: loaded.sourceFile });
    }
  }

  const migrationDir = path.dirname(input.absolutePath);
  const ordered = [...digests.entries()]
    .map(([file, digest]) => ({ key: toPortablePath(path.relative(migrationDir, file)), file, digest }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // Without local imports the checksum stays the migration's own, so existing checksums do not move.
  const checksum =
    ordered.length === 0
      ? input.ownChecksum
      : hashCanonicalMigration("ts", [input.ownChecksum, "local-imports", ...ordered.flatMap((entry) => [entry.key, entry.digest])].join("\0"));
  return {
    files: ordered.map((entry) => input.relative(entry.file)).sort(),
    probed: [...probed.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([file, sha256]) => ({ file, sha256 })),
    problems,
    checksum,
  };
}

interface FoundImport {
  readonly node: ts.Node;
  /** `null` when the specifier is not a literal. */
  readonly specifier: string | null;
  readonly how: string;
}

/** Every module a file loads when it runs. */
function findImportSpecifiers(sourceFile: ts.SourceFile): FoundImport[] {
  const found: FoundImport[] = [];
  const literal = (node: ts.Node | undefined): string | null =>
    node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : null;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      if (!node.importClause?.isTypeOnly) found.push({ node: node.moduleSpecifier, specifier: literal(node.moduleSpecifier), how: "import" });
    } else if (ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier && !node.isTypeOnly) found.push({ node: node.moduleSpecifier, specifier: literal(node.moduleSpecifier), how: "export … from" });
    } else if (ts.isImportEqualsDeclaration(node)) {
      if (ts.isExternalModuleReference(node.moduleReference) && !node.isTypeOnly) {
        found.push({ node: node.moduleReference.expression, specifier: literal(node.moduleReference.expression), how: "import = require()" });
      }
    } else if (ts.isCallExpression(node)) {
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === "require";
      if (isDynamicImport || isRequire) {
        const argument = node.arguments[0];
        found.push({ node: argument ?? node, specifier: literal(argument), how: isDynamicImport ? "import()" : "require()" });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

function isLocalSpecifier(specifier: string): boolean {
  return specifier === "." || specifier === ".." || specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/") || specifier.startsWith("file:");
}

/** The files a specifier could mean, in the order the project's resolution tries them. */
function candidatesFor(fromDir: string, specifier: string): string[] {
  let base: string;
  try {
    base = specifier.startsWith("file:") ? fileURLToPath(specifier) : path.resolve(fromDir, specifier);
  } catch {
    // A malformed file: URL names no file; the caller reports it as not found.
    return [];
  }
  const extension = path.extname(base);
  const outputs = SOURCE_FOR_OUTPUT[extension];
  if (outputs) return outputs.map((source) => base.slice(0, -extension.length) + source);
  if (extension in SCRIPT_KINDS) return [base];
  const stems = [base, path.join(base, "index")];
  return [...(extension ? [base] : []), ...stems.flatMap((stem) => EXTENSIONLESS_TRIES.map((tried) => stem + tried))];
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

function resolveLocalImport(fromDir: string, specifier: string, probed: Map<string, string | null>): string | null {
  for (const candidate of candidatesFor(fromDir, specifier)) {
    let isFile = false;
    try {
      isFile = statSync(candidate).isFile();
    } catch {
      // Absent: try the next one.
    }
    if (isFile) return candidate;
    probed.set(candidate, null);
  }
  return null;
}

/** Reads, checks and hashes one imported file; `null` after reporting why it cannot be. */
function loadImportedFile(
  absolutePath: string,
  label: string,
  probed: Map<string, string | null>,
  problems: Problem[],
): { digest: string; sourceFile: ts.SourceFile | null } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolutePath);
  } catch (error) {
    problems.push({ code: "TS_IMPORT_NOT_FOUND", file: label, line: 1, column: 1, message: `cannot read this imported file (${(error as NodeJS.ErrnoException).code ?? String(error)}); make it readable` });
    return null;
  }
  probed.set(absolutePath, createHash("sha256").update(bytes).digest("hex"));
  const decoded = decodeSourceBytes(bytes);
  if (!decoded.ok) {
    problems.push({ code: "FILE_NOT_UTF8", file: label, line: decoded.line, column: decoded.column, message: decoded.message });
    return null;
  }
  const kind = SCRIPT_KINDS[path.extname(absolutePath)];
  if (kind === undefined) {
    // Not code (a loader may import other files): it counts byte for byte.
    return { digest: hashCanonicalMigration("ts", `bytes\0${createHash("sha256").update(bytes).digest("hex")}`), sourceFile: null };
  }
  const text = decoded.text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const sourceFile = ts.createSourceFile(absolutePath, text, ts.ScriptTarget.Latest, true, kind);
  const diagnostics = (sourceFile as unknown as { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
  if (diagnostics.length > 0) {
    for (const diagnostic of diagnostics) {
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(diagnostic.start);
      problems.push({ code: "TS_SYNTAX_ERROR", file: label, line: line + 1, column: character + 1, message: `syntax error in a file a migration imports: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}` });
    }
    return null;
  }
  return { digest: checksumTypeScriptSource(sourceFile), sourceFile: kind === ts.ScriptKind.JSON ? null : sourceFile };
}

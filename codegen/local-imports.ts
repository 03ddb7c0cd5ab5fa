/**
 * A TypeScript migration's checksum covers the project files it imports, transitively and each hashed by meaning: a helper an applied migration calls decides what a new database gets as much as the
 * migration does. A specifier is local when it resolves, as tsx would, to a file of the project; packages are left to the lockfile, and a specifier computed at run time is refused.
 */
import { parseJson } from "../src/shared/source-text.js";
import { createHash } from "node:crypto";
import { readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ts } from "ts-morph";
import { hashCanonicalMigration } from "../src/shared/checksum.js";
import { packageSubpathOf } from "../src/shared/package-name.js";
import { hashDependency, nearestTsconfig } from "./gen-cache.js";
import { addProblems, compareText, problemAt, projectPath, readSourceText, tryOr, type Problem } from "./problems.js";
import { parseTypeScript, syntaxErrorsOf } from "./ts-migration.js";
import { checksumTypeScriptForms, findRawNul } from "./ts-checksum.js";
import { preorder, readNestedCode } from "./ts-walk.js";

/** How the importing code loads a module: ESM `import` resolution or CommonJS `require`. */
type ImportMode = "import" | "require";
type ProbeLog = Map<string, string | null>;

/**
 * Follows a migration's local imports and combines their checksums with its own (`earlierOwnChecksums`: as earlier releases computed them, which give `legacyChecksum`, space-separated). `files`: the
 * imported files, project-relative; `probed`: every path read or looked for, with its {@link hashDependency} (`null`: absent), so the gen cache notices a new file that changes a resolution.
 */
export function followLocalImports(input: { absolutePath: string; sourceFile: ts.SourceFile; ownChecksum: string; earlierOwnChecksums?: readonly string[]; projectRoot: string }) {
  const label = (absolute: string) => projectPath(input.projectRoot, absolute);
  const problems: Problem[] = [];
  const probed: ProbeLog = new Map();
  const digests = new Map<string, { now: string; earlier: string }>();
  // By real path, so a symlinked folder pointing back up cannot loop; the checksum uses paths as written.
  const visited = new Set<string>([realPath(input.absolutePath)]);
  // `through`: the files the migration imports on the way to this one, so a problem deep in the app names the migration and the chain that reaches it.
  const queue: { absolutePath: string; sourceFile: ts.SourceFile; through: readonly string[] }[] = [{ absolutePath: input.absolutePath, sourceFile: input.sourceFile, through: [] }];
  const resolver = createResolver(input.projectRoot, probed, problems);
  for (const { absolutePath, sourceFile, through } of queue) {
    const reached = problems.length;
    // Node reads a file's module format from the package.json above where it really is.
    const format = resolver.moduleFormatOf(realPath(absolutePath));
    for (const found of findImportSpecifiers(sourceFile)) {
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(found.node.getStart(sourceFile));
      const at = { file: label(absolutePath), line: line + 1, column: character + 1 };
      if (found.specifier === null) {
        const message = `${found.how} ${found.untraceable ?? "with a specifier computed at run time"}: codegen cannot tell which file it loads, so the migration's checksum could not cover it; ${found.fix ?? "import the file with a string literal"}`;
        problems.push({ code: "TS_UNTRACEABLE_IMPORT", ...at, message });
        continue;
      }
      const resolution = resolveFromRealFolder(resolver, absolutePath, found.specifier, found, format);
      if (resolution === "package") continue;
      if (Array.isArray(resolution)) {
        const shown = resolution.slice(0, 3).map(label).join(", ");
        const candidates = resolution.length === 0 ? "" : ` (looked for ${shown}${resolution.length > 3 ? ` and ${resolution.length - 3} more` : ""})`;
        const through = isPathSpecifier(found.specifier) ? "" : " (or the package.json imports/exports entry it goes through)";
        const message = `cannot find "${found.specifier}"${candidates}; fix the path${through} or create the file, since the migration's checksum must cover what it imports`;
        problems.push({ code: "TS_IMPORT_NOT_FOUND", ...at, message });
        continue;
      }
      for (const file of [resolution, ...resolver.alsoLoaded(resolution)]) {
        // Packages reached through a path are still versioned by the lockfile (judged inside the project, which may itself live under a node_modules); declarations run nothing.
        if (path.relative(input.projectRoot, file).split(path.sep).includes("node_modules") || /\.d\.[cm]?ts$/.test(file)) continue;
        if (visited.has(realPath(file))) {
          // Another name for a file already hashed: the cache must still notice when it points elsewhere.
          if (!probed.has(file)) probed.set(file, hashDependency(file));
          continue;
        }
        visited.add(realPath(file));
        const loaded = loadImportedFile(file, label(file), probed, problems);
        if (!loaded) continue;
        digests.set(file, loaded);
        if (loaded.sourceFile) queue.push({ absolutePath: file, sourceFile: loaded.sourceFile, through: [...through, label(file)] });
      }
    }
    const migration = label(input.absolutePath);
    for (const [index, problem] of problems.entries()) {
      // A file that fails to load is reported as its importer reaches it.
      const chain = problem.file === label(absolutePath) ? through : [...through, problem.file];
      // A tsconfig the resolver could not read is the project's, reached by no import: reported once, as it was.
      if (index >= reached && chain.length > 0 && problem.code !== "TSCONFIG_INVALID")
        problems[index] = { ...problem, importedBy: { migration, through: chain, others: 0 }, message: `${problem.message} (${describeImportedBy(migration, chain, 0)})` };
    }
  }
  const migrationDir = path.dirname(input.absolutePath);
  const ordered = [...digests.keys()].map((file) => ({ key: projectPath(migrationDir, file), file })).sort((a, b) => compareText(a.key, b.key));
  // Without local imports the checksum stays the migration's own, so existing checksums do not move.
  const combine = (own: string, form: "now" | "earlier") =>
    ordered.length === 0 ? own : hashCanonicalMigration("ts", [own, "local-imports", ...ordered.flatMap((entry) => [entry.key, digests.get(entry.file)![form]])].join("\0"));
  const checksum = combine(input.ownChecksum, "now");
  const legacy = [...new Set((input.earlierOwnChecksums ?? []).map((own) => combine(own, "earlier")))].filter((form) => form !== checksum);
  return {
    files: ordered.map((entry) => label(entry.file)).sort(),
    probed: [...probed].sort(([a], [b]) => compareText(a, b)).map(([file, sha256]) => ({ file, sha256 })),
    problems,
    checksum,
    legacyChecksum: legacy.length === 0 ? null : legacy.join(" "),
  };
}

/** `reached from <migration> through <a> → <b>`, and how many other migrations reach the file too. */
export function describeImportedBy(migration: string, through: readonly string[], others: number): string {
  return `reached from ${migration} through ${through.join(" → ")}${others === 0 ? "" : `, and from ${others} other migration${others === 1 ? "" : "s"}`}`;
}

/**
 * What `gen` would refuse in `absolutePath` as a migration imports it, and in the local files it imports in turn: a file missing or unreadable, a syntax error, an import it cannot trace. `import`
 * checks the JavaScript migrations it wraps with it before writing anything, since `gen` follows each wrapper into its original.
 */
export function importedFileProblems(absolutePath: string, projectRoot: string): Problem[] {
  const problems: Problem[] = [];
  const loaded = loadImportedFile(absolutePath, projectPath(projectRoot, absolutePath), new Map(), problems);
  if (loaded?.sourceFile) problems.push(...followLocalImports({ absolutePath, sourceFile: loaded.sourceFile, ownChecksum: "", projectRoot }).problems);
  return problems;
}

/**
 * Where `found` leads from `file`, as Node, tsx and tsc resolve it: from the folder the file really is in, which differs from the folder it was reached through when a folder on the way is a symbolic
 * link (a migrations folder linked from a shared package, say). The path as written is kept where it names the same file, so such a project's checksums do not move.
 */
function resolveFromRealFolder(resolver: ReturnType<typeof createResolver>, file: string, specifier: string, found: FoundImport, format: ImportMode) {
  const mode = found.mode ?? format;
  const written = resolver.resolve(found.fromDir ?? path.dirname(file), specifier, mode);
  const realDir = path.dirname(realPath(file));
  if (found.fromDir !== undefined || realDir === path.dirname(file)) return written;
  const real = resolver.resolve(realDir, specifier, mode);
  return typeof written === "string" && typeof real === "string" && written !== "package" && real !== "package" && realPath(written) === realPath(real) ? written : real;
}

const { TS, TSX, JS, JSX, JSON: JSON_KIND } = ts.ScriptKind;
const SCRIPT_KINDS: Readonly<Record<string, ts.ScriptKind>> = { ".ts": TS, ".mts": TS, ".cts": TS, ".tsx": TSX, ".js": JS, ".mjs": JS, ".cjs": JS, ".jsx": JSX, ".json": JSON_KIND };

/** Reads, checks and hashes one imported file; `null` after reporting why it cannot be. */
function loadImportedFile(absolutePath: string, label: string, probed: ProbeLog, problems: Problem[]): { now: string; earlier: string; sourceFile: ts.SourceFile | null } | null {
  // Found, then unreadable (its mode, a folder where the file was): only a file gone since it was found is one not found.
  const read = readSourceText(absolutePath, label, problems, (error) => {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const fix = code === "ENOENT" ? "it was removed while gen read it; run gen again" : "make it readable by the user running stepwise (for example chmod 644)";
    return problemAt(code === "ENOENT" ? "TS_IMPORT_NOT_FOUND" : "MIGRATION_UNREADABLE", label, `cannot read this file a migration imports (${code}); ${fix}`);
  });
  if (read === null) return null;
  probed.set(absolutePath, hashDependency(absolutePath));
  const kind = SCRIPT_KINDS[path.extname(absolutePath)];
  if (kind === undefined) {
    // Not code (a loader may import other files): it counts byte for byte.
    const digest = hashCanonicalMigration("ts", `bytes\0${createHash("sha256").update(read.bytes).digest("hex")}`);
    return { now: digest, earlier: digest, sourceFile: null };
  }
  const sourceFile = readNestedCode(label, problems, () => parseTypeScript(absolutePath, read.text, kind));
  if (sourceFile === null) return null;
  const nul = findRawNul(sourceFile.text, label);
  if (nul) return addProblems(problems, nul);
  const syntaxErrors = syntaxErrorsOf(sourceFile, label, "syntax error in a file a migration imports");
  if (syntaxErrors.length > 0) return addProblems(problems, ...syntaxErrors);
  const { checksum, earlierChecksums } = checksumTypeScriptForms(sourceFile, false);
  return { now: checksum, earlier: earlierChecksums[0]!, sourceFile: kind === JSON_KIND ? null : sourceFile };
}

/** A module a file loads: `specifier` is `null` when it cannot be read without running the code. */
export interface FoundImport {
  readonly node: ts.Node;
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
/** Marks a createRequire base that is the importing file itself (`import.meta.url`, `__filename`). */
const SAME_FOLDER = "\0same-folder";

/** Every module a file loads when it runs; with `typesToo`, also those it names for types only (`import type`, `export type … from`, `import("./x")` in a type), which a rename must follow too. */
export function findImportSpecifiers(sourceFile: ts.SourceFile, { typesToo = false } = {}): FoundImport[] {
  const found: FoundImport[] = [];
  const literal = (node: ts.Node | undefined): string | null => (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : null);
  // The names createRequire goes by (`import { createRequire as make }`, `const { createRequire: make } = …`), then the names bound to `createRequire(base)`, with the folder
  // they resolve from (`null`: not static).
  const creators = new Set(["createRequire"]);
  const requireFunctions = new Map<string, string | null>();
  const isCreateRequireCall = (node: ts.Node): node is ts.CallExpression => {
    const callee = ts.isCallExpression(node) ? node.expression : null;
    return callee !== null && ((ts.isIdentifier(callee) && creators.has(callee.text)) || (ts.isPropertyAccessExpression(callee) && callee.name.text === "createRequire"));
  };
  for (const node of preorder(sourceFile)) {
    if (!ts.isImportSpecifier(node) && !ts.isBindingElement(node)) continue;
    if (node.propertyName && ts.isIdentifier(node.propertyName) && node.propertyName.text === "createRequire" && ts.isIdentifier(node.name)) creators.add(node.name.text);
  }
  for (const node of preorder(sourceFile)) {
    const initializer = ts.isVariableDeclaration(node) && node.initializer ? withoutWrappers(node.initializer) : undefined;
    if (initializer && ts.isIdentifier((node as ts.VariableDeclaration).name) && isCreateRequireCall(initializer))
      requireFunctions.set(((node as ts.VariableDeclaration).name as ts.Identifier).text, createRequireBase(initializer));
  }
  for (const node of preorder(sourceFile)) {
    if (ts.isImportDeclaration(node)) {
      if (typesToo || !node.importClause?.isTypeOnly) found.push({ node: node.moduleSpecifier, specifier: literal(node.moduleSpecifier), how: "import" });
    } else if (ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier && (typesToo || !node.isTypeOnly)) found.push({ node: node.moduleSpecifier, specifier: literal(node.moduleSpecifier), how: "export … from" });
    } else if (typesToo && ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      found.push({ node: node.argument.literal, specifier: literal(node.argument.literal), how: "import() type" });
    } else if (ts.isImportEqualsDeclaration(node)) {
      if (ts.isExternalModuleReference(node.moduleReference) && (typesToo || !node.isTypeOnly)) {
        found.push({ node: node.moduleReference.expression, specifier: literal(node.moduleReference.expression), how: "import = require()", mode: "require" });
      }
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const argument = node.arguments[0];
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire =
        (ts.isIdentifier(callee) && callee.text === "require") ||
        (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === "module" && callee.name.text === "require");
      // `load("./x")` with `const load = createRequire(…)`, or `createRequire(…)("./x")`.
      const base = ts.isIdentifier(callee) ? requireFunctions.get(callee.text) : isCreateRequireCall(callee) ? createRequireBase(callee) : undefined;
      let outer: ts.Node = node;
      while (isWrapper(outer.parent)) outer = outer.parent;
      const bound =
        (ts.isVariableDeclaration(outer.parent) && outer.parent.initializer === outer && ts.isIdentifier(outer.parent.name)) ||
        (ts.isCallExpression(outer.parent) && outer.parent.expression === outer);
      if (isCreateRequireCall(node) && !bound) {
        // Returned from a function, stored or passed on: what it loads is named where it is called, which codegen does not follow.
        found.push({ node, specifier: null, how: "a require function made by createRequire()", untraceable: "is used as a value rather than called", fix: CREATE_REQUIRE_FIX });
      }
      if (isDynamicImport || isRequire) {
        found.push({ node: argument ?? node, specifier: literal(argument), how: isDynamicImport ? "import()" : "require()", mode: isDynamicImport ? "import" : "require" });
      } else if (base === null) {
        found.push({ node: callee, specifier: null, how: "a require function made by createRequire()", untraceable: "with a base path computed at run time", fix: CREATE_REQUIRE_FIX });
      } else if (base !== undefined) {
        found.push({ node: argument ?? node, specifier: literal(argument), how: "a require function made by createRequire()", mode: "require", ...(base === SAME_FOLDER ? {} : { fromDir: base }) });
      }
    } else if (ts.isPropertyAccessExpression(node) && node.name.text === "createRequire" && !(ts.isCallExpression(node.parent) && node.parent.expression === node)) {
      // `const make = nodeModule.createRequire`: the namespace's createRequire handed on.
      found.push({ node, specifier: null, how: `"${node.getText()}", createRequire,`, untraceable: "is used as a value rather than called", fix: CREATE_REQUIRE_FIX });
    } else if (ts.isIdentifier(node) && (requireFunctions.has(node.text) || creators.has(node.text) || node.text === "require") && isUseAsValue(node)) {
      // A require function, or createRequire itself, handed on (`const load = require`, `const make = createRequire`) loads whatever its caller names.
      const what = creators.has(node.text) ? "createRequire" : "a require function";
      found.push({ node, specifier: null, how: `"${node.text}", ${what},`, untraceable: "is used as a value rather than called", fix: CREATE_REQUIRE_FIX });
    }
  }
  return found;
}

/** Parentheses, `as`, `!` and `satisfies`: they change nothing the expression inside does. */
const isWrapper = (node: ts.Node): node is ts.ParenthesizedExpression | ts.AsExpression | ts.NonNullExpression | ts.SatisfiesExpression =>
  ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isNonNullExpression(node) || ts.isSatisfiesExpression(node);

/** `node` without the wrappers around it. */
function withoutWrappers(node: ts.Expression): ts.Expression {
  while (isWrapper(node)) node = node.expression;
  return node;
}

/** The folder a created require resolves from, when written so codegen can read it. */
function createRequireBase(call: ts.CallExpression): string | null {
  const base = call.arguments[0];
  if (!base) return null;
  if ((ts.isPropertyAccessExpression(base) && ts.isMetaProperty(base.expression) && base.name.text === "url") || (ts.isIdentifier(base) && base.text === "__filename")) return SAME_FOLDER;
  if (!ts.isStringLiteral(base) && !ts.isNoSubstitutionTemplateLiteral(base)) return null;
  const file = tryOr(() => (base.text.startsWith("file:") ? fileURLToPath(base.text) : base.text), "");
  return !path.isAbsolute(file) ? null : file.endsWith("/") ? file : path.dirname(file);
}

/** A reference that hands the function on (an argument, an assignment), not a call, a declaration or a type. */
function isUseAsValue(node: ts.Identifier): boolean {
  const parent = node.parent;
  if ((parent as ts.Node & { name?: ts.Node }).name === node && !ts.isShorthandPropertyAssignment(parent)) return false;
  if ((ts.isBindingElement(parent) || ts.isImportSpecifier(parent)) && parent.propertyName === node) return false;
  if (ts.isCallExpression(parent) && parent.expression === node) return false;
  // `load.resolve("./x")` finds a path without loading anything; `load.call(…)` loads.
  if (ts.isPropertyAccessExpression(parent) && parent.expression === node) return ["call", "apply", "bind"].includes(parent.name.text);
  if (ts.isTypeReferenceNode(parent) || ts.isTypeQueryNode(parent) || ts.isQualifiedName(parent) || ts.isTypeOfExpression(parent)) return false;
  return !(ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent) || ts.isImportClause(parent));
}

/** The compiler options of the tsconfig.json tsx uses for the project ({@link nearestTsconfig}); `null` when there is none or it does not parse. */
export function readTsconfig(projectRoot: string): ts.CompilerOptions | null {
  return loadTsconfig(projectRoot).options;
}

/**
 * The tsconfig.json tsx uses, with a `TSCONFIG_INVALID` problem when it, or a file it extends, has a syntax error: tsx reads past one (a stray `}`) and still applies its `paths`, and guessing what
 * it recovered would make the checksum follow other files than the run loads.
 */
function loadTsconfig(projectRoot: string): { options: ts.CompilerOptions | null; problem: Problem | null } {
  const file = nearestTsconfig(projectRoot);
  const read = file === null ? null : ts.readConfigFile(file, (name) => readFileSync(name, "utf8"));
  if (!read) return { options: null, problem: null };
  const parsed = ts.parseJsonConfigFileContent(read.config ?? {}, ts.sys, path.dirname(file!), undefined, file!);
  // JSON syntax errors are TypeScript's codes below 2000; the rest (an unknown option, no input files) tsx ignores too.
  const error = read.error ?? parsed.errors.find((diagnostic) => diagnostic.code < 2000 && diagnostic.file);
  if (!error) return { options: parsed.options, problem: null };
  const where = error.file && error.start !== undefined ? error.file.getLineAndCharacterOfPosition(error.start) : { line: 0, character: 0 };
  const at = error.file?.fileName ?? file!;
  const reason = ts.flattenDiagnosticMessageText(error.messageText, " ");
  const message = `this tsconfig.json cannot be parsed (${reason}); tsx reads past such an error and still applies its paths and baseUrl, so gen cannot tell which files the migrations' imports load: fix the file`;
  return { options: null, problem: { code: "TSCONFIG_INVALID", file: projectPath(projectRoot, at), line: where.line + 1, column: where.character + 1, message } };
}

function realPath(file: string): string {
  return tryOr(() => realpathSync(file), file);
}

// Resolution, in the orders tsx 4 tries (test/hostile-checksum-extra.test.ts), which differ from TypeScript's own resolver: an extensionless `./seed` never reaches `seed.mts`, and `seed.json` beats
// `seed/index.ts`.

/** A `.js`-style specifier names the file it compiles to; tsx tries the sources first (`.d.ts` last: an elided type import may name one). */
const SOURCE_FOR_OUTPUT: Readonly<Record<string, readonly string[]>> = {
  ".js": [".ts", ".tsx", ".js", ".jsx", ".d.ts"],
  ".jsx": [".tsx", ".ts", ".jsx", ".js"],
  ".mjs": [".mts", ".mjs"],
  ".cjs": [".cts", ".cjs"],
};
const EXTENSIONLESS_TRIES = [".ts", ".tsx", ".jsx", ".js", ".json"];
/** A folder's index: ESM through tsx tries TypeScript first, CommonJS keeps Node's `.js`, `.json` first. */
const INDEX_TRIES: Readonly<Record<ImportMode, readonly string[]>> = {
  import: ["index.ts", "index.tsx", "index.jsx", "index.js", "index.json"],
  require: ["index.js", "index.json", "index.ts", "index.tsx", "index.jsx"],
};
/** Node's conditions for each mode; an object's keys are tried in their written order. */
const CONDITIONS: Readonly<Record<ImportMode, ReadonlySet<string>>> = {
  import: new Set(["node", "import", "module-sync", "default"]),
  require: new Set(["node", "require", "module-sync", "default"]),
};

/** The files a path could mean, in the order tsx tries them; declarations last, since tsx never loads one. */
function candidatesFor(base: string, mode: ImportMode): string[] {
  const extension = path.extname(base);
  const outputs = SOURCE_FOR_OUTPUT[extension];
  if (outputs) return outputs.map((source) => base.slice(0, -extension.length) + source);
  if (SCRIPT_KINDS[extension] !== undefined) return [base];
  return [
    ...(extension ? [base] : []),
    ...EXTENSIONLESS_TRIES.map((tried) => base + tried),
    ...INDEX_TRIES[mode].map((index) => path.join(base, index)),
    `${base}.d.ts`,
    path.join(base, "index.d.ts"),
  ];
}

function isPathSpecifier(specifier: string): boolean {
  return specifier === "." || specifier === ".." || /^(\.\.?\/|\/|file:)/.test(specifier);
}

interface PackageJson {
  readonly name?: unknown;
  readonly main?: unknown;
  readonly type?: unknown;
  readonly imports?: unknown;
  readonly exports?: unknown;
}

/** Resolves a specifier from a folder to the file it loads, `"package"` (the lockfile's), or the candidates tried; each file looked at goes in `probed`, a tsconfig.json it cannot parse in `problems`. */
function createResolver(projectRoot: string, probed: ProbeLog, problems: Problem[]) {
  const firstFile = (candidates: readonly string[]): string | string[] => {
    for (const candidate of candidates) {
      if (tryOr(() => statSync(candidate).isFile(), false)) return candidate;
      probed.set(candidate, null);
    }
    return [...candidates];
  };
  // A folder's package.json `main` named by its output (`impl.js` for `impl.ts`): tsx's CommonJS hook loads the source, its ES module hook (which also resolves `require` under
  // `node --import tsx`) falls back to the index, so both count.
  const indexBesideMain = new Map<string, string>();
  // CommonJS loads a folder through its package.json `main` before its index; tsx's ES module resolver never reads it.
  const candidatesOf = (base: string, mode: ImportMode): string[] => {
    const candidates = candidatesFor(base, mode);
    const index = candidates.indexOf(path.join(base, INDEX_TRIES.require[0]!));
    const main = mode === "require" && index !== -1 ? readPackageJson(path.join(base, "package.json"), probed)?.main : undefined;
    if (typeof main !== "string" || main === "") return candidates;
    const named = path.resolve(base, main);
    const ofMain = firstFile(candidatesFor(named, mode).filter((file) => !file.endsWith(".d.ts")));
    if (typeof ofMain !== "string") return candidates;
    const fallback = firstFile(candidates.slice(index));
    if (SOURCE_FOR_OUTPUT[path.extname(named)] && ofMain !== named && typeof fallback === "string") indexBesideMain.set(ofMain, fallback);
    return [...candidates.slice(0, index), ofMain];
  };
  /** The other file a resolution may load, depending on which of tsx's hooks resolves it. */
  const alsoLoaded = (file: string): string[] => {
    const index = indexBesideMain.get(file);
    return index === undefined ? [] : [index];
  };
  const manifests = new Map<string, PackageJson | null>();
  const nearestPackageJson = (fromDir: string): { dir: string; manifest: PackageJson } | null => {
    for (let dir = fromDir; ; dir = path.dirname(dir)) {
      if (!manifests.has(dir)) manifests.set(dir, readPackageJson(path.join(dir, "package.json"), probed));
      const manifest = manifests.get(dir);
      if (manifest) return { dir, manifest };
      if (path.dirname(dir) === dir) return null;
    }
  };
  let mapping: { paths: ts.MapLike<string[]> | undefined; baseUrl: string | undefined; basePath: string } | null | undefined;
  const readPathMapping = () => {
    if (mapping !== undefined) return mapping;
    const { options, problem } = loadTsconfig(projectRoot);
    if (problem) problems.push(problem);
    mapping = options?.paths || options?.baseUrl ? { paths: options.paths, baseUrl: options.baseUrl, basePath: options.baseUrl ?? (options.pathsBasePath as string | undefined) ?? projectRoot } : null;
    return mapping;
  };
  const resolve = (fromDir: string, specifier: string, mode: ImportMode): string | "package" | string[] => {
    if (isPathSpecifier(specifier)) {
      // A malformed file: URL names no file.
      const base = tryOr(() => (specifier.startsWith("file:") ? fileURLToPath(specifier) : path.resolve(fromDir, specifier)), null);
      return base === null ? [] : firstFile(candidatesOf(base, mode));
    }
    if (packageSubpathOf(specifier) !== null) return "package";
    if (specifier.startsWith("#")) {
      const scope = nearestPackageJson(fromDir);
      // `#x` is looked up in the `imports` of the nearest package.json, as Node does.
      const target = scope ? matchMap(scope.manifest.imports, specifier, mode) : undefined;
      if (!scope || typeof target !== "string") return [];
      if (!target.startsWith("./")) return target.startsWith("/") || target.startsWith("../") ? [] : "package";
      return firstFile(candidatesOf(path.resolve(scope.dir, target), mode));
    }
    // tsconfig `paths` (longest matching prefix, each substitution in order), or bare `baseUrl` when no pattern matches; tsx falls back to node_modules.
    const pathMapping = readPathMapping();
    if (pathMapping) {
      const substitutions = (pathMapping.paths && matchPaths(pathMapping.paths, specifier)) ?? (pathMapping.baseUrl ? [specifier] : []);
      for (const substitution of substitutions) {
        const resolved = firstFile(candidatesOf(path.resolve(pathMapping.basePath, substitution), mode));
        if (typeof resolved === "string") return resolved;
      }
    }
    // The package's own name resolves through its `exports`, and only when it has them.
    const scope = nearestPackageJson(fromDir);
    const name = scope?.manifest.name;
    if (!scope || typeof name !== "string" || scope.manifest.exports === undefined || (specifier !== name && !specifier.startsWith(`${name}/`))) return linkedPackage(fromDir, specifier, mode);
    return throughExports(scope.dir, scope.manifest.exports, `.${specifier.slice(name.length)}`, mode);
  };
  const throughExports = (dir: string, exports: unknown, subpath: string, mode: ImportMode) => {
    const map = typeof exports === "object" && exports !== null && !Array.isArray(exports) && Object.keys(exports).some((key) => key.startsWith(".")) ? exports : { ".": exports };
    const target = matchMap(map, subpath, mode);
    return typeof target === "string" && target.startsWith("./") ? firstFile(candidatesOf(path.resolve(dir, target), mode)) : [];
  };
  const linkedPackage = (fromDir: string, specifier: string, mode: ImportMode): string | "package" | string[] => {
    const linked = workspacePackageOf(fromDir, specifier);
    const manifest = linked && readPackageJson(path.join(linked.folder, "package.json"), probed);
    if (!linked) return "package";
    if (manifest?.exports !== undefined) return throughExports(linked.real, manifest.exports, linked.subpath, mode);
    const main =
      linked.subpath === "." && typeof manifest?.main === "string" ? firstFile(candidatesFor(path.resolve(linked.real, manifest.main), mode).filter((file) => !file.endsWith(".d.ts"))) : null;
    return typeof main === "string" ? main : firstFile(candidatesOf(path.resolve(linked.real, linked.subpath), mode));
  };
  /** Whether a file loads as an ES module: by its extension, else the nearest package.json's `type`. */
  const moduleFormatOf = (file: string): ImportMode => {
    if (/\.m[tj]sx?$/.test(file)) return "import";
    if (/\.c[tj]sx?$/.test(file)) return "require";
    return nearestPackageJson(path.dirname(file))?.manifest.type === "module" ? "import" : "require";
  };
  return { resolve, moduleFormatOf, alsoLoaded };
}

/**
 * The package a bare specifier names, when its folder in node_modules links out of every node_modules (an npm, pnpm or yarn workspace): the project's own code, which no lockfile versions, so it is
 * followed as tsx loads it. `folder`: as linked; `real`: where it is; `null`: an installed package, or none.
 */
function workspacePackageOf(fromDir: string, specifier: string): { folder: string; real: string; subpath: string } | null {
  const name = specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const folder = path.join(dir, "node_modules", name);
    if (tryOr(() => statSync(folder).isDirectory(), false)) {
      const real = realPath(folder);
      return real.split(path.sep).includes("node_modules") ? null : { folder, real, subpath: `.${specifier.slice(name.length)}` };
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/** Reads a package.json, recording its bytes (or its absence) as an input of the result. */
function readPackageJson(file: string, probed: ProbeLog): PackageJson | null {
  const sha256 = hashDependency(file);
  probed.set(file, sha256);
  const parsed = sha256 === null ? null : tryOr(() => parseJson(readFileSync(file, "utf8")), null);
  return typeof parsed === "object" && parsed !== null ? (parsed as PackageJson) : null;
}

/** Looks `key` up in an `imports` or `exports` map: an exact key, else the pattern with the longest prefix. */
function matchMap(map: unknown, key: string, mode: ImportMode): string | null | undefined {
  if (typeof map !== "object" || map === null || Array.isArray(map)) return undefined;
  const entries = map as Record<string, unknown>;
  if (Object.hasOwn(entries, key) && !key.includes("*")) return resolveTarget(entries[key], null, mode);
  let best: { pattern: string; star: string } | null = null;
  for (const pattern of Object.keys(entries)) {
    const star = pattern.split("*").length === 2 ? matchStar(pattern, key, 1) : null;
    if (star !== null && (!best || pattern.indexOf("*") > best.pattern.indexOf("*"))) best = { pattern, star };
  }
  return best ? resolveTarget(entries[best.pattern], best.star, mode) : undefined;
}

function resolveTarget(target: unknown, star: string | null, mode: ImportMode): string | null | undefined {
  if (typeof target === "string") return star === null ? target : target.replaceAll("*", star);
  if (target === null) return null;
  if (Array.isArray(target)) return target.map((option) => resolveTarget(option, star, mode)).find((resolved) => typeof resolved === "string");
  if (typeof target !== "object") return undefined;
  for (const [condition, value] of Object.entries(target as Record<string, unknown>)) {
    const resolved = CONDITIONS[mode].has(condition) ? resolveTarget(value, star, mode) : undefined;
    if (resolved !== undefined) return resolved;
  }
  return undefined;
}

/** tsconfig `paths`: the pattern with the longest prefix wins; its substitutions are tried in order. `null`: no pattern matches. */
function matchPaths(paths: ts.MapLike<string[]>, specifier: string): string[] | null {
  let best: { prefixLength: number; substitutions: string[] } | null = null;
  for (const [pattern, substitutions] of Object.entries(paths)) {
    const star = pattern.indexOf("*");
    const captured = star === -1 ? (pattern === specifier ? "" : null) : matchStar(pattern, specifier, 0);
    const prefixLength = star === -1 ? Number.MAX_SAFE_INTEGER : star;
    if (captured !== null && (!best || prefixLength > best.prefixLength)) best = { prefixLength, substitutions: substitutions.map((s) => s.replace("*", captured!)) };
  }
  return best ? [...best.substitutions] : null;
}

/** What the first `*` of `pattern` stands for in `key` (at least `least` characters), or `null` when `key` does not match. */
function matchStar(pattern: string, key: string, least: number): string | null {
  const star = pattern.indexOf("*");
  const [prefix, suffix] = [pattern.slice(0, star), pattern.slice(star + 1)];
  return key.startsWith(prefix) && key.endsWith(suffix) && key.length >= prefix.length + suffix.length + least ? key.slice(prefix.length, key.length - suffix.length) : null;
}

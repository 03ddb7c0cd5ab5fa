/**
 * Reads a TypeScript migration without running it: its `defineMigration({...})` options, whether it
 * has a `down`, whether it is async, and the checksum of its code, taken over the syntax tree so that
 * formatting and comments do not count.
 */
import { Node, SyntaxKind, ts, type ObjectLiteralExpression, type SourceFile } from "ts-morph";
import { hashCanonicalMigration } from "../src/shared/checksum.js";
import { DRIVER_ENTRIES, entrySpecifier, isDefineMigrationSource, packageSubpathOf, PACKAGE_NAMES } from "../src/shared/package-name.js";
import { findNulByte } from "../src/shared/source-text.js";
import type { Problem, ProblemCode } from "./problems.js";

/** What a well-formed TypeScript migration declares. */
export interface TsMigrationFacts {
  readonly description: string | null;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  readonly reversible: boolean;
  /** `up` or `down` is declared `async`, typed to return a promise, or returns one. */
  readonly async: boolean;
  readonly checksum: string;
  /** The checksums earlier releases computed for this source (see {@link checksumTypeScriptForms}). */
  readonly earlierChecksums: readonly string[];
}

/** The facts, or every problem found. */
export type TsMigrationResult = { readonly ok: true; readonly facts: TsMigrationFacts } | { readonly ok: false; readonly problems: Problem[] };

const KNOWN_PROPERTIES = ["description", "up", "down", "transaction", "disableForeignKeys"] as const;
type KnownProperty = (typeof KNOWN_PROPERTIES)[number];
/** Records a problem at a node or a position; returns `null`, so a refusal is one `return report(...)`. */
type Report = (code: ProblemCode, node: Node | number, message: string) => null;

/**
 * Validates a parsed migration: one default export `defineMigration({...})` with literal options and
 * `up`/`down` functions. `returnsThenable` settles, by the type checker, whether an unannotated
 * function that returns a value is async; without it such a function is sync.
 */
export function analyzeTsMigration(sourceFile: SourceFile, file: string, options: { readonly returnsThenable?: (fn: Node) => boolean } = {}): TsMigrationResult {
  const problems: Problem[] = [];
  const report: Report = (code, node, message) => {
    const { line, column } = sourceFile.getLineAndColumnAtPos(typeof node === "number" ? node : node.getStart());
    problems.push({ code, file, line, column, message });
    return null;
  };
  const parseDiagnostics = (sourceFile.compilerNode as unknown as { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
  for (const diagnostic of parseDiagnostics) report("TS_SYNTAX_ERROR", diagnostic.start, `syntax error: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}`);
  if (problems.length > 0) return { ok: false, problems };
  const nul = findRawNul(sourceFile.getFullText(), file);
  if (nul) return { ok: false, problems: [nul] };
  const definition = findDefinition(sourceFile, report);
  if (definition === null) return { ok: false, problems };

  const found = readProperties(definition, report);
  const [up, down] = [found.get("up"), found.get("down")];
  if (!up) report("TS_MISSING_UP", definition, `the migration has no "up"; add up(db) { ... }`);
  const isAsync = [
    up && checkMigrationFunction(up, "up", sourceFile, report, options.returnsThenable),
    down && checkMigrationFunction(down, "down", sourceFile, report, options.returnsThenable),
  ].includes(true);
  const description = readLiteral(found.get("description"), "string", report);
  const transaction = readLiteral(found.get("transaction"), "boolean", report) !== false;
  const disableForeignKeys = readLiteral(found.get("disableForeignKeys"), "boolean", report) === true;
  if (disableForeignKeys && !transaction) {
    report("FOREIGN_KEYS_WITHOUT_TRANSACTION", found.get("disableForeignKeys")!, "disableForeignKeys needs a transaction, so a foreign key violation can be rolled back; remove transaction: false");
  }
  if (transaction && !disableForeignKeys) reportForeignKeysPragmas(sourceFile, [up, down], report);
  if (problems.length > 0) return { ok: false, problems };
  const { checksum, earlierChecksums } = checksumTypeScriptForms(sourceFile.compilerNode, description !== undefined);
  return {
    ok: true,
    facts: { description: typeof description === "string" ? description : null, transaction, disableForeignKeys, reversible: down !== undefined, async: isAsync, checksum, earlierChecksums },
  };
}

/** The object literal of the file's one default export `defineMigration({ ... })`, or `null` once what stands in its way is reported. */
function findDefinition(sourceFile: SourceFile, report: Report): ObjectLiteralExpression | null {
  const defaultExports: Node[] = [];
  for (const statement of sourceFile.getStatements()) {
    if (Node.isExportAssignment(statement) && !statement.isExportEquals()) defaultExports.push(statement);
    else if ((Node.isFunctionDeclaration(statement) || Node.isClassDeclaration(statement)) && statement.isDefaultExport()) defaultExports.push(statement);
    else if (Node.isExportDeclaration(statement)) defaultExports.push(...statement.getNamedExports().filter((specifier) => (specifier.getAliasNode()?.getText() ?? specifier.getName()) === "default"));
  }
  if (defaultExports.length === 0) return report("TS_NO_DEFAULT_EXPORT", 0, `no default export; write "export default defineMigration({ up(db) { ... } })"`);
  for (const extra of defaultExports.slice(1)) report("TS_MULTIPLE_DEFAULT_EXPORTS", extra, "a second default export; a migration file has exactly one");
  if (defaultExports.length > 1) return null;
  const exported = defaultExports[0]!;
  const call = Node.isExportAssignment(exported) ? unwrap(exported.getExpression()) : undefined;
  if (!call || !Node.isCallExpression(call) || call.getExpression().getText() !== "defineMigration") {
    const message = `the default export must be "defineMigration({ ... })", imported from "${entrySpecifier(null)}" or a driver entry such as "${entrySpecifier("node-sqlite")}", so codegen can read it without running it`;
    return report("TS_NOT_DEFINE_MIGRATION", exported, message);
  }
  if (reportForeignDefineMigration(sourceFile, report)) return null;
  const [argument, ...extraArguments] = call.getArguments();
  const definition = argument ? unwrap(argument) : undefined;
  if (definition && Node.isObjectLiteralExpression(definition) && extraArguments.length === 0) return definition;
  return report("TS_NOT_OBJECT_LITERAL", argument ?? call, `defineMigration takes one object literal, written in place: defineMigration({ up(db) { ... } })`);
}

/** The stepwise entries that export `defineMigration`, whose rules codegen checks without running the call (held to package.json's `exports` by a test). */
export const DEFINE_MIGRATION_SOURCES: readonly string[] = [entrySpecifier(null), ...DRIVER_ENTRIES.map(entrySpecifier)];

/** Reports an import that binds `defineMigration` to anything but a stepwise entry's `defineMigration`; a file that declares its own is read as before. */
function reportForeignDefineMigration(sourceFile: SourceFile, report: Report): boolean {
  for (const declaration of sourceFile.getImportDeclarations()) {
    const source = declaration.getModuleSpecifierValue();
    const defaultImport = declaration.getDefaultImport();
    const bindings = [
      ...(defaultImport?.getText() === "defineMigration" ? [{ node: defaultImport as Node, importedName: "default" }] : []),
      ...declaration
        .getNamedImports()
        .filter((specifier) => (specifier.getAliasNode()?.getText() ?? specifier.getName()) === "defineMigration")
        .map((specifier) => ({ node: specifier as Node, importedName: specifier.getName() })),
    ];
    for (const { node, importedName } of bindings) {
      if (isDefineMigrationSource(source) && importedName === "defineMigration") continue;
      const what = importedName === "defineMigration" ? `defineMigration is imported from "${source}"` : `"${importedName}" of "${source}" is imported as defineMigration`;
      const [root, ...drivers] = DEFINE_MIGRATION_SOURCES;
      const message = `${what}, so codegen cannot know what the call does; write import { defineMigration } from "${root}" (or from your driver's entry: "${drivers.join('", "')}")`;
      report("TS_DEFINE_MIGRATION_SOURCE", isDefineMigrationSource(source) ? node : declaration.getModuleSpecifier(), message);
      return true;
    }
  }
  return false;
}

/** The definition's properties by name; one codegen cannot read, does not know or sees twice is reported instead. */
function readProperties(definition: ObjectLiteralExpression, report: Report): Map<KnownProperty, Node> {
  const found = new Map<KnownProperty, Node>();
  for (const property of definition.getProperties()) {
    const nameNode = Node.isSpreadAssignment(property) || Node.isGetAccessorDeclaration(property) || Node.isSetAccessorDeclaration(property) ? null : property.getNameNode();
    const name = nameNode === null || Node.isComputedPropertyName(nameNode) ? null : Node.isStringLiteral(nameNode) ? nameNode.getLiteralValue() : nameNode.getText();
    if (nameNode === null) report("TS_UNSUPPORTED_PROPERTY", property, "spreads and accessors hide the migration's options from codegen; write each property out");
    else if (name === null) report("TS_UNSUPPORTED_PROPERTY", property, "computed property names hide the migration's options from codegen; write the name out");
    else if (!(KNOWN_PROPERTIES as readonly string[]).includes(name)) {
      const suggestion = closestName(name, KNOWN_PROPERTIES);
      report("TS_UNKNOWN_PROPERTY", nameNode, `unknown property "${name}"; ${suggestion ? `did you mean "${suggestion}"? ` : ""}the properties are ${KNOWN_PROPERTIES.join(", ")}`);
    } else if (found.has(name as KnownProperty)) report("TS_DUPLICATE_PROPERTY", nameNode, `"${name}" is given twice; keep one`);
    else found.set(name as KnownProperty, property);
  }
  return found;
}

/** Reports each string in `up` or `down` (or the function each names) that sets PRAGMA foreign_keys, which a transaction ignores. */
function reportForeignKeysPragmas(sourceFile: SourceFile, properties: ReadonlyArray<Node | undefined>, report: Report): void {
  // Compiler nodes: wrapping every descendant in a ts-morph Node costs more than the rest of the analysis.
  const compilerFile = sourceFile.compilerNode;
  const visit = (node: ts.Node): void => {
    const isText = ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node);
    if (isText && /\bPRAGMA\s+(?:\w+\.)?foreign_keys\b|^\s*foreign_keys\s*=/i.test(node.getText(compilerFile).slice(1))) {
      const message =
        "PRAGMA foreign_keys does nothing inside a transaction; remove it and set disableForeignKeys: true, which turns enforcement off around the migration and checks the keys before commit";
      report("FOREIGN_KEYS_PRAGMA_IN_TRANSACTION", node.getStart(compilerFile), message);
    }
    ts.forEachChild(node, visit);
  };
  for (const property of properties) if (property) visit((resolveFunction(property, sourceFile) ?? property).compilerNode);
}

/** A raw NUL byte: legal in a string, but invisible in review and the separator of the canonical forms; `\0` says the same. */
export function findRawNul(text: string, file: string): Problem | null {
  const at = findNulByte(text);
  return at && { code: "TS_NUL_BYTE", file, ...at, message: "a raw NUL byte in the source; write it as the escape \\0 (or \\u0000) inside the string, or delete it" };
}

/** Checks one direction's function; returns whether it is async (`null`: not a function). */
function checkMigrationFunction(property: Node, which: "up" | "down", sourceFile: SourceFile, report: Report, returnsThenable?: (fn: Node) => boolean): boolean | null {
  const fn = resolveFunction(property, sourceFile);
  if (!fn) return report("TS_NOT_A_FUNCTION", property, `"${which}" must be a function: write ${which}(db) { ... }, or refer to a function declared in this file`);
  if (Node.isGeneratorable(fn) && fn.isGenerator()) return report("TS_NOT_A_FUNCTION", property, `"${which}" is a generator, which would run nothing when called; make it a plain function`);
  if (Node.isAsyncable(fn) && fn.isAsync()) return true;
  // The usual annotations settle it without a type check; anything else is what the checker makes of it.
  const returnType = fn.getReturnTypeNode()?.getText();
  if (returnType !== undefined && /^(Promise|PromiseLike)\b/.test(returnType)) return true;
  if (returnType === "void") return false;
  return returnsValue(fn.compilerNode as ts.FunctionLikeDeclaration) && (returnsThenable?.(fn) ?? false);
}

/** An arrow with an expression body, or a `return` with a value outside nested functions: only such a function can hand back a promise unannotated. */
function returnsValue(node: ts.FunctionLikeDeclaration): boolean {
  if (node.body === undefined) return false;
  if (!ts.isBlock(node.body)) return true;
  let found = false;
  const visit = (child: ts.Node): void => {
    if (found || ts.isFunctionLike(child) || ts.isClassLike(child)) return;
    if (ts.isReturnStatement(child) && child.expression !== undefined) found = true;
    else ts.forEachChild(child, visit);
  };
  ts.forEachChild(node.body, visit);
  return found;
}

type FunctionLike = Node & { getReturnTypeNode(): Node | undefined };

/** The function behind a property: written in place, or a function declared in this file. */
function resolveFunction(property: Node, sourceFile: SourceFile): FunctionLike | undefined {
  if (Node.isMethodDeclaration(property)) return property;
  const value = Node.isPropertyAssignment(property) ? unwrap(property.getInitializerOrThrow()) : Node.isShorthandPropertyAssignment(property) ? property.getNameNode() : undefined;
  if (value && (Node.isArrowFunction(value) || Node.isFunctionExpression(value))) return value;
  if (!value || !Node.isIdentifier(value)) return undefined;
  const declared = sourceFile.getFunction(value.getText());
  if (declared) return declared;
  const initializer = sourceFile.getVariableDeclaration(value.getText())?.getInitializer();
  const unwrapped = initializer ? unwrap(initializer) : undefined;
  return unwrapped && (Node.isArrowFunction(unwrapped) || Node.isFunctionExpression(unwrapped)) ? unwrapped : undefined;
}

/** The literal value of an option; `undefined` when absent, `null` when not a literal of `type`. */
function readLiteral(property: Node | undefined, type: "string" | "boolean", report: Report): string | boolean | null | undefined {
  if (!property) return undefined;
  const name = Node.isPropertyAssignment(property) ? property.getName() : property.getText();
  const value = Node.isPropertyAssignment(property) ? unwrap(property.getInitializerOrThrow()) : undefined;
  if (value && type === "string" && (Node.isStringLiteral(value) || Node.isNoSubstitutionTemplateLiteral(value))) return value.getLiteralValue();
  if (value && type === "boolean" && (value.getKind() === SyntaxKind.TrueKeyword || value.getKind() === SyntaxKind.FalseKeyword)) return value.getKind() === SyntaxKind.TrueKeyword;
  const expected = type === "string" ? 'string literal, such as "Add an index"' : "literal true or false";
  return report("TS_NON_LITERAL_OPTION", value ?? property, `"${name}" must be a ${expected}, so codegen can read it without running the file`);
}

/** Parentheses, `as` and `satisfies`, which gen reads through. */
function unwrap(node: Node): Node {
  while (Node.isParenthesizedExpression(node) || Node.isAsExpression(node) || Node.isSatisfiesExpression(node)) node = node.getExpression();
  return node;
}

function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    // Levenshtein distance, one row at a time.
    const [a, b] = [name.toLowerCase(), candidate.toLowerCase()];
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let diagonal = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const above = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
        diagonal = above;
      }
    }
    if (row[b.length]! < bestDistance) [best, bestDistance] = [candidate, row[b.length]!];
  }
  return best;
}

/**
 * A file's checksum and the ones earlier releases computed for the same source: every stepwise entry's
 * specifier hashed as written, and, when `hashedDescription` (a migration with a `description`), that
 * description hashed in. One pass per form that can differ.
 */
export function checksumTypeScriptForms(sourceFile: ts.SourceFile, hashedDescription: boolean): { readonly checksum: string; readonly earlierChecksums: readonly string[] } {
  const checksum = checksumTypeScriptSource(sourceFile);
  const asWritten = foldsPackageSpecifier(sourceFile) ? checksumTypeScriptSource(sourceFile, { rawPackageSpecifiers: true }) : checksum;
  const described = hashedDescription ? checksumTypeScriptSource(sourceFile, { legacyDescription: true, rawPackageSpecifiers: true }) : asWritten;
  return { checksum, earlierChecksums: [...new Set([asWritten, described])] };
}

/**
 * The checksum over the syntax tree, so formatting, comments and what prettier rewrites (parentheses,
 * quotes, number spelling, quoted keys) do not count. A little more is kept only where two programs
 * that run differently would otherwise meet, so every other checksum stays as it was.
 */
function checksumTypeScriptSource(sourceFile: ts.SourceFile, options: { legacyDescription?: boolean; rawPackageSpecifiers?: boolean } = {}): string {
  const parts: string[] = [];
  const visit = (node: ts.Node): void => {
    // The description says what the migration does to a reader and nothing to the database, as a SQL comment.
    if (!options.legacyDescription && isMigrationDescription(node)) return;
    if (ts.isParenthesizedExpression(node) && !isMeaningfulParenthesis(node)) return visit(node.expression);
    if (ts.isParenthesizedTypeNode(node)) return visit(node.type);
    if ((node.kind === ts.SyntaxKind.EmptyStatement && !isEmptyThenBeforeElse(node)) || node.kind === ts.SyntaxKind.SemicolonClassElement) return;
    const key = propertyKey(node);
    parts.push("(", key === null ? kindName(node.kind) : "PropertyName");
    const detail = key ?? (!options.rawPackageSpecifiers && isFoldedPackageSpecifier(node) ? JSON.stringify(HASHED_PACKAGE_NAME) : (packageSpecifierDetail(node) ?? nodeDetail(node)));
    if (detail !== null) parts.push(" ", detail);
    const slots = ambiguousSlots(node);
    if (slots !== null) parts.push(" slots:", slots);
    if (ts.isParenthesizedExpression(node)) visit(withoutParentheses(node.expression));
    else ts.forEachChild(node, visit);
    parts.push(")");
  };
  visit(sourceFile);
  return hashCanonicalMigration("ts", parts.join(""));
}

/** `(a?.b).c` ends the optional chain, and `("use strict")` is an expression, not a directive: only those parentheses count. */
function isMeaningfulParenthesis(node: ts.ParenthesizedExpression): boolean {
  const inner = withoutParentheses(node.expression);
  if (ts.isOptionalChain(inner)) {
    let outer: ts.Node = node;
    while (ts.isNonNullExpression(outer.parent) || ts.isParenthesizedExpression(outer.parent)) outer = outer.parent;
    const parent = outer.parent;
    return (
      ((ts.isPropertyAccessExpression(parent) || ts.isElementAccessExpression(parent) || ts.isCallExpression(parent)) && parent.expression === outer) ||
      (ts.isTaggedTemplateExpression(parent) && parent.tag === outer)
    );
  }
  return ts.isStringLiteral(inner) && inner.text === "use strict" && isPrologueStatement(node.parent);
}

function withoutParentheses(node: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(node)) node = node.expression;
  return node;
}

/** An expression statement among the leading string statements of a script or function body. */
function isPrologueStatement(node: ts.Node): boolean {
  if (!ts.isExpressionStatement(node)) return false;
  const list = node.parent;
  if (!ts.isSourceFile(list) && !(ts.isBlock(list) && ts.isFunctionLike(list.parent))) return false;
  for (const statement of list.statements) {
    if (statement === node) return true;
    if (!ts.isExpressionStatement(statement) || !ts.isStringLiteral(statement.expression)) return false;
  }
  return false;
}

/** `if (x) ; else y` is not `if (x) y`: there the empty statement holds the then-slot. */
function isEmptyThenBeforeElse(node: ts.Node): boolean {
  const parent = node.parent;
  return ts.isIfStatement(parent) && parent.thenStatement === node && parent.elseStatement !== undefined;
}

/**
 * Which optional slots are filled, only for the kinds whose children could fit more than one set
 * (`for (i = 0; i < 2; )` against `for (i = 0; ; i < 2)`, `{ a: b }` against `{ a = b }`), and only
 * for the readings that are not the common unlabelled one, so other checksums do not move.
 */
function ambiguousSlots(node: ts.Node): string | null {
  if (ts.isForStatement(node)) {
    const expressionSlots = [node.initializer && !ts.isVariableDeclarationList(node.initializer) ? node.initializer : undefined, node.condition, node.incrementor];
    const missing = [node.initializer, node.condition, node.incrementor].filter((slot) => slot === undefined).length;
    if (missing === 0 || expressionSlots.every((slot) => slot === undefined)) return null;
    if (node.condition === undefined && node.incrementor !== undefined) return null;
    return [node.initializer ? "init" : "", node.condition ? "cond" : "", node.incrementor ? "incr" : ""].join(",");
  }
  if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent) && node.propertyName === undefined && node.initializer !== undefined) return "name,default";
  if (ts.isTypeParameterDeclaration(node) && node.constraint === undefined && node.default !== undefined) return "name,default";
  if (ts.isMappedTypeNode(node) && node.nameType !== undefined && node.type === undefined) return "as";
  return null;
}

/** `ts.SyntaxKind[kind]` may answer with a range marker ("FirstStatement"), and markers move between TypeScript versions; a checksum must not. */
const KIND_NAMES: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(ts.SyntaxKind)) if (typeof value === "number" && !/^(First|Last)[A-Z]/.test(name) && !names.has(value)) names.set(value, name);
  return names;
})();

function kindName(kind: ts.SyntaxKind): string {
  return KIND_NAMES.get(kind) ?? String(kind);
}

/** `key:"name"` for a property name written bare, quoted or as a number; `null` for anything else. */
function propertyKey(node: ts.Node): string | null {
  const parent = node.parent as (ts.Node & { name?: ts.Node }) | undefined;
  if (parent?.name !== node || !(ts.isIdentifier(node) || ts.isStringLiteral(node) || ts.isNumericLiteral(node))) return null;
  const named =
    ts.isPropertyAssignment(parent) ||
    ts.isMethodDeclaration(parent) ||
    ts.isPropertyDeclaration(parent) ||
    ts.isPropertySignature(parent) ||
    ts.isMethodSignature(parent) ||
    ts.isGetAccessor(parent) ||
    ts.isSetAccessor(parent) ||
    ts.isEnumMember(parent);
  return named ? `key:${JSON.stringify(ts.isNumericLiteral(node) ? String(Number(node.text)) : node.text)}` : null;
}

/** The part of a node its kind and children do not capture. */
function nodeDetail(node: ts.Node): string | null {
  if (ts.isNumericLiteral(node)) return String(Number(node.text.replace(/_/g, "")));
  if (ts.isBigIntLiteral(node)) return node.text.replace(/_/g, "").toLowerCase();
  if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) return node.text;
  // A tag reads the raw text (String.raw sees `\n` as two characters); labelled only where raw and cooked differ.
  if (ts.isNoSubstitutionTemplateLiteral(node) && ts.isTaggedTemplateExpression(node.parent) && node.rawText !== undefined && node.rawText !== node.text) return `raw:${JSON.stringify(node.rawText)}`;
  // Only the exact text `"use strict"` is a directive; `"use\x20strict"` has the value and not the effect.
  if (ts.isStringLiteral(node) && node.text === "use strict" && isPrologueStatement(node.parent) && node.getText().slice(1, -1) !== "use strict") return `not-a-directive:${JSON.stringify(node.text)}`;
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isRegularExpressionLiteral(node) || ts.isJsxText(node)) return JSON.stringify(node.text);
  if (ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) return JSON.stringify(node.rawText ?? node.text);
  if (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node) || ts.isTypeOperatorNode(node)) return kindName(node.operator);
  if (ts.isHeritageClause(node)) return kindName(node.token);
  if (ts.isMetaProperty(node)) return kindName(node.keywordToken);
  if (ts.isVariableDeclarationList(node)) return String(node.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const | ts.NodeFlags.Using | ts.NodeFlags.AwaitUsing));
  if (ts.isImportClause(node) || ts.isImportEqualsDeclaration(node) || ts.isExportDeclaration(node) || ts.isImportSpecifier(node) || ts.isExportSpecifier(node)) return node.isTypeOnly ? "type" : null;
  if (ts.isExportAssignment(node)) return node.isExportEquals ? "=" : null;
  if (ts.isImportTypeNode(node)) return node.isTypeOf ? "typeof" : null;
  return null;
}

/** The package's name when every checksum so far was taken. Frozen: renaming the package must not move a checksum. */
const HASHED_PACKAGE_NAME = "stepwise";

/** A module specifier naming the package under any of its names hashes as it was written under {@link HASHED_PACKAGE_NAME}. */
function packageSpecifierDetail(node: ts.Node): string | null {
  if (!ts.isStringLiteral(node) || !isModuleSpecifier(node)) return null;
  const subpath = packageSubpathOf(node.text);
  return subpath === null ? null : JSON.stringify(subpath === "" ? HASHED_PACKAGE_NAME : `${HASHED_PACKAGE_NAME}/${subpath}`);
}

/** An import or export's `from`, `import("…")` in code or types, or `import x = require("…")`. */
function isModuleSpecifier(node: ts.StringLiteral): boolean {
  const parent = node.parent;
  if ((ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent)) && parent.moduleSpecifier === node) return true;
  if (ts.isExternalModuleReference(parent)) return true;
  if (ts.isLiteralTypeNode(parent)) return ts.isImportTypeNode(parent.parent);
  return ts.isCallExpression(parent) && parent.expression.kind === ts.SyntaxKind.ImportKeyword && parent.arguments[0] === node;
}

/**
 * A stepwise entry's specifier where it changes nothing the code does: in an import that binds, at
 * run time, only `defineMigration` (every entry's returns its argument) and types, or a type-only
 * `import("…")`. It hashes as the root entry, so moving `defineMigration` to a driver's entry moves no
 * checksum; an entry's other values differ per driver, so their specifier counts.
 */
function isFoldedPackageSpecifier(node: ts.Node): boolean {
  if (!ts.isStringLiteral(node) || !isDefineMigrationSource(node.text)) return false;
  const parent = node.parent;
  if (ts.isLiteralTypeNode(parent)) return ts.isImportTypeNode(parent.parent);
  if (!ts.isImportDeclaration(parent) || parent.moduleSpecifier !== node || parent.importClause === undefined) return false;
  const clause = parent.importClause;
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined || clause.namedBindings === undefined || !ts.isNamedImports(clause.namedBindings)) return false;
  return clause.namedBindings.elements.every((element) => element.isTypeOnly || (element.propertyName ?? element.name).text === "defineMigration");
}

/** Whether a folded specifier is written as anything but the root entry (most files name no entry and skip the walk). */
function foldsPackageSpecifier(sourceFile: ts.SourceFile): boolean {
  if (!PACKAGE_NAMES.some((name) => sourceFile.text.includes(`${name}/`))) return false;
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isStringLiteral(node) && packageSubpathOf(node.text) !== "" && isFoldedPackageSpecifier(node)) found = true;
    else ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/** The literal `description` of the object a file default-exports through `defineMigration`; anywhere else a `description` is data. */
function isMigrationDescription(node: ts.Node): boolean {
  if (!ts.isPropertyAssignment(node)) return false;
  const name = node.name;
  if (!(ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) || name.text !== "description") return false;
  let value = node.initializer;
  while (isWrapper(value)) value = value.expression;
  if (!ts.isStringLiteral(value) && !ts.isNoSubstitutionTemplateLiteral(value)) return false;
  const argument = outermostWrapper(node.parent);
  const call = argument.parent;
  if (!call || !ts.isCallExpression(call) || call.arguments[0] !== argument || !ts.isIdentifier(call.expression) || call.expression.text !== "defineMigration") return false;
  const exported = outermostWrapper(call).parent;
  return exported !== undefined && ts.isExportAssignment(exported) && !exported.isExportEquals;
}

function isWrapper(node: ts.Node): node is ts.ParenthesizedExpression | ts.AsExpression | ts.SatisfiesExpression {
  return ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node);
}

function outermostWrapper(node: ts.Node): ts.Node {
  while (node.parent !== undefined && isWrapper(node.parent)) node = node.parent;
  return node;
}

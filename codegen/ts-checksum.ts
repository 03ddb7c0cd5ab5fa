/**
 * The checksum of a TypeScript file, taken over its syntax tree so that formatting and comments do not count, and the forms earlier releases computed for the same source, which registries still
 * record.
 */
import { ts } from "ts-morph";
import { hashCanonicalMigration } from "../src/shared/checksum.js";
import { isDefineMigrationSource, packageSubpathOf, PACKAGE_NAMES } from "../src/shared/package-name.js";
import { findNulByte } from "../src/shared/source-text.js";
import type { Problem } from "./problems.js";
import { childrenOf, preorder } from "./ts-walk.js";

/** A raw NUL byte: legal in a string, but invisible in review and the separator of the canonical forms; `\0` says the same. */
export function findRawNul(text: string, file: string): Problem | null {
  const at = findNulByte(text);
  return at && { code: "TS_NUL_BYTE", file, ...at, message: "a raw NUL byte in the source; write it as the escape \\0 (or \\u0000) inside the string, or delete it" };
}

/** A file's checksum, and the earlier releases' (every entry's specifier as written, and with `hashedDescription` the description hashed in). */
export function checksumTypeScriptForms(sourceFile: ts.SourceFile, hashedDescription: boolean): { readonly checksum: string; readonly earlierChecksums: readonly string[] } {
  const checksum = checksumTypeScriptSource(sourceFile);
  const asWritten = foldsPackageSpecifier(sourceFile) ? checksumTypeScriptSource(sourceFile, { rawPackageSpecifiers: true }) : checksum;
  const described = hashedDescription ? checksumTypeScriptSource(sourceFile, { legacyDescription: true, rawPackageSpecifiers: true }) : asWritten;
  return { checksum, earlierChecksums: [...new Set([asWritten, described])] };
}

/**
 * The checksum over the syntax tree, so formatting, comments and prettier's rewrites do not count; a little more is kept only where two programs that run differently would otherwise meet, so every
 * other checksum stays as it was.
 */
const CLOSE = Symbol("close");

function checksumTypeScriptSource(sourceFile: ts.SourceFile, options: { legacyDescription?: boolean; rawPackageSpecifiers?: boolean } = {}): string {
  const parts: string[] = [];
  // The walk a recursive visit would make, on a stack of its own (see ts-walk.ts); CLOSE ends the node whose children came before it.
  const pending: (ts.Node | typeof CLOSE)[] = [sourceFile];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (node === CLOSE) {
      parts.push(")");
      continue;
    }
    // The description says what the migration does to a reader and nothing to the database, as a SQL comment.
    if (!options.legacyDescription && isMigrationDescription(node)) continue;
    if (ts.isParenthesizedExpression(node) && !isMeaningfulParenthesis(node)) {
      pending.push(node.expression);
      continue;
    }
    if (ts.isParenthesizedTypeNode(node)) {
      pending.push(node.type);
      continue;
    }
    if ((node.kind === ts.SyntaxKind.EmptyStatement && !isEmptyThenBeforeElse(node)) || node.kind === ts.SyntaxKind.SemicolonClassElement) continue;
    const key = propertyKey(node);
    parts.push("(", key === null ? kindName(node.kind) : "PropertyName");
    const detail = key ?? (!options.rawPackageSpecifiers && isFoldedPackageSpecifier(node) ? JSON.stringify(HASHED_PACKAGE_NAME) : (packageSpecifierDetail(node) ?? nodeDetail(node)));
    if (detail !== null) parts.push(" ", detail);
    const slots = ambiguousSlots(node);
    if (slots !== null) parts.push(" slots:", slots);
    pending.push(CLOSE);
    const children = ts.isParenthesizedExpression(node) ? [withoutParentheses(node.expression)] : childrenOf(node);
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i]!);
  }
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

/** Which optional slots are filled, for kinds whose children fit more than one set (`for (i; c; )` / `for (i; ; c)`), except the common reading. */
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
const KIND_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(ts.SyntaxKind)) if (typeof value === "number" && !/^(First|Last)[A-Z]/.test(name) && !KIND_NAMES.has(value)) KIND_NAMES.set(value, name);

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
 * A stepwise entry's specifier where it changes nothing the code does (an import of only `defineMigration` and types, a type-only `import("…")`): it hashes as the root entry, so moving
 * `defineMigration` to a driver's entry moves no checksum.
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
  for (const node of preorder(sourceFile)) if (ts.isStringLiteral(node) && packageSubpathOf(node.text) !== "" && isFoldedPackageSpecifier(node)) return true;
  return false;
}

/** The literal `description` of the object a file default-exports through `defineMigration`; anywhere else a `description` is data. */
function isMigrationDescription(node: ts.Node): boolean {
  if (!ts.isPropertyAssignment(node)) return false;
  const name = node.name;
  if (!(ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) || name.text !== "description") return false;
  const value = unwrapExpression(node.initializer);
  if (!ts.isStringLiteral(value) && !ts.isNoSubstitutionTemplateLiteral(value)) return false;
  const argument = outermostWrapper(node.parent);
  const call = argument.parent;
  if (!call || !ts.isCallExpression(call) || call.arguments[0] !== argument || !ts.isIdentifier(call.expression) || call.expression.text !== "defineMigration") return false;
  const exported = outermostWrapper(call).parent;
  return exported !== undefined && ts.isExportAssignment(exported) && !exported.isExportEquals;
}

/** Parentheses, `as` and `satisfies`, which gen reads through. */
export function unwrapExpression(node: ts.Expression): ts.Expression {
  while (isWrapper(node)) node = node.expression;
  return node;
}

function isWrapper(node: ts.Node): node is ts.ParenthesizedExpression | ts.AsExpression | ts.SatisfiesExpression {
  return ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node);
}

function outermostWrapper(node: ts.Node): ts.Node {
  while (node.parent !== undefined && isWrapper(node.parent)) node = node.parent;
  return node;
}

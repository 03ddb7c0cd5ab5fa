/**
 * Reads a TypeScript migration syntactically and extracts what the registry needs: the literal
 * options, whether it has a `down`, whether it is async, and the checksum of its code. The type
 * checker is asked only when the syntax cannot tell whether a function is async (see
 * {@link AnalyzeTsMigrationOptions.returnsThenable}).
 */
import { Node, SyntaxKind, ts, type ObjectLiteralExpression, type SourceFile } from "ts-morph";
import { hashCanonicalMigration } from "../src/shared/checksum.js";
import { findNulByte } from "../src/shared/source-text.js";
import { DRIVER_ENTRIES, entrySpecifier, isDefineMigrationSource, packageSubpathOf, PACKAGE_NAMES } from "../src/shared/package-name.js";
import type { Problem, ProblemCode } from "./problems.js";

/** What a well-formed TypeScript migration declares. */
export interface TsMigrationFacts {
  readonly description: string | null;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  readonly reversible: boolean;
  /** `up` or `down` is async: declared `async`, typed to return a promise, or returning one. */
  readonly async: boolean;
  readonly checksum: string;
  /**
   * The checksums earlier releases computed for this source (each may equal `checksum`): a stepwise
   * entry's specifier hashed as written, and the `description` hashed in (see
   * {@link checksumTypeScriptForms}). Combined with the imports' they give `MigrationEntryBase.legacyChecksum`.
   */
  readonly earlierChecksums: readonly string[];
}

/** What {@link analyzeTsMigration} may ask beyond the syntax. */
export interface AnalyzeTsMigrationOptions {
  /**
   * Whether `fn`, a function of the analysed file that returns a value but is neither `async` nor
   * annotated, returns a promise or another thenable, by the type checker. Without it such a
   * function counts as sync, as does one whose return type the checker cannot resolve (`any`).
   */
  readonly returnsThenable?: (fn: Node) => boolean;
}

/** The facts, or every problem found. */
export type TsMigrationResult = { readonly ok: true; readonly facts: TsMigrationFacts } | { readonly ok: false; readonly problems: Problem[] };

const KNOWN_PROPERTIES = ["description", "up", "down", "transaction", "disableForeignKeys"] as const;
type KnownProperty = (typeof KNOWN_PROPERTIES)[number];
const FOREIGN_KEYS_PRAGMA = /\bPRAGMA\s+(?:\w+\.)?foreign_keys\b|^\s*foreign_keys\s*=/i;

/**
 * Validates a parsed migration file. `file` is the path used in problems.
 *
 * Rules: one default export, `defineMigration({...})` with an object literal; `up` a function or
 * method, sync or async, not a generator; `down` likewise when present; `description` a string
 * literal; `transaction` and `disableForeignKeys` boolean literals; no other properties.
 */
export function analyzeTsMigration(sourceFile: SourceFile, file: string, options: AnalyzeTsMigrationOptions = {}): TsMigrationResult {
  const problems: Problem[] = [];
  const report: Report = (code, node, message) => {
    const position = typeof node === "number" ? node : node.getStart();
    const { line, column } = sourceFile.getLineAndColumnAtPos(position);
    problems.push({ code, file, line, column, message });
  };

  const parseDiagnostics = (sourceFile.compilerNode as unknown as { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
  for (const diagnostic of parseDiagnostics) {
    report("TS_SYNTAX_ERROR", diagnostic.start, `syntax error: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  const nulProblem = findRawNul(sourceFile.getFullText(), file);
  if (nulProblem) return { ok: false, problems: [nulProblem] };
  const definition = findDefinition(sourceFile, report);
  if (definition === null) return { ok: false, problems };

  const found = readProperties(definition, report);
  const up = found.get("up");
  if (!up) report("TS_MISSING_UP", definition, `the migration has no "up"; add up(db) { ... }`);
  const upIsAsync = up ? checkMigrationFunction(up, "up", sourceFile, report, options) : false;
  const down = found.get("down");
  const downIsAsync = down ? checkMigrationFunction(down, "down", sourceFile, report, options) : false;

  const description = readLiteral(found.get("description"), "string", report);
  const transaction = readLiteral(found.get("transaction"), "boolean", report);
  const disableForeignKeys = readLiteral(found.get("disableForeignKeys"), "boolean", report);

  const runsInTransaction = transaction !== false;
  if (disableForeignKeys === true && !runsInTransaction) {
    report("FOREIGN_KEYS_WITHOUT_TRANSACTION", found.get("disableForeignKeys")!, "disableForeignKeys needs a transaction, so a foreign key violation can be rolled back; remove transaction: false");
  }
  if (runsInTransaction && disableForeignKeys !== true) reportForeignKeysPragmas(sourceFile, [up, down], report);

  if (problems.length > 0) return { ok: false, problems };
  const { checksum, earlierChecksums } = checksumTypeScriptForms(sourceFile.compilerNode, description !== undefined);
  return {
    ok: true,
    facts: {
      description: typeof description === "string" ? description : null,
      transaction: runsInTransaction,
      disableForeignKeys: disableForeignKeys === true,
      reversible: down !== undefined,
      async: upIsAsync || downIsAsync,
      checksum,
      earlierChecksums,
    },
  };
}

/** Reports a problem at a node, or at a position in the file. */
type Report = (code: ProblemCode, node: Node | number, message: string) => void;

/**
 * The object literal of the file's one default export, `defineMigration({ ... })` (imported from
 * stepwise), or `null` once what stands in its way is reported.
 */
function findDefinition(sourceFile: SourceFile, report: Report): ObjectLiteralExpression | null {
  const defaultExports: Node[] = [];
  for (const statement of sourceFile.getStatements()) {
    if (Node.isExportAssignment(statement) && !statement.isExportEquals()) defaultExports.push(statement);
    else if ((Node.isFunctionDeclaration(statement) || Node.isClassDeclaration(statement)) && statement.isDefaultExport()) defaultExports.push(statement);
    else if (Node.isExportDeclaration(statement)) {
      for (const specifier of statement.getNamedExports()) {
        if ((specifier.getAliasNode()?.getText() ?? specifier.getName()) === "default") defaultExports.push(specifier);
      }
    }
  }
  if (defaultExports.length === 0) {
    report("TS_NO_DEFAULT_EXPORT", 0, `no default export; write "export default defineMigration({ up(db) { ... } })"`);
    return null;
  }
  if (defaultExports.length > 1) {
    for (const extra of defaultExports.slice(1)) report("TS_MULTIPLE_DEFAULT_EXPORTS", extra, "a second default export; a migration file has exactly one");
    return null;
  }
  const exported = defaultExports[0]!;
  const call = Node.isExportAssignment(exported) ? unwrapParentheses(exported.getExpression()) : undefined;
  if (!call || !Node.isCallExpression(call) || call.getExpression().getText() !== "defineMigration") {
    report(
      "TS_NOT_DEFINE_MIGRATION",
      exported,
      `the default export must be "defineMigration({ ... })", imported from "${entrySpecifier(null)}" or a driver entry such as "${entrySpecifier("node-sqlite")}", so codegen can read it without running it`,
    );
    return null;
  }
  const foreign = findForeignDefineMigration(sourceFile);
  if (foreign) {
    report("TS_DEFINE_MIGRATION_SOURCE", foreign.node, describeForeignDefineMigration(foreign));
    return null;
  }
  const [argument, ...extraArguments] = call.getArguments();
  const definition = argument ? unwrapParentheses(argument) : undefined;
  if (!definition || !Node.isObjectLiteralExpression(definition) || extraArguments.length > 0) {
    report("TS_NOT_OBJECT_LITERAL", argument ?? call, `defineMigration takes one object literal, written in place: defineMigration({ up(db) { ... } })`);
    return null;
  }
  return definition;
}

/** The definition's properties by name; one codegen cannot read, does not know or sees twice is reported instead. */
function readProperties(definition: ObjectLiteralExpression, report: Report): Map<KnownProperty, Node> {
  const found = new Map<KnownProperty, Node>();
  for (const property of definition.getProperties()) {
    if (Node.isSpreadAssignment(property) || Node.isGetAccessorDeclaration(property) || Node.isSetAccessorDeclaration(property)) {
      report("TS_UNSUPPORTED_PROPERTY", property, "spreads and accessors hide the migration's options from codegen; write each property out");
      continue;
    }
    const nameNode = property.getNameNode();
    if (Node.isComputedPropertyName(nameNode)) {
      report("TS_UNSUPPORTED_PROPERTY", property, "computed property names hide the migration's options from codegen; write the name out");
      continue;
    }
    const name = Node.isStringLiteral(nameNode) ? nameNode.getLiteralValue() : nameNode.getText();
    if (!(KNOWN_PROPERTIES as readonly string[]).includes(name)) {
      const suggestion = closestName(name, KNOWN_PROPERTIES);
      report("TS_UNKNOWN_PROPERTY", nameNode, `unknown property "${name}"; ${suggestion ? `did you mean "${suggestion}"? ` : ""}the properties are ${KNOWN_PROPERTIES.join(", ")}`);
      continue;
    }
    if (found.has(name as KnownProperty)) {
      report("TS_DUPLICATE_PROPERTY", nameNode, `"${name}" is given twice; keep one`);
      continue;
    }
    found.set(name as KnownProperty, property);
  }
  return found;
}

/** Reports every string in `up` or `down` (or the function each names) that sets PRAGMA foreign_keys, which a transaction ignores. */
function reportForeignKeysPragmas(sourceFile: SourceFile, properties: ReadonlyArray<Node | undefined>, report: Report): void {
  // Walks the compiler's nodes: wrapping every descendant in a ts-morph Node costs more than the
  // rest of the analysis together.
  const compilerFile = sourceFile.compilerNode;
  const visit = (node: ts.Node): void => {
    if (
      (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) &&
      FOREIGN_KEYS_PRAGMA.test(node.getText(compilerFile).slice(1))
    ) {
      report(
        "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION",
        node.getStart(compilerFile),
        "PRAGMA foreign_keys does nothing inside a transaction; remove it and set disableForeignKeys: true, which turns enforcement off around the migration and checks the keys before commit",
      );
    }
    ts.forEachChild(node, visit);
  };
  for (const property of properties) {
    if (!property) continue;
    // A function declared elsewhere in the file is where its SQL lives.
    const fn = resolveFunction(property, sourceFile);
    visit((fn ?? property).compilerNode);
  }
}

/**
 * A raw NUL byte in TypeScript or JavaScript source: legal inside a string, but invisible in review
 * and in diffs, and the one character the canonical forms use as a separator; `\0` says the same.
 */
export function findRawNul(text: string, file: string): Problem | null {
  const at = findNulByte(text);
  return at && { code: "TS_NUL_BYTE", file, ...at, message: "a raw NUL byte in the source; write it as the escape \\0 (or \\u0000) inside the string, or delete it" };
}

/** Checks one direction's function; returns whether it is async. */
function checkMigrationFunction(
  property: Node,
  which: "up" | "down",
  sourceFile: SourceFile,
  report: (code: ProblemCode, node: Node, message: string) => void,
  options: AnalyzeTsMigrationOptions,
): boolean {
  const fn = resolveFunction(property, sourceFile);
  if (!fn) {
    report("TS_NOT_A_FUNCTION", property, `"${which}" must be a function: write ${which}(db) { ... }, or refer to a function declared in this file`);
    return false;
  }
  if (Node.isGeneratorable(fn) && fn.isGenerator()) {
    report("TS_NOT_A_FUNCTION", property, `"${which}" is a generator, which would run nothing when called; make it a plain function`);
    return false;
  }
  if (Node.isAsyncable(fn) && fn.isAsync()) return true;
  const returnType = fn.getReturnTypeNode()?.getText();
  // The usual annotations settle it without a type check: `Promise<void>` is async, `void` is not.
  if (returnType !== undefined && /^(Promise|PromiseLike)\b/.test(returnType)) return true;
  if (returnType === "void") return false;
  // Anything else (no annotation, `void | Promise<void>`, an alias) is what the checker makes of it.
  return returnsValue(fn) && (options.returnsThenable?.(fn) ?? false);
}

/**
 * Whether a function can return a value: an arrow with an expression body, or a `return` with an
 * expression outside any nested function. Only such a function can hand back a promise unannotated.
 */
function returnsValue(fn: Node): boolean {
  const node = fn.compilerNode as ts.FunctionLikeDeclaration;
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

/** Finds the function behind a property: written in place, or a function declared in this file. */
function resolveFunction(property: Node, sourceFile: SourceFile): FunctionLike | undefined {
  if (Node.isMethodDeclaration(property)) return property;
  let value: Node | undefined;
  if (Node.isPropertyAssignment(property)) value = unwrapParentheses(property.getInitializerOrThrow());
  else if (Node.isShorthandPropertyAssignment(property)) value = property.getNameNode();
  if (!value) return undefined;
  if (Node.isArrowFunction(value) || Node.isFunctionExpression(value)) return value;
  if (Node.isIdentifier(value)) {
    const name = value.getText();
    const declaredFunction = sourceFile.getFunction(name);
    if (declaredFunction) return declaredFunction;
    const initializer = sourceFile.getVariableDeclaration(name)?.getInitializer();
    const unwrapped = initializer ? unwrapParentheses(initializer) : undefined;
    if (unwrapped && (Node.isArrowFunction(unwrapped) || Node.isFunctionExpression(unwrapped))) return unwrapped;
  }
  return undefined;
}

function readLiteral(property: Node | undefined, type: "string" | "boolean", report: (code: ProblemCode, node: Node, message: string) => void): string | boolean | undefined {
  if (!property) return undefined;
  const name = Node.isPropertyAssignment(property) ? property.getName() : property.getText();
  const value = Node.isPropertyAssignment(property) ? unwrapParentheses(property.getInitializerOrThrow()) : undefined;
  if (value && type === "string" && (Node.isStringLiteral(value) || Node.isNoSubstitutionTemplateLiteral(value))) return value.getLiteralValue();
  if (value && type === "boolean" && value.getKind() === SyntaxKind.TrueKeyword) return true;
  if (value && type === "boolean" && value.getKind() === SyntaxKind.FalseKeyword) return false;
  report(
    "TS_NON_LITERAL_OPTION",
    value ?? property,
    `"${name}" must be a ${type === "string" ? 'string literal, such as "Add an index"' : "literal true or false"}, so codegen can read it without running the file`,
  );
  return undefined;
}

function unwrapParentheses(node: Node): Node {
  let current = node;
  while (Node.isParenthesizedExpression(current) || Node.isAsExpression(current) || Node.isSatisfiesExpression(current)) current = current.getExpression();
  return current;
}

function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
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
  return row[b.length]!;
}

/** Options for {@link checksumTypeScriptSource}. */
export interface TypeScriptChecksumOptions {
  /**
   * Hash the migration's `description` too, as releases before it was left out did. Only to compute
   * an entry's `legacyChecksum`, so databases those releases migrated still match. Default `false`.
   */
  readonly legacyDescription?: boolean;
  /**
   * Hash every stepwise entry's specifier as written (under the package's first name, see
   * {@link packageSpecifierDetail}), as releases before {@link isFoldedPackageSpecifier} did. Only for
   * an entry's `legacyChecksum`. Default `false`.
   */
  readonly rawPackageSpecifiers?: boolean;
}

/** A TypeScript file's checksum, and the ones earlier releases computed for the same source. */
export interface TypeScriptChecksumForms {
  readonly checksum: string;
  /**
   * What earlier releases computed: every stepwise entry's specifier hashed as written, and, for a
   * migration with a `description`, also that description. Each may equal `checksum`.
   */
  readonly earlierChecksums: readonly string[];
}

/**
 * {@link checksumTypeScriptSource}, and its earlier forms: a pass per form that can differ, so a file
 * with no description and no stepwise entry import pays for one pass.
 *
 * @param hashedDescription - the file is a migration with a `description`, which earlier releases hashed.
 */
export function checksumTypeScriptForms(sourceFile: ts.SourceFile, hashedDescription: boolean): TypeScriptChecksumForms {
  const checksum = checksumTypeScriptSource(sourceFile);
  const asWritten = foldsPackageSpecifier(sourceFile) ? checksumTypeScriptSource(sourceFile, { rawPackageSpecifiers: true }) : checksum;
  const described = hashedDescription ? checksumTypeScriptSource(sourceFile, { legacyDescription: true, rawPackageSpecifiers: true }) : asWritten;
  return { checksum, earlierChecksums: [...new Set([asWritten, described])] };
}

/**
 * The package's name when every checksum recorded so far was taken. Frozen: a specifier naming the
 * package under any of its names hashes as it would have been written then.
 */
const HASHED_PACKAGE_NAME = "stepwise";

/**
 * What a folded stepwise specifier hashes as: the root entry's name, as every checksum before entries
 * were folded recorded it. Frozen: renaming the package must not move a checksum.
 */
const CANONICAL_PACKAGE_SPECIFIER = HASHED_PACKAGE_NAME;

/**
 * How a module specifier that names the package (under any of {@link PACKAGE_NAMES}) hashes: spelled
 * under {@link HASHED_PACKAGE_NAME}, so `stepwise-migrate/pg` hashes as `stepwise-migrate/pg` did and renaming
 * the import moves no checksum, earlier forms included; the entry it names still counts. `null` for
 * any other node, which hashes by {@link nodeDetail}.
 */
function packageSpecifierDetail(node: ts.Node): string | null {
  if (!ts.isStringLiteral(node) || !isModuleSpecifier(node)) return null;
  const subpath = packageSubpathOf(node.text);
  if (subpath === null) return null;
  return JSON.stringify(subpath === "" ? HASHED_PACKAGE_NAME : `${HASHED_PACKAGE_NAME}/${subpath}`);
}

/** Whether a string literal is where a module is named: an import or export's `from`, `import("…")` in code or types, `import x = require("…")`. */
function isModuleSpecifier(node: ts.StringLiteral): boolean {
  const parent = node.parent;
  if ((ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent)) && parent.moduleSpecifier === node) return true;
  if (ts.isExternalModuleReference(parent)) return true;
  if (ts.isLiteralTypeNode(parent)) return ts.isImportTypeNode(parent.parent);
  return ts.isCallExpression(parent) && parent.expression.kind === ts.SyntaxKind.ImportKeyword && parent.arguments[0] === node;
}

/**
 * A module specifier that names which stepwise entry a file imports from, where that changes nothing
 * the code does: a stepwise entry (under any of the package's names) in an import that binds, at run
 * time, only `defineMigration` (every entry's returns its argument) and otherwise types, or in a
 * type-only `import("…")`. Such a specifier hashes as {@link CANONICAL_PACKAGE_SPECIFIER}, so moving
 * `defineMigration` to a driver's entry, or the package to its next name, moves no checksum; an
 * entry's other values (each driver's `MigrationManager`) differ, so their specifier counts.
 */
export function isFoldedPackageSpecifier(node: ts.Node): boolean {
  if (!ts.isStringLiteral(node) || !isDefineMigrationSource(node.text)) return false;
  const parent = node.parent;
  if (ts.isLiteralTypeNode(parent)) return ts.isImportTypeNode(parent.parent);
  if (!ts.isImportDeclaration(parent) || parent.moduleSpecifier !== node) return false;
  const clause = parent.importClause;
  if (clause === undefined) return false;
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined || clause.namedBindings === undefined || !ts.isNamedImports(clause.namedBindings)) return false;
  return clause.namedBindings.elements.every((element) => element.isTypeOnly || (element.propertyName ?? element.name).text === "defineMigration");
}

/** Whether a folded specifier ({@link isFoldedPackageSpecifier}) is written as anything but the canonical one. */
function foldsPackageSpecifier(sourceFile: ts.SourceFile): boolean {
  // Most files name no entry at all; they skip the walk. The root under any name hashes as the canonical one.
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

/**
 * The `description: "…"` property of the object a file default-exports through `defineMigration`,
 * with a literal value, the only kind `gen` accepts (TS_NON_LITERAL_OPTION). Anywhere else (a row a
 * migration inserts, an object in a helper) a `description` is data and stays in the checksum.
 */
export function isMigrationDescription(node: ts.Node): boolean {
  if (!ts.isPropertyAssignment(node)) return false;
  const name = node.name;
  if (!(ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) || name.text !== "description") return false;
  const value = skipWrappers(node.initializer);
  if (!ts.isStringLiteral(value) && !ts.isNoSubstitutionTemplateLiteral(value)) return false;
  const argument = outermostWrapper(node.parent);
  const call = argument.parent;
  if (!call || !ts.isCallExpression(call) || call.arguments[0] !== argument || !ts.isIdentifier(call.expression) || call.expression.text !== "defineMigration") return false;
  const exported = outermostWrapper(call).parent;
  return exported !== undefined && ts.isExportAssignment(exported) && !exported.isExportEquals;
}

/** The wrappers `gen` reads through (`unwrapParentheses`): parentheses, `as` and `satisfies`. */
function isWrapper(node: ts.Node): node is ts.ParenthesizedExpression | ts.AsExpression | ts.SatisfiesExpression {
  return ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node);
}

function skipWrappers(node: ts.Expression): ts.Expression {
  let current = node;
  while (isWrapper(current)) current = current.expression;
  return current;
}

function outermostWrapper(node: ts.Node): ts.Node {
  let current = node;
  while (current.parent !== undefined && isWrapper(current.parent)) current = current.parent;
  return current;
}

/**
 * The checksum of a TypeScript migration, taken over its syntax tree rather than its text.
 *
 * The tree already drops what formatting changes: whitespace, comments, semicolons and trailing
 * commas. On top of that, parentheses around expressions and types are skipped (the tree's shape
 * already encodes precedence, and prettier drops the redundant ones), strings are compared by value (so quote style does not matter), numbers by numeric
 * value, and quoted property names like identifiers, which covers what prettier rewrites.
 *
 * Where that would let two programs that run differently meet, a little more is kept, and only
 * there, so every other checksum stays as it was: parentheses that end an optional chain, an empty
 * then-branch before `else`, which optional slot a child fills where that is ambiguous, a tagged
 * template's raw text, and whether a prologue string is exactly the `"use strict"` directive.
 */
export function checksumTypeScriptSource(sourceFile: ts.SourceFile, options: TypeScriptChecksumOptions = {}): string {
  const parts: string[] = [];
  const visit = (node: ts.Node): void => {
    // Skipped whole, the property's name and comma included, so where it sits among the others and
    // whether it is there at all do not matter: the description says what the migration does to a
    // reader, it does nothing to the database, as a SQL migration's comment does not.
    if (!options.legacyDescription && isMigrationDescription(node)) return;
    if (ts.isParenthesizedExpression(node) && !isMeaningfulParenthesis(node)) return visit(node.expression);
    if (ts.isParenthesizedTypeNode(node)) return visit(node.type);
    if ((node.kind === ts.SyntaxKind.EmptyStatement && !isEmptyThenBeforeElse(node)) || node.kind === ts.SyntaxKind.SemicolonClassElement) return;
    // A quoted and a bare property name are one name, so both get the same label, not their kinds.
    const key = propertyKey(node);
    parts.push("(", key === null ? kindName(node.kind) : "PropertyName");
    const detail = key ?? (!options.rawPackageSpecifiers && isFoldedPackageSpecifier(node) ? JSON.stringify(CANONICAL_PACKAGE_SPECIFIER) : (packageSpecifierDetail(node) ?? nodeDetail(node)));
    if (detail !== null) parts.push(" ", detail);
    const slots = ambiguousSlots(node);
    if (slots !== null) parts.push(" slots:", slots);
    // Nested parentheses around a kept one add nothing.
    if (ts.isParenthesizedExpression(node)) visit(withoutParentheses(node.expression));
    else ts.forEachChild(node, visit);
    parts.push(")");
  };
  visit(sourceFile);
  return hashCanonicalMigration("ts", parts.join(""));
}

/**
 * Parentheses are dropped because the tree encodes precedence, except where they change what runs:
 * `(a?.b).c` ends the optional chain (it throws when `a` is nullish, `a?.b.c` does not), and
 * `("use strict")` is an expression, not a directive. Only those keep a node, so every other
 * checksum stays as it was.
 */
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
  return ts.isStringLiteral(inner) && inner.text === USE_STRICT && isPrologueStatement(node.parent);
}

const USE_STRICT = "use strict";

function withoutParentheses(node: ts.Expression): ts.Expression {
  let current = node;
  while (ts.isParenthesizedExpression(current)) current = current.expression;
  return current;
}

/** Whether `node` is an expression statement among the leading string statements of a script or function body. */
function isPrologueStatement(node: ts.Node): boolean {
  if (!ts.isExpressionStatement(node)) return false;
  const list = node.parent;
  const isBody = ts.isSourceFile(list) || (ts.isBlock(list) && ts.isFunctionLike(list.parent));
  if (!isBody) return false;
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
 * Which optional child slots are filled, for the node kinds where the children alone could fit more
 * than one set of slots: `for (i = 0; i < 2; )` against `for (i = 0; ; i < 2)`, `{ a: b }` against
 * `{ a = b }`. `null` (no label) wherever the children are unambiguous, so those checksums do not move.
 */
function ambiguousSlots(node: ts.Node): string | null {
  if (ts.isForStatement(node)) {
    const expressionSlots = [node.initializer && !ts.isVariableDeclarationList(node.initializer) ? node.initializer : undefined, node.condition, node.incrementor];
    const missing = [node.initializer, node.condition, node.incrementor].filter((slot) => slot === undefined).length;
    const presentExpressions = expressionSlots.filter((slot) => slot !== undefined).length;
    if (missing === 0 || presentExpressions === 0) return null;
    // Each ambiguous shape has one unlabelled reading, the one with no condition and an incrementor
    // (`for (let i = 0; ; i += step)`, the common form), so those checksums do not move either.
    if (node.condition === undefined && node.incrementor !== undefined) return null;
    return [node.initializer ? "init" : "", node.condition ? "cond" : "", node.incrementor ? "incr" : ""].join(",");
  }
  // A renamed binding and a defaulted one both have two children; only the default without a rename
  // is labelled, so `{ a: b }` keeps its checksum.
  if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent) && node.propertyName === undefined && node.initializer !== undefined) return "name,default";
  // Type-level, but labelled all the same: `<T extends U>` and `<T = U>` are different declarations.
  if (ts.isTypeParameterDeclaration(node) && node.constraint === undefined && node.default !== undefined) return "name,default";
  if (ts.isMappedTypeNode(node) && node.nameType !== undefined && node.type === undefined) return "as";
  return null;
}

/**
 * `ts.SyntaxKind[kind]` can answer with a range marker such as "FirstStatement" instead of the real
 * name, and markers move between TypeScript versions; a checksum must not.
 */
const KIND_NAMES: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(ts.SyntaxKind)) {
    if (typeof value === "number" && !/^(First|Last)[A-Z]/.test(name) && !names.has(value)) names.set(value, name);
  }
  return names;
})();

function kindName(kind: ts.SyntaxKind): string {
  return KIND_NAMES.get(kind) ?? String(kind);
}

/** `key:"name"` for a property name written bare, quoted or as a number; `null` for anything else. */
function propertyKey(node: ts.Node): string | null {
  const parent = node.parent as (ts.Node & { name?: ts.Node }) | undefined;
  const isPropertyName =
    parent !== undefined &&
    parent.name === node &&
    (ts.isPropertyAssignment(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isMethodSignature(parent) ||
      ts.isGetAccessor(parent) ||
      ts.isSetAccessor(parent) ||
      ts.isEnumMember(parent));
  if (isPropertyName && (ts.isIdentifier(node) || ts.isStringLiteral(node) || ts.isNumericLiteral(node))) {
    return `key:${JSON.stringify(ts.isNumericLiteral(node) ? String(Number(node.text)) : node.text)}`;
  }
  return null;
}

/** The part of a node its kind and children do not capture. */
function nodeDetail(node: ts.Node): string | null {
  if (ts.isNumericLiteral(node)) return String(Number(node.text.replace(/_/g, "")));
  if (ts.isBigIntLiteral(node)) return node.text.replace(/_/g, "").toLowerCase();
  if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) return node.text;
  if (ts.isNoSubstitutionTemplateLiteral(node) && ts.isTaggedTemplateExpression(node.parent) && node.rawText !== undefined && node.rawText !== node.text) {
    // The tag reads the raw text (String.raw sees `\n` as two characters); labelled only where raw
    // and cooked differ, so a plain tagged template keeps its checksum.
    return `raw:${JSON.stringify(node.rawText)}`;
  }
  if (ts.isStringLiteral(node) && node.text === USE_STRICT && isPrologueStatement(node.parent) && node.getText().slice(1, -1) !== USE_STRICT) {
    // Only the exact text `"use strict"` is a directive; `"use\x20strict"` has the value and not the effect.
    return `not-a-directive:${JSON.stringify(node.text)}`;
  }
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isRegularExpressionLiteral(node) || ts.isJsxText(node)) {
    return JSON.stringify(node.text);
  }
  if (ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) return JSON.stringify(node.rawText ?? node.text);
  if (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) return kindName(node.operator);
  if (ts.isTypeOperatorNode(node)) return kindName(node.operator);
  if (ts.isHeritageClause(node)) return kindName(node.token);
  if (ts.isMetaProperty(node)) return kindName(node.keywordToken);
  if (ts.isVariableDeclarationList(node)) return String(node.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const | ts.NodeFlags.Using | ts.NodeFlags.AwaitUsing));
  if (ts.isImportClause(node) || ts.isImportEqualsDeclaration(node) || ts.isExportDeclaration(node) || ts.isImportSpecifier(node) || ts.isExportSpecifier(node)) {
    return node.isTypeOnly ? "type" : null;
  }
  if (ts.isExportAssignment(node)) return node.isExportEquals ? "=" : null;
  if (ts.isImportTypeNode(node)) return node.isTypeOf ? "typeof" : null;
  return null;
}

/**
 * Where a migration may take `defineMigration` from. Codegen reads the call without running it, so
 * it must be the function whose rules codegen checks: the root entry's (`db` generic) or a driver
 * entry's (`db` typed as that driver's connection). Anything else of that name could do anything.
 * These are the package entries that export `defineMigration`; `test/codegen-define-migration.test.ts` holds this
 * to package.json's `exports`. The same entries under the package's next name are accepted too.
 */
export const DEFINE_MIGRATION_SOURCES: readonly string[] = [entrySpecifier(null), ...DRIVER_ENTRIES.map(entrySpecifier)];

/** An import that binds the name `defineMigration` to something other than a stepwise entry's `defineMigration`. */
interface ForeignDefineMigration {
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
function findForeignDefineMigration(sourceFile: SourceFile): ForeignDefineMigration | null {
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
function describeForeignDefineMigration(found: ForeignDefineMigration): string {
  const what = found.importedName === "defineMigration" ? `defineMigration is imported from "${found.source}"` : `"${found.importedName}" of "${found.source}" is imported as defineMigration`;
  return `${what}, so codegen cannot know what the call does; write import { defineMigration } from "${DEFINE_MIGRATION_SOURCES[0]}" (or from your driver's entry: ${DEFINE_MIGRATION_SOURCES.slice(1)
    .map((s) => `"${s}"`)
    .join(", ")})`;
}

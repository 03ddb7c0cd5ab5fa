/**
 * Reads a TypeScript migration without running it: its `defineMigration({...})` options, whether it has a `down` and is async, and its checksum; anything codegen cannot read that way is a problem.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { Project, ts, type Node as MorphNode, type SourceFile, type Type } from "ts-morph";
import type { SqlDialect } from "../src/core/types.js";
import { DRIVER_ENTRIES, entrySpecifier, isDefineMigrationSource } from "../src/shared/package-name.js";
import { TEMPLATE_PLACEHOLDER } from "../src/shared/sql-markers.js";
import { closestName, type Problem, type ProblemCode } from "./problems.js";
import { checksumTypeScriptForms, findRawNul, unwrapExpression } from "./ts-checksum.js";
import { preorder } from "./ts-walk.js";

/** The stepwise entries that export `defineMigration`, whose rules codegen checks without running the call (held to package.json's `exports` by a test). */
export const DEFINE_MIGRATION_SOURCES: readonly string[] = [entrySpecifier(null), ...DRIVER_ENTRIES.map(entrySpecifier)];

const KNOWN_PROPERTIES = ["description", "up", "down", "transaction", "disableForeignKeys"] as const;
type KnownProperty = (typeof KNOWN_PROPERTIES)[number];
/** Records a problem at a node or a position; returns `null`, so a refusal is one `return report(...)`. */
type Report = (code: ProblemCode, at: ts.Node | number, message: string) => null;
type FunctionLike = ts.FunctionLikeDeclaration;

/**
 * Validates a parsed migration (LF, no BOM): its options, whether it has a `down`, whether it is async (declared so, typed to return a promise, or returning one by `returnsThenable`, the type
 * checker), and its checksums (`earlierChecksums`: see {@link checksumTypeScriptForms}); or every problem found.
 */
export function analyzeTsMigration(sourceFile: ts.SourceFile, file: string, dialect: SqlDialect, returnsThenable: (fn: FunctionLike) => boolean) {
  const problems: Problem[] = [];
  const failed = () => ({ ok: false as const, problems });
  const report: Report = (code, at, message) => {
    const { line, character } = sourceFile.getLineAndCharacterOfPosition(typeof at === "number" ? at : at.getStart(sourceFile));
    problems.push({ code, file, line: line + 1, column: character + 1, message });
    return null;
  };
  reportTemplatePlaceholders(sourceFile, report);
  if (problems.length > 0) return failed();
  problems.push(...syntaxErrorsOf(sourceFile, file, "syntax error"));
  if (problems.length > 0) return failed();
  const nul = findRawNul(sourceFile.text, file);
  if (nul) return { ok: false as const, problems: [nul] };
  const definition = findDefinition(sourceFile, report);
  if (definition === null) return failed();

  const found = readProperties(definition, sourceFile, report);
  const [up, down] = [found.get("up"), found.get("down")];
  if (!up) report("TS_MISSING_UP", definition, `the migration has no "up"; add up(db) { ... }`);
  const functions = [up && checkMigrationFunction(up, "up", sourceFile, report), down && checkMigrationFunction(down, "down", sourceFile, report)];
  const description = readLiteral(found.get("description"), "string", sourceFile, report);
  const transaction = readLiteral(found.get("transaction"), "boolean", sourceFile, report) !== false;
  const disableForeignKeys = readLiteral(found.get("disableForeignKeys"), "boolean", sourceFile, report) === true;
  const flag = found.get("disableForeignKeys")!;
  if (disableForeignKeys && !transaction) {
    report("FOREIGN_KEYS_WITHOUT_TRANSACTION", flag, "disableForeignKeys needs a transaction, so a foreign key violation can be rolled back; remove transaction: false");
  } else if (disableForeignKeys && dialect === "postgres") {
    const message = `"disableForeignKeys: true" is SQLite's PRAGMA foreign_keys, which PostgreSQL does not have; remove it, and declare the constraints DEFERRABLE and run SET CONSTRAINTS ALL DEFERRED in the migration if rows must break them until it commits`;
    report("FOREIGN_KEYS_FLAG_UNSUPPORTED", flag, message);
  }
  if (transaction && !disableForeignKeys) for (const fn of functions) if (fn) reportForeignKeysPragmas(fn, sourceFile, report);
  if (problems.length > 0) return failed();
  const { checksum, earlierChecksums } = checksumTypeScriptForms(sourceFile, description !== undefined);
  const isAsync = functions.some((fn) => fn && isAsyncFunction(fn, sourceFile, returnsThenable));
  return {
    ok: true as const,
    facts: { description: typeof description === "string" ? description : null, transaction, disableForeignKeys, reversible: down !== undefined, async: isAsync, checksum, earlierChecksums },
  };
}

/** TypeScript as gen reads it: without a BOM, with LF line breaks. */
export function parseTypeScript(absolutePath: string, source: string, kind = ts.ScriptKind.TS): ts.SourceFile {
  return ts.createSourceFile(absolutePath, source.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n"), ts.ScriptTarget.Latest, true, kind);
}

/** A source file's syntax errors, which the parser keeps without a program, each a `TS_SYNTAX_ERROR` whose message starts with `what`. */
export function syntaxErrorsOf(sourceFile: ts.SourceFile, file: string, what: string): Problem[] {
  return ((sourceFile as unknown as { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics ?? []).map((diagnostic) => {
    const { line, character } = sourceFile.getLineAndCharacterOfPosition(diagnostic.start);
    return { code: "TS_SYNTAX_ERROR", file, line: line + 1, column: character + 1, message: `${what}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}` };
  });
}

/** One `TEMPLATE_UNEDITED` per comment (not string: that is data) that still holds `create`'s placeholder, naming the method it sits in. */
function reportTemplatePlaceholders(sourceFile: ts.SourceFile, report: Report): void {
  const text = sourceFile.getFullText();
  const seen = new Set<number>();
  // On a stack of its own, each node with the method it sits in (see ts-walk.ts).
  const pending: [ts.Node, string | null][] = [[sourceFile, null]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, method] = next;
    const isMethod = (ts.isMethodDeclaration(node) || ts.isPropertyAssignment(node)) && ts.isIdentifier(node.name) && (node.name.text === "up" || node.name.text === "down");
    const name = isMethod ? (node.name as ts.Identifier).text : method;
    // Every comment is trivia around some token; trailing ranges catch `up(db) { // …`, which leading ranges skip.
    for (const range of [...(ts.getLeadingCommentRanges(text, node.pos) ?? []), ...(ts.getTrailingCommentRanges(text, node.end) ?? [])]) {
      if (seen.has(range.pos) || !text.slice(range.pos, range.end).includes(TEMPLATE_PLACEHOLDER)) continue;
      seen.add(range.pos);
      const fix =
        name === "down"
          ? "write the code that undoes the migration in down (or delete down to make the migration irreversible), then delete this comment"
          : "write the migration's code in up, then delete this comment";
      report("TEMPLATE_UNEDITED", range.pos, `this is still the placeholder "stepwise create" wrote (${TEMPLATE_PLACEHOLDER}); ${fix}`);
    }
    const children = node.getChildren(sourceFile);
    for (let i = children.length - 1; i >= 0; i--) pending.push([children[i]!, name]);
  }
}

/** The object literal of the file's one default export `defineMigration({ ... })`, or `null` once what stands in its way is reported. */
function findDefinition(sourceFile: ts.SourceFile, report: Report): ts.ObjectLiteralExpression | null {
  const defaultExports = sourceFile.statements.flatMap((statement): ts.Node[] => {
    if (ts.isExportAssignment(statement)) return statement.isExportEquals ? [] : [statement];
    if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) return statement.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.DefaultKeyword) ? [statement] : [];
    const clause = ts.isExportDeclaration(statement) ? statement.exportClause : undefined;
    return clause && ts.isNamedExports(clause) ? clause.elements.filter((specifier) => specifier.name.text === "default") : [];
  });
  if (defaultExports.length === 0) return report("TS_NO_DEFAULT_EXPORT", 0, `no default export; write "export default defineMigration({ up(db) { ... } })"`);
  for (const extra of defaultExports.slice(1)) report("TS_MULTIPLE_DEFAULT_EXPORTS", extra, "a second default export; a migration file has exactly one");
  if (defaultExports.length > 1) return null;
  const exported = defaultExports[0]!;
  const call = ts.isExportAssignment(exported) ? unwrapExpression(exported.expression) : undefined;
  if (!call || !ts.isCallExpression(call) || !ts.isIdentifier(call.expression) || call.expression.text !== "defineMigration") {
    const message = `the default export must be "defineMigration({ ... })", imported from "${entrySpecifier(null)}" or your driver's entry ("${entrySpecifier("better-sqlite3")}", "${entrySpecifier("pg")}"…), so codegen can read it without running it`;
    return report("TS_NOT_DEFINE_MIGRATION", exported, message);
  }
  if (reportForeignDefineMigration(sourceFile, call, report)) return null;
  const [argument, ...extraArguments] = call.arguments;
  const definition = argument && unwrapExpression(argument);
  if (definition && ts.isObjectLiteralExpression(definition) && extraArguments.length === 0) return definition;
  return report("TS_NOT_OBJECT_LITERAL", argument ?? call, `defineMigration takes one object literal, written in place: defineMigration({ up(db) { ... } })`);
}

/**
 * Reports a `defineMigration` that is not a stepwise entry's: imported from elsewhere or under another name, declared in the file, or not imported at all. What gen records
 * (reversible, async, transaction) is read from the literal, so it holds only when the call is the entry's, which returns the literal as it is.
 */
function reportForeignDefineMigration(sourceFile: ts.SourceFile, call: ts.CallExpression, report: Report): boolean {
  const [root, ...drivers] = DEFINE_MIGRATION_SOURCES;
  const fix = `write import { defineMigration } from "${root}" (or from your driver's entry: "${drivers.join('", "')}")`;
  let imported = false;
  for (const declaration of sourceFile.statements) {
    if (!ts.isImportDeclaration(declaration) || !ts.isStringLiteral(declaration.moduleSpecifier)) continue;
    const source = declaration.moduleSpecifier.text;
    const clause = declaration.importClause;
    const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : [];
    const bindings = [
      ...(clause?.name?.text === "defineMigration" ? [{ node: clause.name as ts.Node, importedName: "default", typeOnly: false }] : []),
      ...named
        .filter((specifier) => specifier.name.text === "defineMigration")
        .map((specifier) => ({ node: specifier as ts.Node, importedName: (specifier.propertyName ?? specifier.name).text, typeOnly: specifier.isTypeOnly })),
    ];
    for (const { node, importedName, typeOnly } of bindings) {
      // A type-only import (`import type`, `import { type … }`) binds no value.
      if (isDefineMigrationSource(source) && importedName === "defineMigration" && !clause?.isTypeOnly && !typeOnly) {
        imported = true;
        continue;
      }
      const what = importedName === "defineMigration" ? `defineMigration is imported from "${source}"` : `"${importedName}" of "${source}" is imported as defineMigration`;
      report("TS_DEFINE_MIGRATION_SOURCE", isDefineMigrationSource(source) ? node : declaration.moduleSpecifier, `${what}, so codegen cannot know what the call does; ${fix}`);
      return true;
    }
  }
  if (imported) return false;
  report(
    "TS_DEFINE_MIGRATION_SOURCE",
    call.expression,
    `defineMigration is not imported from stepwise (this file declares its own, or imports none), so codegen cannot know what the call does; ${fix}`,
  );
  return true;
}

/** The definition's properties by name; one codegen cannot read, does not know or sees twice is reported instead. */
function readProperties(definition: ts.ObjectLiteralExpression, sourceFile: ts.SourceFile, report: Report): Map<KnownProperty, ts.ObjectLiteralElementLike> {
  const found = new Map<KnownProperty, ts.ObjectLiteralElementLike>();
  for (const property of definition.properties) {
    const nameNode = ts.isSpreadAssignment(property) || ts.isGetAccessor(property) || ts.isSetAccessor(property) ? null : property.name;
    const name = nameNode === null || ts.isComputedPropertyName(nameNode) ? null : ts.isStringLiteral(nameNode) ? nameNode.text : nameNode.getText(sourceFile);
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

/** Reports each string in a migration function that sets PRAGMA foreign_keys, which a transaction ignores. */
function reportForeignKeysPragmas(fn: FunctionLike, sourceFile: ts.SourceFile, report: Report): void {
  for (const node of preorder(fn)) {
    const isText = ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node);
    if (isText && /\bPRAGMA\s+(?:\w+\.)?foreign_keys\b|^\s*foreign_keys\s*=/i.test(node.getText(sourceFile).slice(1))) {
      const message =
        "PRAGMA foreign_keys does nothing inside a transaction; remove it and set disableForeignKeys: true, which turns enforcement off around the migration and checks the keys before commit";
      report("FOREIGN_KEYS_PRAGMA_IN_TRANSACTION", node, message);
    }
  }
}

/** The function behind `up` or `down` (written in place, or declared in this file), or `null` once reported. */
function checkMigrationFunction(property: ts.ObjectLiteralElementLike, which: "up" | "down", sourceFile: ts.SourceFile, report: Report): FunctionLike | null {
  const fn = resolveFunction(property, sourceFile);
  if (typeof fn === "string") {
    return report(
      "TS_NOT_A_FUNCTION",
      property,
      `"${which}" refers to ${fn}, so the function that runs may not be the one codegen reads; declare it once, with const or function, and never assign it`,
    );
  }
  if (!fn) return report("TS_NOT_A_FUNCTION", property, `"${which}" must be a function: write ${which}(db) { ... }, or refer to a function declared in this file`);
  // The compiled file keeps no ambient declaration and no signature without a body: nothing would define the name when the migration runs.
  if (isAmbient(fn)) {
    return report("TS_NOT_A_FUNCTION", property, `"${which}" names a "declare" declaration, which the compiled file drops, so nothing defines it when the migration runs; write the function itself`);
  }
  if (fn.body === undefined) {
    return report(
      "TS_NOT_A_FUNCTION",
      property,
      `"${which}" has no body (a signature only, such as overloads without their implementation), so nothing defines it when the migration runs; write its body`,
    );
  }
  if (fn.asteriskToken) return report("TS_NOT_A_FUNCTION", property, `"${which}" is a generator, which would run nothing when called; make it a plain function`);
  return fn;
}

/** Whether `node` is part of a `declare` statement, which TypeScript's output leaves out. */
function isAmbient(node: ts.Node): boolean {
  for (let at: ts.Node | undefined = node; at !== undefined; at = at.parent) {
    if (ts.canHaveModifiers(at) && ts.getModifiers(at)?.some((modifier) => modifier.kind === ts.SyntaxKind.DeclareKeyword)) return true;
  }
  return false;
}

/** Declared `async`, annotated to return a promise, or (by the type checker) returning one. */
function isAsyncFunction(fn: FunctionLike, sourceFile: ts.SourceFile, returnsThenable: (fn: FunctionLike) => boolean): boolean {
  if (fn.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.AsyncKeyword)) return true;
  // The usual annotations settle it without a type check; anything else is what the checker makes of it.
  const returnType = fn.type?.getText(sourceFile);
  if (returnType !== undefined && /^(Promise|PromiseLike)\b/.test(returnType)) return true;
  return returnType !== "void" && returnsValue(fn) && returnsThenable(fn);
}

/** An arrow with an expression body, or a `return` with a value outside nested functions: only such a function can hand back a promise unannotated. */
function returnsValue(node: FunctionLike): boolean {
  if (node.body === undefined) return false;
  if (!ts.isBlock(node.body)) return true;
  for (const child of preorder(node.body, (child) => !ts.isFunctionLike(child) && !ts.isClassLike(child))) if (ts.isReturnStatement(child) && child.expression !== undefined) return true;
  return false;
}

/**
 * The function behind a property: written in place, or a function declared in this file (an overloaded one by its implementation, whose body and `async` are what runs); a string saying why when
 * the name may hold another function by the time it runs (assigned again, or declared twice with `var`).
 */
function resolveFunction(property: ts.ObjectLiteralElementLike, sourceFile: ts.SourceFile): FunctionLike | string | undefined {
  if (ts.isMethodDeclaration(property)) return property;
  const value = ts.isPropertyAssignment(property) ? unwrapExpression(property.initializer) : ts.isShorthandPropertyAssignment(property) ? property.name : undefined;
  const isFunction = (node: ts.Node | undefined): node is ts.ArrowFunction | ts.FunctionExpression => node !== undefined && (ts.isArrowFunction(node) || ts.isFunctionExpression(node));
  if (isFunction(value)) return value;
  if (!value || !ts.isIdentifier(value)) return undefined;
  const name = value.text;
  const declared = sourceFile.statements.filter((statement): statement is ts.FunctionDeclaration => ts.isFunctionDeclaration(statement) && statement.name?.text === name);
  const variables = sourceFile.statements
    .flatMap((statement) => (ts.isVariableStatement(statement) ? statement.declarationList.declarations : []))
    .filter((declaration) => ts.isIdentifier(declaration.name) && declaration.name.text === name);
  if (variables.length > 1) return `"${name}", declared ${variables.length} times (the last declaration is the one that runs)`;
  if (declared.length + variables.length > 0 && isAssignedIn(sourceFile, name)) return `"${name}", which this file assigns again`;
  // Overload signatures have no body, and a `declare function` is dropped: the implementation is the function that runs.
  if (declared.length > 0) return declared.find((declaration) => declaration.body !== undefined && !isAmbient(declaration)) ?? declared[0];
  const initializer = variables[0]?.initializer && unwrapExpression(variables[0].initializer);
  return isFunction(initializer) ? initializer : undefined;
}

/** Whether `name` is the target of an assignment anywhere in the file (`=`, `+=`…, `++`, destructuring, `for (name of …)`); nested scopes are not told apart, so a shadowing variable counts too. */
function isAssignedIn(sourceFile: ts.SourceFile, name: string): boolean {
  const targets = (node: ts.Node): boolean => {
    if (ts.isIdentifier(node)) return node.text === name;
    if (ts.isParenthesizedExpression(node) || ts.isSpreadElement(node) || ts.isSpreadAssignment(node) || ts.isNonNullExpression(node) || ts.isAsExpression(node)) return targets(node.expression);
    if (ts.isArrayLiteralExpression(node)) return node.elements.some(targets);
    if (ts.isObjectLiteralExpression(node)) return node.properties.some(targets);
    if (ts.isShorthandPropertyAssignment(node)) return node.name.text === name;
    if (ts.isPropertyAssignment(node)) return targets(node.initializer);
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken) return targets(node.left);
    return false;
  };
  const assigns = (node: ts.Node): boolean => {
    const increments = (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) && (node.operator === ts.SyntaxKind.PlusPlusToken || node.operator === ts.SyntaxKind.MinusMinusToken);
    if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment) return targets(node.left);
    if (increments) return targets(node.operand);
    return (ts.isForInStatement(node) || ts.isForOfStatement(node)) && !ts.isVariableDeclarationList(node.initializer) && targets(node.initializer);
  };
  for (const node of preorder(sourceFile)) if (assigns(node)) return true;
  return false;
}

/** The literal value of an option; `undefined` when absent, `null` when not a literal of `type`. */
function readLiteral(property: ts.ObjectLiteralElementLike | undefined, type: "string" | "boolean", sourceFile: ts.SourceFile, report: Report): string | boolean | null | undefined {
  if (!property) return undefined;
  const value = ts.isPropertyAssignment(property) ? unwrapExpression(property.initializer) : undefined;
  if (value && type === "string" && (ts.isStringLiteral(value) || ts.isNoSubstitutionTemplateLiteral(value))) return value.text;
  if (value && type === "boolean" && (value.kind === ts.SyntaxKind.TrueKeyword || value.kind === ts.SyntaxKind.FalseKeyword)) return value.kind === ts.SyntaxKind.TrueKeyword;
  const name = (ts.isPropertyAssignment(property) ? property.name : property).getText(sourceFile);
  const expected = type === "string" ? 'string literal, such as "Add an index"' : "literal true or false";
  return report("TS_NON_LITERAL_OPTION", value ?? property, `"${name}" must be a ${expected}, so codegen can read it without running the file`);
}

/** Whether a function returns a thenable, by TypeScript's checker with the project's tsconfig, opened the first time it is needed. */
export function createReturnTypeChecker(projectRoot: string): (absolutePath: string, sourceFile: ts.SourceFile) => (fn: FunctionLike) => boolean {
  let project: Project | null = null;
  const isThenable = (type: Type, at: MorphNode): boolean => {
    if (type.isAny() || type.isUnknown()) return false;
    if (type.isUnion()) return type.getUnionTypes().some((member) => isThenable(member, at));
    const then = type.getProperty("then");
    return then !== undefined && then.getTypeAtLocation(at).getCallSignatures().length > 0;
  };
  // One migration's twin at a time: each new twin makes TypeScript build its program again, and one that kept every earlier twin as a root made that cost grow with each (quadratic in a folder of
  // thousands).
  let twin: { readonly path: string; readonly text: string; readonly file: SourceFile } | null = null;
  return (absolutePath, sourceFile) => (fn) => {
    try {
      const tsConfigFilePath = path.join(projectRoot, "tsconfig.json");
      project ??= existsSync(tsConfigFilePath)
        ? new Project({ tsConfigFilePath, skipAddingFilesFromTsConfig: true, compilerOptions: { noEmit: true, skipLibCheck: true } })
        : new Project({
            compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, noEmit: true },
          });
      const start = fn.getStart(sourceFile);
      if (twin?.path !== absolutePath || twin.text !== sourceFile.text) {
        if (twin !== null && !twin.file.wasForgotten()) project.removeSourceFile(twin.file);
        twin = { path: absolutePath, text: sourceFile.text, file: project.createSourceFile(absolutePath, sourceFile.text, { overwrite: true }) };
      }
      const node = twin.file.getDescendantAtStartWithWidth(start, fn.getEnd() - start);
      const signature = node?.getType().getCallSignatures()[0];
      return signature !== undefined && isThenable(signature.getReturnType(), node!);
    } catch {
      return false;
    }
  };
}

/**
 * Reads the entries of a registry that is already on disk, so `gen --check` can say which migration
 * is new, changed or gone. It parses the file rather than matching text, because the project's
 * prettier config decides quotes and line breaks.
 */
import { ts } from "ts-morph";

/** What `--check` compares for one entry of the registry on disk. */
export interface RecordedEntry {
  readonly file: string;
  readonly checksum: string | null;
  /** `undefined` when the entry has no readable description field. */
  readonly description: string | null | undefined;
  /** 1-based line of the entry in the registry. */
  readonly line: number;
  /**
   * Whether the entry is marked async: `async` among the words of a row's flags, `ASYNC` among the
   * flags of a call (or of a row written before flags were words), or `async: true` in an object
   * literal. Registries written before async migrations have no mark, so theirs read `false`.
   */
  readonly async: boolean;
}

/**
 * The entries of `export const migrations = ...`, keyed by their `file`: rows
 * `[version, kind, checksum, flags, module?]` inside `entries([...])`, their name, file and
 * description read from the `case` of the same version in `sqlOf()` or `tsOf()`; or, from
 * registries written before that shape, calls `sql(version, name, file, description, checksum,
 * flags)` and `ts(..., module)`, or object literals. Entries that cannot be read (a hand-edited or
 * foreign file) are left out; the caller then reports the file as a whole.
 */
export function readRecordedEntries(registrySource: string): Map<string, RecordedEntry> {
  const sourceFile = ts.createSourceFile("registry.ts", registrySource, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const entries = new Map<string, RecordedEntry>();
  for (const statement of sourceFile.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (!ts.isIdentifier(declaration.name) || declaration.name.text !== "migrations" || !declaration.initializer) continue;
      const list = unwrapRowList(unwrapExpression(declaration.initializer));
      if (!ts.isArrayLiteralExpression(list)) continue;
      const details = readDetailCases(sourceFile);
      for (const element of list.elements) {
        const fields = ts.isObjectLiteralExpression(element)
          ? readLiteralFields(element)
          : ts.isCallExpression(element)
            ? readCallFields(element)
            : ts.isArrayLiteralExpression(element)
              ? readRowFields(element, details)
              : null;
        if (fields === null) continue;
        const file = fields.get("file");
        if (typeof file !== "string") continue;
        const checksum = fields.get("checksum");
        entries.set(file, {
          file,
          checksum: typeof checksum === "string" ? checksum : null,
          description: fields.has("description") ? (fields.get("description") as string | null) : undefined,
          line: sourceFile.getLineAndCharacterOfPosition(element.getStart(sourceFile)).line + 1,
          async: ts.isObjectLiteralExpression(element) ? hasTrueProperty(element, "async") : (ts.isCallExpression(element) || ts.isArrayLiteralExpression(element)) && flagsName(element, "async"),
        });
      }
    }
  }
  return entries;
}

/**
 * The dialect a registry on disk records (`export const dialect = "postgres"`), or `null` when it
 * records none: a registry written before dialects, which is sqlite, or a file that is no registry.
 */
export function readRecordedDialect(registrySource: string): string | null {
  const sourceFile = ts.createSourceFile("registry.ts", registrySource, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  for (const statement of sourceFile.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (!ts.isIdentifier(declaration.name) || declaration.name.text !== "dialect" || !declaration.initializer) continue;
      const value = unwrapExpression(declaration.initializer);
      if (ts.isStringLiteral(value) || ts.isNoSubstitutionTemplateLiteral(value)) return value.text;
    }
  }
  return null;
}

/** The positions of `sql(...)` and `ts(...)` arguments, as `codegen/render.ts` writes them. */
const CALL_FIELDS = ["version", "name", "file", "description", "checksum"] as const;

function readCallFields(call: ts.CallExpression): Map<string, string | null> {
  const fields = new Map<string, string | null>();
  CALL_FIELDS.forEach((name, index) => {
    const argument = call.arguments[index];
    if (argument === undefined) return;
    const value = unwrapExpression(argument);
    if (ts.isStringLiteral(value) || ts.isNoSubstitutionTemplateLiteral(value)) fields.set(name, value.text);
    else if (value.kind === ts.SyntaxKind.NullKeyword) fields.set(name, null);
  });
  return fields;
}

/** The position of the flags argument of `sql(...)` and `ts(...)`. */
const FLAGS_INDEX = CALL_FIELDS.length;

/** The positions in a row `[version, kind, checksum, flags, module?]`, as `codegen/render.ts` writes it. */
const ROW = { version: 0, checksum: 2, flags: 3 } as const;

/** The positions in a `case`'s `[name, file, description, ...]` of `sqlOf()` and `tsOf()`. */
const DETAIL_FIELDS = ["name", "file", "description"] as const;

/** `entries([...])` around the rows, as the registry writes it; anything else is returned as it is. */
function unwrapRowList(node: ts.Expression): ts.Expression {
  if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "entries" && node.arguments.length === 1) {
    return unwrapExpression(node.arguments[0]!);
  }
  return node;
}

/** The array each `case <version>:` of `sqlOf()` and `tsOf()` returns, by version. */
function readDetailCases(sourceFile: ts.SourceFile): Map<number, ts.ArrayLiteralExpression> {
  const cases = new Map<number, ts.ArrayLiteralExpression>();
  for (const statement of sourceFile.statements) {
    if (!ts.isFunctionDeclaration(statement) || !statement.body || (statement.name?.text !== "sqlOf" && statement.name?.text !== "tsOf")) continue;
    for (const inner of statement.body.statements) {
      if (!ts.isSwitchStatement(inner)) continue;
      for (const clause of inner.caseBlock.clauses) {
        if (!ts.isCaseClause(clause) || !ts.isNumericLiteral(clause.expression)) continue;
        const returned = clause.statements.find(ts.isReturnStatement)?.expression;
        const value = returned === undefined ? undefined : unwrapExpression(returned);
        if (value !== undefined && ts.isArrayLiteralExpression(value)) cases.set(Number(clause.expression.text), value);
      }
    }
  }
  return cases;
}

function readRowFields(row: ts.ArrayLiteralExpression, details: Map<number, ts.ArrayLiteralExpression>): Map<string, string | null> {
  const fields = new Map<string, string | null>();
  const version = row.elements[ROW.version];
  const checksum = row.elements[ROW.checksum];
  if (version === undefined || !ts.isNumericLiteral(version)) return fields;
  if (checksum !== undefined && (ts.isStringLiteral(checksum) || ts.isNoSubstitutionTemplateLiteral(checksum))) fields.set("checksum", checksum.text);
  const detail = details.get(Number(version.text));
  DETAIL_FIELDS.forEach((name, index) => {
    const element = detail?.elements[index];
    if (element === undefined) return;
    const value = unwrapExpression(element);
    if (ts.isStringLiteral(value) || ts.isNoSubstitutionTemplateLiteral(value)) fields.set(name, value.text);
    else if (value.kind === ts.SyntaxKind.NullKeyword) fields.set(name, null);
  });
  return fields;
}

/**
 * Whether the flags of a row or of a call name `flag`: a word of a row's string (`"reversible async"`),
 * or, in the shapes written before, the upper-case constant (`REVERSIBLE | ASYNC`).
 */
function flagsName(call: ts.CallExpression | ts.ArrayLiteralExpression, flag: string): boolean {
  const flags = ts.isCallExpression(call) ? call.arguments[FLAGS_INDEX] : call.elements[ROW.flags];
  if (flags !== undefined && (ts.isStringLiteral(flags) || ts.isNoSubstitutionTemplateLiteral(flags))) return flags.text.split(" ").includes(flag);
  const constant = flag.toUpperCase();
  let found = false;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === constant) found = true;
    else ts.forEachChild(node, visit);
  };
  if (flags !== undefined) visit(flags);
  return found;
}

function hasTrueProperty(object: ts.ObjectLiteralExpression, name: string): boolean {
  return object.properties.some(
    (property) =>
      ts.isPropertyAssignment(property) &&
      (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name)) &&
      property.name.text === name &&
      unwrapExpression(property.initializer).kind === ts.SyntaxKind.TrueKeyword,
  );
}

function readLiteralFields(object: ts.ObjectLiteralExpression): Map<string, string | null> {
  const fields = new Map<string, string | null>();
  for (const property of object.properties) {
    if (!ts.isPropertyAssignment(property)) continue;
    const name = ts.isIdentifier(property.name) || ts.isStringLiteral(property.name) ? property.name.text : undefined;
    if (name === undefined) continue;
    const value = unwrapExpression(property.initializer);
    if (ts.isStringLiteral(value) || ts.isNoSubstitutionTemplateLiteral(value)) fields.set(name, value.text);
    else if (value.kind === ts.SyntaxKind.NullKeyword) fields.set(name, null);
  }
  return fields;
}

function unwrapExpression(node: ts.Expression): ts.Expression {
  let current = node;
  while (ts.isParenthesizedExpression(current) || ts.isAsExpression(current) || ts.isSatisfiesExpression(current)) {
    current = current.expression;
  }
  return current;
}

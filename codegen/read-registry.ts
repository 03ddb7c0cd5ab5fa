/**
 * Reads the registry on disk, so `gen --check` can say which migration is new, changed or gone. It
 * parses rather than matches text, since the project's prettier config decides quotes and breaks.
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
  readonly async: boolean;
}

/** The object literals of `export const migrations = [...]`, keyed by `file`; an entry without a readable `file` is left out. */
export function readRecordedEntries(registrySource: string): Map<string, RecordedEntry> {
  const sourceFile = ts.createSourceFile("registry.ts", registrySource, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const entries = new Map<string, RecordedEntry>();
  const list = readConstant(sourceFile, "migrations");
  if (list === undefined || !ts.isArrayLiteralExpression(list)) return entries;
  for (const element of list.elements) {
    if (!ts.isObjectLiteralExpression(element)) continue;
    const fields = new Map<string, ts.Expression>();
    for (const property of element.properties) {
      if (ts.isPropertyAssignment(property) && (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name))) fields.set(property.name.text, unwrap(property.initializer));
    }
    const file = literalOf(fields.get("file"));
    if (typeof file !== "string") continue;
    const checksum = literalOf(fields.get("checksum"));
    entries.set(file, {
      file,
      checksum: typeof checksum === "string" ? checksum : null,
      description: fields.has("description") ? (literalOf(fields.get("description")) as string | null | undefined) : undefined,
      line: sourceFile.getLineAndCharacterOfPosition(element.getStart(sourceFile)).line + 1,
      async: fields.get("async")?.kind === ts.SyntaxKind.TrueKeyword,
    });
  }
  return entries;
}

/** The dialect a registry records (`export const dialect = "postgres"`), or `null`. */
export function readRecordedDialect(registrySource: string): string | null {
  const value = literalOf(readConstant(ts.createSourceFile("registry.ts", registrySource, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS), "dialect"));
  return typeof value === "string" ? value : null;
}

function readConstant(sourceFile: ts.SourceFile, name: string): ts.Expression | undefined {
  for (const statement of sourceFile.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const declaration = statement.declarationList.declarations.find((each) => ts.isIdentifier(each.name) && each.name.text === name);
    if (declaration?.initializer) return unwrap(declaration.initializer);
  }
  return undefined;
}

/** A string literal's text, `null` for `null`, `undefined` for anything else. */
function literalOf(node: ts.Expression | undefined): string | null | undefined {
  if (node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) return node.text;
  return node?.kind === ts.SyntaxKind.NullKeyword ? null : undefined;
}

function unwrap(node: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) node = node.expression;
  return node;
}

/**
 * Finds `create`'s placeholder comment ({@link TEMPLATE_PLACEHOLDER}) in a TypeScript migration, so an
 * unedited or half-edited template fails `gen` instead of being applied as a no-op and recorded. The
 * SQL half lives in `src/shared/sql-source.ts`, over SQL's own tokens.
 */
import { ts } from "ts-morph";
import { TEMPLATE_PLACEHOLDER } from "../src/shared/sql-markers.js";
import type { Problem } from "./problems.js";

/**
 * One `TEMPLATE_UNEDITED` problem per comment that holds the placeholder, naming the method it sits
 * in. Only comments count: the word in a string or a template literal is the migration's own data.
 */
export function findTsTemplatePlaceholders(sourceFile: ts.SourceFile, file: string): Problem[] {
  const text = sourceFile.getFullText();
  const seen = new Set<number>();
  const problems: Problem[] = [];
  const visit = (node: ts.Node, method: string | null): void => {
    const name = methodName(node) ?? method;
    // A comment is trivia around some token; every token is reached by walking children with tokens.
    // Leading ranges skip a comment on the same line as the token before it (`up(db) { // …`), which
    // is that token's trailing comment, so both are read.
    const ranges = [...(ts.getLeadingCommentRanges(text, node.pos) ?? []), ...(ts.getTrailingCommentRanges(text, node.end) ?? [])];
    for (const range of ranges) {
      if (seen.has(range.pos)) continue;
      seen.add(range.pos);
      if (!text.slice(range.pos, range.end).includes(TEMPLATE_PLACEHOLDER)) continue;
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(range.pos);
      const fix =
        name === "down"
          ? "write the code that undoes the migration in down (or delete down to make the migration irreversible), then delete this comment"
          : "write the migration's code in up, then delete this comment";
      problems.push({ code: "TEMPLATE_UNEDITED", file, line: line + 1, column: character + 1, message: `this is still the placeholder "stepwise create" wrote (${TEMPLATE_PLACEHOLDER}); ${fix}` });
    }
    for (const child of node.getChildren(sourceFile)) visit(child, name);
  };
  visit(sourceFile, null);
  return problems;
}

/** `up`/`down` for `up(db) {…}` and `down: (db) => …`; `null` for any other node. */
function methodName(node: ts.Node): string | null {
  if ((ts.isMethodDeclaration(node) || ts.isPropertyAssignment(node)) && ts.isIdentifier(node.name)) {
    const name = node.name.text;
    return name === "up" || name === "down" ? name : null;
  }
  return null;
}

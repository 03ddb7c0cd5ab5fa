/**
 * A lower bound on what an entry's bundle could shrink to by trimming text and minifying harder,
 * without removing any code path: the bundle with every string and template literal longer than
 * {@link LONGEST_KEPT_LITERAL} characters replaced by `""` (every message, every `fix`, every SQL
 * statement stepwise sends, and the values spliced into them) and then every property name mangled to
 * the shortest esbuild can give (so also the drivers' and the registry's, which breaks it). What is
 * left no longer runs: it measures the code alone, the branches and calls of the algorithm that the
 * entry can reach. If that is over a budget, no rewording of messages, no shorter SQL and no
 * minifier can bring the entry within it; only carrying less of the algorithm can.
 */
import { gzipSync } from "node:zlib";
import { transform } from "esbuild";
import ts from "typescript";
import type { BundleBytes } from "./entry-bundle-sizes.js";

/**
 * Literals up to this many characters, quotes included, are kept: operation names (`"exec"`), keys and
 * short flags, which are code rather than text. Anything longer goes.
 */
export const LONGEST_KEPT_LITERAL = 8;

/**
 * `code` with every string literal longer than `longestKept` characters (quotes included) replaced
 * by `""`, and every such template literal or template expression by an empty template.
 *
 * @example
 * removeLongLiterals('throw new Error(`migration ${v} failed`); op("exec")', 8); // 'throw new Error(``); op("exec")'
 */
export function removeLongLiterals(code: string, longestKept = LONGEST_KEPT_LITERAL): string {
  const source = ts.createSourceFile("bundle.js", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  // A string becomes `""`, a template an empty template: a tagged template stays a tagged template.
  const spans: Array<readonly [number, number, string]> = [];
  const visit = (node: ts.Node): void => {
    const literal = ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node);
    if (literal && node.getWidth(source) > longestKept) {
      spans.push([node.getStart(source), node.getEnd(), ts.isStringLiteral(node) ? '""' : "``"]);
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  let result = "";
  let at = 0;
  for (const [start, end, empty] of spans) {
    result += code.slice(at, start) + empty;
    at = end;
  }
  return result + code.slice(at);
}

/** {@link removeLongLiterals}, then every property renamed and the whole minified again, measured. */
export async function measureCodeOnlyBound(bundle: string): Promise<BundleBytes> {
  const { code } = await transform(removeLongLiterals(bundle), { minify: true, mangleProps: /^[A-Za-z_$]/, format: "esm", target: "es2022", logLevel: "silent" });
  const bytes = Buffer.from(code);
  return { minifiedBytes: bytes.byteLength, gzipBytes: gzipSync(bytes, { level: 9 }).byteLength };
}

/**
 * `npm run docs:errors`: writes docs/errors.md from the error definitions, so the page cannot drift
 * from the code. `npm run docs:errors -- --check` writes nothing and exits 1 when the page is stale.
 *
 * What it reads, all with the TypeScript compiler's parser:
 * - the codes: the members of the unions `StepwiseErrorCode` (src/core/errors.ts), `ProblemCode`
 *   (codegen/problems.ts) and `SqlSourceProblemCode` (src/shared/sql-source.ts);
 * - what each means and its fix: the doc comment written above the member (`Fix:` starts the fix),
 *   and the group it belongs to: the last `// Group: <title>` line above it;
 * - the facts it carries: the fields of its member of `StepwiseErrorDetails` (src/core/errors.ts);
 * - the CLI's exit code: 2 for the codes in `USAGE_EXIT_CODES` (src/cli/report-error.ts), else 1.
 *
 * A code without a comment, or a comment without `Fix:`, is an error: the page is never written with
 * a hole in it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** Where the codes of one kind are defined. */
interface CodeUnion {
  readonly file: string;
  readonly typeName: string;
}

/** The runtime's errors, then gen's problems; a code listed twice in one kind is documented once. */
const ERROR_UNIONS: readonly CodeUnion[] = [{ file: "src/core/errors.ts", typeName: "StepwiseErrorCode" }];
const PROBLEM_UNIONS: readonly CodeUnion[] = [
  { file: "src/shared/sql-source.ts", typeName: "SqlSourceProblemCode" },
  { file: "codegen/problems.ts", typeName: "ProblemCode" },
];

/** One code as its union defines it. */
export interface CodeDefinition {
  readonly code: string;
  /** The union's file, repo-relative. */
  readonly file: string;
  readonly group: string | null;
  readonly meaning: string;
  readonly fix: string;
}

/** A code whose definition has no comment, or whose comment names no fix. */
export class UndocumentedCodeError extends Error {
  constructor(readonly codes: readonly { code: string; file: string; missing: "comment" | "fix" }[]) {
    super(`Every code needs a doc comment above its union member, ending in "Fix: ...":\n${codes.map((c) => `  ${c.file}: ${c.code} (no ${c.missing})`).join("\n")}`);
    this.name = "UndocumentedCodeError";
  }
}

function parse(root: string, file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(path.join(root, file), "utf8"), ts.ScriptTarget.Latest, true);
}

/** The text of a `/** … *\/` comment, without its stars, paragraphs kept. */
function commentText(raw: string): string {
  const body = raw.replace(/^\/\*\*/, "").replace(/\*\/$/, "");
  const lines = body.split("\n").map((line) => line.replace(/^\s*\* ?/, "").trimEnd());
  return lines
    .join("\n")
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/\s*\n\s*/g, " ").trim())
    .filter((paragraph) => paragraph !== "")
    .join("\n\n");
}

/** The members of `union`, each with the comments written between it and the member before. */
function readUnion(root: string, union: CodeUnion, undocumented: { code: string; file: string; missing: "comment" | "fix" }[]): CodeDefinition[] {
  const source = parse(root, union.file);
  const alias = source.statements.find((statement): statement is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(statement) && statement.name.text === union.typeName);
  if (!alias || !ts.isUnionTypeNode(alias.type)) throw new Error(`${union.file} has no union type ${union.typeName}`);
  const text = source.getFullText();
  const definitions: CodeDefinition[] = [];
  let group: string | null = null;
  let previousEnd = alias.type.pos;
  for (const member of alias.type.types) {
    const between = text.slice(previousEnd, member.getStart(source));
    previousEnd = member.end;
    for (const match of between.matchAll(/\/\/ Group: (.+)/g)) group = match[1]!.trim();
    // A member naming another union (`SqlSourceProblemCode`) brings that union's own definitions.
    if (!ts.isLiteralTypeNode(member) || !ts.isStringLiteral(member.literal)) continue;
    const code = member.literal.text;
    const docs = [...between.matchAll(/\/\*\*[\s\S]*?\*\//g)];
    const doc = docs.length > 0 ? commentText(docs[docs.length - 1]![0]) : "";
    const fixAt = doc.search(/(^|\s)Fix: /);
    if (doc === "") undocumented.push({ code, file: union.file, missing: "comment" });
    else if (fixAt < 0) undocumented.push({ code, file: union.file, missing: "fix" });
    const meaning = fixAt < 0 ? doc : doc.slice(0, fixAt).trim();
    const fix =
      fixAt < 0
        ? ""
        : doc
            .slice(fixAt)
            .trim()
            .replace(/^Fix: /, "");
    definitions.push({ code, file: union.file, group, meaning, fix });
  }
  return definitions;
}

/** Every code of `unions`, in their order; a code defined in two of them once, where it is documented. */
function readUnions(root: string, unions: readonly CodeUnion[], undocumented: { code: string; file: string; missing: "comment" | "fix" }[]): CodeDefinition[] {
  const byCode = new Map<string, CodeDefinition>();
  const missing: { code: string; file: string; missing: "comment" | "fix" }[] = [];
  for (const union of unions) {
    for (const definition of readUnion(root, union, missing)) {
      const known = byCode.get(definition.code);
      if (!known || (known.meaning === "" && definition.meaning !== "")) byCode.set(definition.code, definition);
    }
  }
  // Undocumented only when no union documents it.
  for (const entry of missing) if (byCode.get(entry.code)!.fix === "") undocumented.push(entry);
  return [...byCode.values()];
}

/** Each code's details fields, read from the members of `StepwiseErrorDetails` (every variant's, once each, in order). */
function readDetailFields(root: string): Map<string, string[]> {
  const source = parse(root, "src/core/errors.ts");
  const details = source.statements.find((statement): statement is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(statement) && statement.name.text === "StepwiseErrorDetails");
  if (!details) throw new Error("src/core/errors.ts has no interface StepwiseErrorDetails");
  const fields = new Map<string, string[]>();
  for (const member of details.members) {
    if (!ts.isPropertySignature(member) || !member.type) continue;
    const names: string[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isTypeLiteralNode(node)) {
        for (const field of node.members) if (field.name && ts.isIdentifier(field.name) && !names.includes(field.name.text)) names.push(field.name.text);
        return;
      }
      ts.forEachChild(node, visit);
    };
    visit(member.type);
    fields.set(member.name.getText(source), names);
  }
  return fields;
}

/** The codes the CLI exits 2 for, read from `USAGE_EXIT_CODES` in src/cli/report-error.ts. */
function usageExitCodes(root: string): Set<string> {
  const source = parse(root, "src/cli/report-error.ts");
  const found = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === "USAGE_EXIT_CODES" && node.initializer) {
      for (const match of node.initializer.getText(source).matchAll(/"([A-Z][A-Z0-9_]+)"/g)) found.add(match[1]!);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (found.size === 0) throw new Error("src/cli/report-error.ts: no USAGE_EXIT_CODES found");
  return found;
}

/** What the generator read: every code of both kinds, and the classes that throw each error code. */
export interface ErrorCatalogue {
  readonly errors: readonly CodeDefinition[];
  readonly problems: readonly CodeDefinition[];
  /** Error code → the fields of its `details`. */
  readonly detailFields: ReadonlyMap<string, readonly string[]>;
  /** Error codes the CLI exits 2 for. */
  readonly usageCodes: ReadonlySet<string>;
}

/** Reads every definition under `root`; throws {@link UndocumentedCodeError} when one has no entry. */
export function readErrorCatalogue(root: string): ErrorCatalogue {
  const undocumented: { code: string; file: string; missing: "comment" | "fix" }[] = [];
  const errors = readUnions(root, ERROR_UNIONS, undocumented);
  const problems = readUnions(root, PROBLEM_UNIONS, undocumented);
  if (undocumented.length > 0) throw new UndocumentedCodeError(undocumented);
  return { errors, problems, detailFields: readDetailFields(root), usageCodes: usageExitCodes(root) };
}

/** GitHub's anchor for a heading that is exactly `` `CODE` ``. */
function anchorOf(code: string): string {
  return code.toLowerCase();
}

function groupsOf(definitions: readonly CodeDefinition[]): Map<string, CodeDefinition[]> {
  const groups = new Map<string, CodeDefinition[]>();
  for (const definition of definitions) {
    const group = definition.group ?? "Other";
    groups.set(group, [...(groups.get(group) ?? []), definition]);
  }
  return groups;
}

/** docs/errors.md as the definitions under `root` make it. */
export function renderErrorsDoc(root: string): string {
  const catalogue = readErrorCatalogue(root);
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);
  push(
    "<!-- Generated by scripts/errors-doc.ts from the error definitions; do not edit. Run `npm run docs:errors`. -->",
    "",
    "# Errors",
    "",
    "Every failure stepwise reports has a stable code. The runtime (the library, and the CLI's runtime",
    "commands) throws a `StepwiseError` whose `code` is one of [the runtime's errors](#runtime-errors),",
    'with the facts behind it in `details` (typed per code: `error.is("CHECKSUM_MISMATCH")` narrows',
    "them); the CLI prints it as `error [CODE]: …`, and with `--json` as",
    '`{ "error": { "code", "message", …details, "fix" } }`. `stepwise gen` reports',
    "[problems in the migrations folder](#gen-problems) as `file:line:col: message [CODE]`. Branch on",
    "codes and details, never on messages. An error that wraps a database library's error also carries",
    "`nativeCode` (SQLite's `SQLITE_*` name, or PostgreSQL's SQLSTATE) and `nativeKind` (`locked`, `full`,",
    "`readonly`, `notadb`, `corrupt`, `cantopen` or `other`), and keeps the library's error as `cause`.",
    "Something the CLI did not expect is printed as an unexpected error (`UNEXPECTED` under `--json`).",
    "",
    "This page is generated from the definitions in the source (`npm run docs:errors`), so every code",
    "the code can report has an entry.",
    "",
  );
  const sections = [
    { title: "Runtime errors", definitions: catalogue.errors, kind: "error" as const },
    { title: "gen problems", definitions: catalogue.problems, kind: "problem" as const },
  ];
  for (const section of sections) {
    push(`- [${section.title}](#${section.title.toLowerCase().replace(/ /g, "-")})`);
    for (const group of groupsOf(section.definitions).keys()) {
      push(
        `  - [${group}](#${group
          .toLowerCase()
          .replace(/[^a-z0-9 _-]/g, "")
          .replace(/ /g, "-")})`,
      );
    }
  }
  push("");
  for (const section of sections) {
    push(`## ${section.title}`, "");
    if (section.kind === "error") {
      push(
        "Thrown by the library and the CLI's runtime commands. The CLI exits 1 for each, except where an entry",
        "says exit 2 (a usage error: a setting the user typed, not a state of the database).",
        "",
      );
    } else {
      push(
        "Reported by `stepwise gen` and `stepwise gen --check`, every problem at once, each at its `file:line:col`;",
        "gen then exits 1 and writes no registry. `gen --json` lists them as `problems: [{ code, file, line, column, message }]`.",
        "",
      );
    }
    for (const [group, definitions] of groupsOf(section.definitions)) {
      push(`### ${group}`, "");
      for (const definition of definitions) {
        push(`#### \`${definition.code}\``, "", definition.meaning, "", `**Fix:** ${definition.fix}`, "");
        if (section.kind === "error") {
          const fields = catalogue.detailFields.get(definition.code) ?? [];
          const exit = catalogue.usageCodes.has(definition.code) ? "CLI exit 2" : "CLI exit 1";
          push(`${fields.length > 0 ? `Details: ${fields.map((field) => `\`${field}\``).join(", ")}. ` : ""}${exit}.`, "");
        }
      }
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** The anchor each code's entry has on the page, for links from other pages. */
export function errorAnchor(code: string): string {
  return anchorOf(code);
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outputFile = path.join(repoRoot, "docs", "errors.md");

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check");
  let rendered: string;
  try {
    rendered = renderErrorsDoc(repoRoot);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  let current: string | null;
  try {
    current = readFileSync(outputFile, "utf8");
  } catch {
    current = null;
  }
  if (check) {
    if (current !== rendered) {
      process.stderr.write(`docs/errors.md is stale: run "npm run docs:errors" and commit it.\n`);
      process.exit(1);
    }
    process.stdout.write("docs/errors.md is current.\n");
  } else if (current === rendered) {
    process.stdout.write("docs/errors.md is up to date.\n");
  } else {
    writeFileSync(outputFile, rendered);
    process.stdout.write("Wrote docs/errors.md.\n");
  }
}

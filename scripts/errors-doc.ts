/**
 * `npm run docs:errors`: writes docs/errors.md from the error definitions, so the page cannot drift from the code.
 * `npm run docs:errors -- --check` writes nothing and exits 1 when the page is stale.
 *
 * It reads, with the TypeScript parser: the runtime's codes as the members of `StepwiseErrorDetails` (src/core/errors.ts),
 * each with its details fields; gen's as the members of the unions `SqlSourceProblemCode` (src/shared/sql-source.ts) and
 * `ProblemCode` (codegen/problems.ts); for each code the doc comment above it (what it means, then `Fix:` and the fix) and
 * the last `// Group: <title>` line above it; and the codes the CLI exits 2 for (`USAGE_EXIT_CODES`, src/cli/report-error.ts).
 * A code without a comment, or a comment without `Fix:`, fails: the page is never written with a hole in it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** Where the codes of one kind are defined: an interface keyed by code, or a union of code literals. */
type CodeSource = readonly [file: string, typeName: string];
const ERROR_SOURCES: readonly CodeSource[] = [["src/core/errors.ts", "StepwiseErrorDetails"]];
const PROBLEM_SOURCES: readonly CodeSource[] = [
  ["src/shared/sql-source.ts", "SqlSourceProblemCode"],
  ["codegen/problems.ts", "ProblemCode"],
];

/** One code as its source defines it. */
export interface CodeDefinition {
  readonly code: string;
  /** The defining file, repo-relative. */
  readonly file: string;
  readonly group: string | null;
  readonly meaning: string;
  readonly fix: string;
  /** For a runtime error: the fields of its `details`. */
  readonly fields?: readonly string[];
}

type Undocumented = { code: string; file: string; missing: "comment" | "fix" };

/** A code whose definition has no comment, or whose comment names no fix. */
export class UndocumentedCodeError extends Error {
  constructor(readonly codes: readonly Undocumented[]) {
    super(`Every code needs a doc comment above it, ending in "Fix: ...":\n${codes.map((c) => `  ${c.file}: ${c.code} (no ${c.missing})`).join("\n")}`);
    this.name = "UndocumentedCodeError";
  }
}

function parse(root: string, file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(path.join(root, file), "utf8"), ts.ScriptTarget.Latest, true);
}

/** The text of a `/** … *\/` comment, without its stars, paragraphs kept. */
function commentText(raw: string): string {
  const lines = raw
    .replace(/^\/\*\*|\*\/$/g, "")
    .split("\n")
    .map((line) => line.replace(/^\s*\* ?/, "").trimEnd());
  return lines
    .join("\n")
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/\s*\n\s*/g, " ").trim())
    .filter((paragraph) => paragraph !== "")
    .join("\n\n");
}

/** The property names of the first type literals inside `type` (each variant of a union once, in order). */
function fieldsOf(type: ts.Node): string[] {
  const names: string[] = [];
  const visit = (node: ts.Node): void => {
    if (!ts.isTypeLiteralNode(node)) return ts.forEachChild(node, visit);
    for (const field of node.members) if (field.name && ts.isIdentifier(field.name) && !names.includes(field.name.text)) names.push(field.name.text);
  };
  visit(type);
  return names;
}

/** Each code of one source, with the comments written between it and the member before. */
function readSource(root: string, [file, typeName]: CodeSource, undocumented: Undocumented[]): CodeDefinition[] {
  const source = parse(root, file);
  const declaration = source.statements.find(
    (node): node is ts.InterfaceDeclaration | ts.TypeAliasDeclaration => (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) && node.name.text === typeName,
  );
  const members = declaration && ts.isInterfaceDeclaration(declaration) ? declaration.members : declaration && ts.isUnionTypeNode(declaration.type) ? declaration.type.types : null;
  if (!members) throw new Error(`${file} has no interface or union ${typeName}`);
  const text = source.getFullText();
  const definitions: CodeDefinition[] = [];
  let group: string | null = null;
  let previousEnd = members.pos;
  for (const member of members) {
    const between = text.slice(previousEnd, member.getStart(source));
    previousEnd = member.end;
    for (const match of between.matchAll(/\/\/ Group: (.+)/g)) group = match[1]!.trim();
    // A union member naming another union (`SqlSourceProblemCode`) brings that union's own definitions.
    const code = ts.isPropertySignature(member) ? member.name.getText(source) : ts.isLiteralTypeNode(member) && ts.isStringLiteral(member.literal) ? member.literal.text : null;
    if (code === null) continue;
    const doc = commentText([...between.matchAll(/\/\*\*[\s\S]*?\*\//g)].pop()?.[0] ?? "");
    const fixAt = doc.search(/(^|\s)Fix: /);
    if (doc === "" || fixAt < 0) undocumented.push({ code, file, missing: doc === "" ? "comment" : "fix" });
    const meaning = fixAt < 0 ? doc : doc.slice(0, fixAt).trim();
    const fix = fixAt < 0 ? "" : doc.slice(fixAt).trim().slice("Fix: ".length);
    definitions.push({ code, file, group, meaning, fix, ...(ts.isPropertySignature(member) && member.type ? { fields: fieldsOf(member.type) } : {}) });
  }
  return definitions;
}

/** Every code of `sources`, in order; a code defined twice once, where it is documented. */
function readSources(root: string, sources: readonly CodeSource[], undocumented: Undocumented[]): CodeDefinition[] {
  const byCode = new Map<string, CodeDefinition>();
  const missing: Undocumented[] = [];
  for (const definition of sources.flatMap((source) => readSource(root, source, missing))) {
    const known = byCode.get(definition.code);
    if (!known || (known.meaning === "" && definition.meaning !== "")) byCode.set(definition.code, definition);
  }
  // Undocumented only when no source documents it.
  undocumented.push(...missing.filter((entry) => byCode.get(entry.code)!.fix === ""));
  return [...byCode.values()];
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

/** What the generator read: every code of both kinds. */
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
  const undocumented: Undocumented[] = [];
  const errors = readSources(root, ERROR_SOURCES, undocumented);
  const problems = readSources(root, PROBLEM_SOURCES, undocumented);
  if (undocumented.length > 0) throw new UndocumentedCodeError(undocumented);
  return { errors, problems, detailFields: new Map(errors.map((definition) => [definition.code, definition.fields ?? []])), usageCodes: usageExitCodes(root) };
}

function groupsOf(definitions: readonly CodeDefinition[]): Map<string, CodeDefinition[]> {
  const groups = new Map<string, CodeDefinition[]>();
  for (const definition of definitions) groups.set(definition.group ?? "Other", [...(groups.get(definition.group ?? "Other") ?? []), definition]);
  return groups;
}

const INTRO = `<!-- Generated by scripts/errors-doc.ts from the error definitions; do not edit. Run \`npm run docs:errors\`. -->

# Errors

Every failure stepwise reports has a stable code. The runtime (the library, and the CLI's runtime
commands) throws a \`StepwiseError\` whose \`code\` is one of [the runtime's errors](#runtime-errors),
with the facts behind it in \`details\` (typed per code: \`error.is("CHECKSUM_MISMATCH")\` narrows
them); the CLI prints it as \`error [CODE]: …\`, and with \`--json\` as
\`{ "error": { "code", "message", …details, "fix" } }\`. \`stepwise gen\` reports
[problems in the migrations folder](#gen-problems) as \`file:line:col: message [CODE]\`. Branch on
codes and details, never on messages. An error that wraps a database library's error also carries
\`nativeCode\` (SQLite's \`SQLITE_*\` name, or PostgreSQL's SQLSTATE) and \`nativeKind\` (\`locked\`, \`full\`,
\`readonly\`, \`notadb\`, \`corrupt\`, \`cantopen\` or \`other\`), and keeps the library's error as \`cause\`.
Something the CLI did not expect is printed as an unexpected error (\`UNEXPECTED\` under \`--json\`).

This page is generated from the definitions in the source (\`npm run docs:errors\`), so every code
the code can report has an entry.
`;

const SECTIONS = [
  {
    title: "Runtime errors",
    kind: "errors",
    lead: "Thrown by the library and the CLI's runtime commands. The CLI exits 1 for each, except where an entry\nsays exit 2 (a usage error: a setting the user typed, not a state of the database).",
  },
  {
    title: "gen problems",
    kind: "problems",
    lead: "Reported by `stepwise gen` and `stepwise gen --check`, every problem at once, each at its `file:line:col`;\ngen then exits 1 and writes no registry. `gen --json` lists them as `problems: [{ code, file, line, column, message }]`.",
  },
] as const;

/** GitHub's anchor for a heading. */
const anchorOf = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, "")
    .replace(/ /g, "-");

/** docs/errors.md as the definitions under `root` make it. */
export function renderErrorsDoc(root: string): string {
  const catalogue = readErrorCatalogue(root);
  // GitHub suffixes a repeated heading's anchor (`-1`, `-2`…) in page order, so a group named in both sections gets its own link.
  const seen = new Map<string, number>([[anchorOf("Errors"), 1]]);
  const nextAnchor = (heading: string) => {
    const anchor = anchorOf(heading);
    const count = seen.get(anchor) ?? 0;
    seen.set(anchor, count + 1);
    return count === 0 ? anchor : `${anchor}-${count}`;
  };
  const contents: string[] = [];
  const body: string[] = [];
  for (const section of SECTIONS) {
    contents.push(`- [${section.title}](#${nextAnchor(section.title)})`);
    body.push(`## ${section.title}`, "", section.lead, "");
    for (const [group, definitions] of groupsOf(catalogue[section.kind])) {
      contents.push(`  - [${group}](#${nextAnchor(group)})`);
      body.push(`### ${group}`, "");
      for (const { code, meaning, fix, fields } of definitions) {
        nextAnchor(code);
        body.push(`#### \`${code}\``, "", meaning, "", `**Fix:** ${fix}`, "");
        if (section.kind === "errors") {
          const exit = catalogue.usageCodes.has(code) ? "CLI exit 2" : "CLI exit 1";
          body.push(`${fields && fields.length > 0 ? `Details: ${fields.map((field) => `\`${field}\``).join(", ")}. ` : ""}${exit}.`, "");
        }
      }
    }
  }
  return `${[INTRO, ...contents, "", ...body].join("\n").trimEnd()}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const outputFile = path.join(repoRoot, "docs", "errors.md");
  let rendered: string;
  try {
    rendered = renderErrorsDoc(repoRoot);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  let current: string | null = null;
  try {
    current = readFileSync(outputFile, "utf8");
  } catch {
    // No page yet.
  }
  if (process.argv.includes("--check")) {
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

/**
 * docs/errors.md is generated from the error definitions (scripts/errors-doc.ts): every code of
 * `StepwiseErrorDetails`, `ProblemCode` and `SqlSourceProblemCode` with the comment above it. These
 * tests hold the committed page to the generator, hold the generator's code list to the places
 * that throw and report codes, and show on a copy of the sources that a new code without an entry
 * fails rather than being skipped.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { readErrorCatalogue, renderErrorsDoc, UndocumentedCodeError } from "../scripts/errors-doc.js";
import { makeTempDir } from "./support/project.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Every `.ts` file under `folder`, repo-relative. */
function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(repoRoot, folder), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
    .map((name) => path.join(folder, name));
}

/** The codes of every `#### \`CODE\`` heading of the page. */
function pageCodes(page: string): string[] {
  return [...page.matchAll(/^#### `([A-Z0-9_]+)`$/gm)].map((match) => match[1]!);
}

/** A copy of the sources the generator reads, to change without touching the repo. */
function copyOfSources(t: { after(fn: () => void): void }): string {
  const root = makeTempDir(t, "stepwise-errors-doc-");
  for (const folder of ["src", "codegen", "scripts", "docs"]) cpSync(path.join(repoRoot, folder), path.join(root, folder), { recursive: true });
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(root, "node_modules"), "dir");
  return root;
}

/** Adds `member` (with any comment before it) as the last member of the `StepwiseErrorDetails` interface in the copy at `root`. */
function addErrorCode(root: string, member: string): void {
  const file = path.join(root, "src", "core", "errors.ts");
  const source = readFileSync(file, "utf8");
  // The interface ends at the first line that is a lone closing brace after its start.
  const start = source.indexOf("export interface StepwiseErrorDetails {");
  const end = source.indexOf("\n}\n", start);
  writeFileSync(file, `${source.slice(0, end)}\n${member}${source.slice(end)}`);
}

test("the committed docs/errors.md is what the generator writes from the definitions", () => {
  const committed = readFileSync(path.join(repoRoot, "docs", "errors.md"), "utf8");
  assert.equal(committed, renderErrorsDoc(repoRoot), 'docs/errors.md is stale: run "npm run docs:errors" and commit it');
});

test("every code has an entry: a meaning and a fix for each, and a heading on the page", () => {
  const catalogue = readErrorCatalogue(repoRoot);
  const page = readFileSync(path.join(repoRoot, "docs", "errors.md"), "utf8");
  const headings = pageCodes(page);
  for (const definition of [...catalogue.errors, ...catalogue.problems]) {
    assert.notEqual(definition.meaning, "", `${definition.code} has no meaning`);
    assert.notEqual(definition.fix, "", `${definition.code} has no fix`);
    assert.ok(headings.includes(definition.code), `${definition.code} has no heading in docs/errors.md`);
  }
  // One entry per code and kind: REGISTRY_STALE is both a runtime error and a gen problem.
  assert.equal(headings.length, catalogue.errors.length + catalogue.problems.length);
  assert.equal(new Set(catalogue.errors.map((definition) => definition.code)).size, catalogue.errors.length);
  assert.equal(new Set(catalogue.problems.map((definition) => definition.code)).size, catalogue.problems.length);
});

test("the code list is the code's: every code thrown or reported is on the page, and every error code is thrown and has its details", () => {
  const catalogue = readErrorCatalogue(repoRoot);
  const errorCodes = new Set(catalogue.errors.map((definition) => definition.code));
  const problemCodes = new Set(catalogue.problems.map((definition) => definition.code));
  const thrown = new Set<string>();
  const reported = new Set<string>();
  for (const file of [...sourceFiles("src"), ...sourceFiles("codegen")]) {
    const source = readFileSync(path.join(repoRoot, file), "utf8");
    for (const match of source.matchAll(/(?:super|new StepwiseError)\(\s*"([A-Z][A-Z0-9_]+)"/g)) thrown.add(match[1]!);
    // A problem: `report("CODE", …)` in a check, or an object literal `code: "CODE"` beside a `message`.
    for (const match of source.matchAll(/\breport\(\s*"([A-Z][A-Z0-9_]+)"/g)) reported.add(match[1]!);
    // The CLI (and the bin, before it loads the CLI) prints errors, never gen problems, so its `code: …, message` output shapes are not problems.
    if (file.startsWith("src/cli/") || file === "codegen/bin.ts") continue;
    for (const match of source.matchAll(/\bcode: "([A-Z][A-Z0-9_]+)",?\s*(?:\.\.\.\w+,\s*)?(?:file|line|message)\b/g)) reported.add(match[1]!);
  }
  assert.ok(thrown.size >= 40 && reported.size >= 40, `the scan found ${thrown.size} thrown and ${reported.size} reported codes`);
  for (const code of thrown) assert.ok(errorCodes.has(code), `${code} is thrown but has no entry among the runtime errors`);
  for (const code of reported) assert.ok(problemCodes.has(code), `${code} is reported by gen but has no entry among the gen problems`);
  for (const code of errorCodes) assert.ok(thrown.has(code), `nothing throws ${code}`);
  for (const code of errorCodes) assert.ok(catalogue.detailFields.has(code), `${code} has no entry in StepwiseErrorDetails`);
  // The CLI's usage errors, read from USAGE_EXIT_CODES, exit 2.
  assert.deepEqual([...catalogue.usageCodes].sort(), ["DATABASE_PATH_INVALID", "DRIVER_UNKNOWN", "INVALID_TABLE_NAME", "PATH_NOT_UTF8", "USAGE"]);
});

test("a code added to the definitions without a comment, or without a fix, fails the generator; with both it gets its entry", (t) => {
  const bare = copyOfSources(t);
  addErrorCode(bare, "  readonly BRAND_NEW_CODE: {};");
  assert.throws(
    () => renderErrorsDoc(bare),
    (error: unknown) => error instanceof UndocumentedCodeError && error.codes.some((entry) => entry.code === "BRAND_NEW_CODE" && entry.missing === "comment"),
  );

  const noFix = copyOfSources(t);
  addErrorCode(noFix, "  /** Something new went wrong. */\n  readonly BRAND_NEW_CODE: {};");
  assert.throws(
    () => renderErrorsDoc(noFix),
    (error: unknown) => error instanceof UndocumentedCodeError && error.codes.some((entry) => entry.code === "BRAND_NEW_CODE" && entry.missing === "fix"),
  );

  const documented = copyOfSources(t);
  addErrorCode(documented, "  /** Something new went wrong. Fix: do the new thing. */\n  readonly BRAND_NEW_CODE: {};");
  const page = renderErrorsDoc(documented);
  assert.ok(pageCodes(page).includes("BRAND_NEW_CODE"));
  assert.match(page, /#### `BRAND_NEW_CODE`\n\nSomething new went wrong\.\n\n\*\*Fix:\*\* do the new thing\./);
});

test("npm run docs:errors -- --check passes on the repo and exits 1 on a stale page, writing nothing", (t) => {
  const run = (root: string) => spawnSync(process.execPath, ["--import", "tsx", path.join(root, "scripts", "errors-doc.ts"), "--check"], { cwd: root, encoding: "utf8" });
  const current = run(repoRoot);
  assert.equal(current.status, 0, current.stderr);

  const root = copyOfSources(t);
  addErrorCode(root, "  /** Something new went wrong. Fix: do the new thing. */\n  readonly BRAND_NEW_CODE: {};");
  const before = readFileSync(path.join(root, "docs", "errors.md"), "utf8");
  const stale = run(root);
  assert.equal(stale.status, 1, stale.stdout + stale.stderr);
  assert.match(stale.stderr, /docs\/errors\.md is stale/);
  assert.equal(readFileSync(path.join(root, "docs", "errors.md"), "utf8"), before);
});

test("the contents link each group to its own heading, a group named in both sections included", () => {
  const page = readFileSync(path.join(repoRoot, "docs", "errors.md"), "utf8");
  // GitHub's anchors in page order: a repeated heading's gets `-1`, `-2`…
  const seen = new Map<string, number>();
  const anchors = [...page.matchAll(/^#{1,6} (.+)$/gm)].map((match) => {
    const slug = match[1]!
      .toLowerCase()
      .replace(/[^a-z0-9 _-]/g, "")
      .replace(/ /g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    return count === 0 ? slug : `${slug}-${count}`;
  });
  const groupHeadings = [...page.matchAll(/^#{2,3} (.+)$/gm)].map((match) => match[1]!);
  const contents = [...page.matchAll(/^ *- \[([^\]]+)\]\(#([^)]+)\)$/gm)].map((match) => ({ title: match[1]!, anchor: match[2]! }));
  assert.deepEqual(
    contents.map((entry) => entry.title),
    groupHeadings,
  );
  assert.equal(new Set(contents.map((entry) => entry.anchor)).size, contents.length, "one anchor per entry");
  for (const { anchor } of contents) assert.ok(anchors.includes(anchor), `#${anchor} is a heading's anchor`);
  // The page repeats a group name across its two sections, so the renderer's suffixing is exercised here.
  assert.ok(new Set(groupHeadings).size < groupHeadings.length, "a group name appears in both sections");
});

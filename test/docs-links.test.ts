/**
 * Every relative link in README.md and docs/*.md resolves: the file or folder it names exists, and
 * its `#anchor` is a heading of the target as GitHub spells heading anchors. A broken link is a
 * reader sent nowhere, and a renamed heading breaks links silently, so this reads them all and
 * lists every broken one at once, missing pages first.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { makeTempDir } from "./support/project.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The pages checked, repo-relative. */
function pages(): string[] {
  const docs = readdirSync(path.join(repoRoot, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

/** The page's text with fenced code blocks blanked (line count kept), so their `#` lines and brackets are not read. */
function withoutCodeBlocks(markdown: string): string {
  let fence: string | null = null;
  return markdown
    .split("\n")
    .map((line) => {
      const opener = /^ {0,3}(`{3,}|~{3,})/.exec(line);
      if (fence === null && opener) {
        fence = opener[1]!;
        return "";
      }
      if (fence !== null) {
        if (line.trim().startsWith(fence[0]!.repeat(fence.length)) && line.trim().replace(/[`~]/g, "") === "") fence = null;
        return "";
      }
      return line;
    })
    .join("\n");
}

/** A heading's text as GitHub renders it: inline code, emphasis, links and HTML reduced to their text. */
function renderedText(heading: string): string {
  return heading
    .replace(/\s+#+\s*$/, "")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/(\*\*|__)(.+?)\1/g, "$2")
    .replace(/(^|\W)[*_](\S(?:.*?\S)?)[*_](?=\W|$)/g, "$1$2")
    .trim();
}

/**
 * GitHub's anchor for a heading (github-slugger): lower case, every character that is not a letter,
 * mark, number, connector (`_`), space or hyphen removed, each space a hyphen. Not collapsed: ` / `
 * becomes `--`.
 */
function githubSlug(heading: string): string {
  return renderedText(heading)
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a page offers: its headings (a repeated one as `slug-1`, `slug-2`…) and explicit `id`/`name` attributes. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = withoutCodeBlocks(markdown);
  for (const match of text.matchAll(/^ {0,3}#{1,6}[ \t]+(.+)$/gm)) {
    const slug = githubSlug(match[1]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const match of text.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) anchors.add(match[1]!);
  return anchors;
}

/** One link of a page: where it points, and on which line. */
interface Link {
  readonly line: number;
  readonly target: string;
}

/** Every link target of a page outside code: inline `[text](target)`, images, and reference definitions. */
function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  withoutCodeBlocks(markdown)
    .split("\n")
    .forEach((rawLine, index) => {
      const line = rawLine.replace(/`[^`]*`/g, (code) => " ".repeat(code.length));
      for (const match of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ line: index + 1, target: match[1]! });
      const definition = /^ {0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(line);
      if (definition) links.push({ line: index + 1, target: definition[1]! });
    });
  return links;
}

/** A broken link, for the report. */
interface Broken {
  readonly page: string;
  readonly line: number;
  readonly target: string;
  readonly missingFile: string | null;
  readonly reason: string;
}

/** Every broken relative link of `pageFiles` (repo-relative), read from `root`. */
function brokenLinks(root: string, pageFiles: readonly string[]): Broken[] {
  const broken: Broken[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOfFile = (file: string): Set<string> => {
    let anchors = anchorCache.get(file);
    if (!anchors) anchorCache.set(file, (anchors = anchorsOf(readFileSync(file, "utf8"))));
    return anchors;
  };
  for (const page of pageFiles) {
    const pagePath = path.join(root, page);
    for (const link of linksOf(readFileSync(pagePath, "utf8"))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link.target) || link.target.startsWith("//")) continue; // https:, mailto:: not ours to check
      const hashAt = link.target.indexOf("#");
      const filePart = decodeURIComponent(hashAt === -1 ? link.target : link.target.slice(0, hashAt));
      const anchor = hashAt === -1 ? null : decodeURIComponent(link.target.slice(hashAt + 1));
      const targetPath = filePart === "" ? pagePath : path.resolve(path.dirname(pagePath), filePart);
      const shown = path.relative(root, targetPath).split(path.sep).join("/");
      if (!targetPath.startsWith(root + path.sep) && targetPath !== root) {
        broken.push({ page, line: link.line, target: link.target, missingFile: null, reason: "points outside the repository" });
        continue;
      }
      if (!existsSync(targetPath)) {
        broken.push({ page, line: link.line, target: link.target, missingFile: shown, reason: `${shown} does not exist` });
        continue;
      }
      if (anchor === null) continue;
      if (!statSync(targetPath).isFile() || !targetPath.endsWith(".md")) {
        broken.push({ page, line: link.line, target: link.target, missingFile: null, reason: `#${anchor} on ${shown}, which is not a markdown page` });
        continue;
      }
      if (!anchorsOfFile(targetPath).has(anchor)) broken.push({ page, line: link.line, target: link.target, missingFile: null, reason: `${shown} has no heading whose anchor is #${anchor}` });
    }
  }
  return broken;
}

/** The report: the pages that do not exist (with who links to them), then every other broken link. */
function describe(broken: readonly Broken[]): string {
  const missing = new Map<string, string[]>();
  for (const entry of broken) if (entry.missingFile) missing.set(entry.missingFile, [...(missing.get(entry.missingFile) ?? []), `${entry.page}:${entry.line}`]);
  const lines: string[] = [];
  if (missing.size > 0) {
    lines.push(`Missing files (${missing.size}):`);
    for (const [file, from] of [...missing].sort()) lines.push(`  ${file}  (linked from ${from.join(", ")})`);
  }
  const others = broken.filter((entry) => !entry.missingFile);
  if (others.length > 0) {
    lines.push(`Broken links and anchors (${others.length}):`);
    for (const entry of others) lines.push(`  ${entry.page}:${entry.line}: (${entry.target}) ${entry.reason}`);
  }
  return lines.join("\n");
}

test("heading anchors follow GitHub's slug rules", () => {
  assert.equal(githubSlug("Finish an interrupted migration: `repair --applied` / `--forget`"), "finish-an-interrupted-migration-repair---applied----forget");
  assert.equal(githubSlug("The browser: sql.js"), "the-browser-sqljs");
  assert.equal(githubSlug("`bun build --compile`"), "bun-build---compile");
  assert.equal(githubSlug("#### `REGISTRY_STALE`".replace(/^#+ /, "")), "registry_stale");
  assert.equal(githubSlug("Locks, sessions and concurrency"), "locks-sessions-and-concurrency");
  assert.equal(githubSlug("libSQL and Turso through `@libsql/client` (preview)"), "libsql-and-turso-through-libsqlclient-preview");
  assert.equal(githubSlug("Check the registry in CI: `gen --check`"), "check-the-registry-in-ci-gen---check");
  assert.equal(githubSlug("**Bold** and [a link](x.md) and _emphasis_"), "bold-and-a-link-and-emphasis");
  const anchors = anchorsOf('# A\n\n```sh\n# not a heading\n```\n\n## A\n\n## B <a id="custom"></a>\n');
  assert.deepEqual([...anchors].sort(), ["a", "a-1", "b", "custom"].sort());
});

test("the checker finds a missing page, a missing anchor and a link outside the repository, and passes good ones", (t) => {
  const root = makeTempDir(t, "stepwise-docs-links-");
  mkdirSync(path.join(root, "docs"));
  writeFileSync(
    path.join(root, "README.md"),
    "# Top\n\n[ok](docs/a.md#second-heading) [self](#top) [gone](docs/missing.md) [bad anchor](docs/a.md#nope) [out](../../x.md)\n`[in code](docs/nothing.md)`\n",
  );
  writeFileSync(path.join(root, "docs", "a.md"), "# First\n\n## Second heading\n\n[back](../README.md#top) [folder](../docs/)\n\n```md\n[in a block](nowhere.md)\n```\n");
  const broken = brokenLinks(root, ["README.md", "docs/a.md"]);
  assert.deepEqual(
    broken.map((entry) => [entry.page, entry.target, entry.missingFile]),
    [
      ["README.md", "docs/missing.md", "docs/missing.md"],
      ["README.md", "docs/a.md#nope", null],
      ["README.md", "../../x.md", null],
    ],
  );
  assert.match(describe(broken), /Missing files \(1\):\n {2}docs\/missing\.md {2}\(linked from README\.md:3\)/);
});

test("every relative link and anchor in README.md and docs/*.md resolves", () => {
  const broken = brokenLinks(repoRoot, pages());
  assert.equal(broken.length, 0, `\n${describe(broken)}`);
});

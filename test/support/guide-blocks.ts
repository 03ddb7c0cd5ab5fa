/**
 * Test support: following a guide in `docs/` as a user would. A guide marks each file to write and
 * each list of commands to type with `<!-- guide: <what> -->` before its code block; the tests read
 * the blocks out of the page, so a guide cannot drift from what its test runs.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import type { FreshApp } from "./fresh-app.js";
import { describeRun, runNpm } from "./packed-app.js";
import type { RunResult } from "./project.js";

/** The name the package is published under, which the guides' commands and imports use. */
export const PUBLISHED_NAME = "stepwise-migrate";

/** One marked block of a guide. */
export interface GuideBlock {
  readonly language: string;
  readonly text: string;
}

/** The marked blocks of `page`, by their marker, in order. */
export function guideBlocks(page: string): Map<string, GuideBlock> {
  const blocks = new Map<string, GuideBlock>();
  for (const match of page.matchAll(/<!-- guide: (\S+) -->\n```(\w+)\n([\s\S]*?)\n```/g)) {
    assert.ok(!blocks.has(match[1]!), `one block marked ${match[1]}`);
    blocks.set(match[1]!, { language: match[2]!, text: `${match[3]!}\n` });
  }
  return blocks;
}

/** The block marked `name`; fails the test when the guide has none. */
export function block(blocks: Map<string, GuideBlock>, name: string): GuideBlock {
  const found = blocks.get(name);
  assert.ok(found, `the guide has a block marked ${name}`);
  return found;
}

/** A shell block's commands: one a line (a line ending in `\` goes on on the next), comments dropped. */
export function commandsOf(shell: GuideBlock): string[][] {
  return shell.text
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line !== "")
    .map((line) => line.match(/"[^"]*"|\S+/g)!.map((word) => word.replace(/^"(.*)"$/, "$1")));
}

/**
 * Runs a guide command in the app as npm would: `npm …` as is, `npx …` as `npm exec`, `node …` with
 * this Node.
 */
export function runCommand(app: FreshApp, words: readonly string[], env?: Record<string, string | undefined>): Promise<RunResult> {
  const [program, ...args] = words;
  if (program === "npm") return runNpm(args, { cwd: app.dir, timeoutMs: 300_000, ...(env ? { env } : {}) });
  if (program === "npx") return runNpm(["exec", "--no", "--", ...args], { cwd: app.dir, timeoutMs: 300_000, ...(env ? { env } : {}) });
  if (program === "node") return app.node(args, { timeoutMs: 300_000, ...(env ? { env } : {}) });
  throw new Error(`the guide runs ${program}, which this test does not know how to follow`);
}

/** JSON as a guide's config blocks hold it. */
export type Json = Record<string, unknown>;

/** `patch` merged into `base`, objects key by key, as "next to what is there" says. */
export function merge(base: Json, patch: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    const bothObjects = [current, value].every((item) => item !== null && typeof item === "object" && !Array.isArray(item));
    out[key] = bothObjects ? merge(current as Json, value as Json) : value;
  }
  return out;
}

/**
 * The install step: every package the install lines name ends up in the section they put it in. The
 * fresh app already holds the package (the packed tarball, which the guides say to install in its
 * place) and a built better-sqlite3; any other package a line names that is not both declared and
 * installed is installed by that line's other packages, as a user running the line gets them (npm
 * may settle packages already there while it adds new ones, so the ones the line names go in too).
 * `withScripts` lets npm run the new packages' install scripts, as a user's install does (the
 * template's own install skips them, to reuse a better-sqlite3 built once).
 */
export async function followInstall(app: FreshApp, install: GuideBlock, options: { withScripts?: boolean } = {}): Promise<void> {
  // `--include=dev`: a development install whatever the environment says (an inherited NODE_ENV=production
  // or omit setting would make npm drop the app's tools instead of adding the named ones).
  const quiet = ["--prefer-offline", "--include=dev", ...(options.withScripts ? [] : ["--ignore-scripts"]), "--no-audit", "--no-fund"];
  for (const words of commandsOf(install)) {
    assert.deepEqual(words.slice(0, 2), ["npm", "install"], words.join(" "));
    const dev = words.includes("--save-dev");
    const specs = words.slice(2).filter((word) => !word.startsWith("-"));
    const nameOf = (spec: string) => spec.replace(/(.)@.*$/, "$1");
    const manifest = JSON.parse(app.read("package.json")) as { dependencies: Json; devDependencies: Json };
    const present = (spec: string) =>
      (dev ? manifest.devDependencies : manifest.dependencies)[nameOf(spec)] !== undefined && existsSync(path.join(app.dir, "node_modules", nameOf(spec), "package.json"));
    let npmRun = "npm was not run: every package was already there";
    if (!specs.every(present)) {
      const fromRegistry = specs.filter((spec) => nameOf(spec) !== PUBLISHED_NAME && nameOf(spec) !== "better-sqlite3");
      const installed = await runNpm(["install", ...(dev ? ["--save-dev"] : []), ...fromRegistry, ...quiet], { cwd: app.dir, timeoutMs: 300_000 });
      npmRun = `${describeRun(installed)}\n--- environment\nNODE_ENV=${process.env.NODE_ENV ?? ""} npm_config_omit=${process.env.npm_config_omit ?? ""} npm_config_production=${process.env.npm_config_production ?? ""}`;
      assert.equal(installed.code, 0, npmRun);
    }
    const after = JSON.parse(app.read("package.json")) as { dependencies: Json; devDependencies: Json };
    for (const spec of specs) {
      const name = nameOf(spec);
      assert.ok((dev ? after.devDependencies : after.dependencies)[name] !== undefined, `${name} is in ${dev ? "devDependencies" : "dependencies"}\n${npmRun}`);
      assert.ok(existsSync(path.join(app.dir, "node_modules", name, "package.json")), `${name} is installed\n${npmRun}`);
    }
  }
}

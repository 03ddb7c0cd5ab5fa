/** The one way every message of the bin names this project's regenerate command, so `gen --check` and the runtime's REGISTRY_STALE never disagree. */
import { parseJson } from "../src/shared/source-text.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { SqlDialect } from "../src/core/types.js";
import { resolveSettings } from "./config.js";
import { projectPath, tryOr } from "./problems.js";
import { quoteForShell } from "../src/shared/shell-quote.js";

/** The registry a message asks gen to write: its dialect, folder and file (absolute, as `resolveSettings` gives them). */
export interface GenTarget {
  readonly dialect: SqlDialect;
  readonly migrationsDir: string;
  readonly registryFile: string;
}

/**
 * How a message tells this project to regenerate `target` (plain gen's registry when absent): `npm run <name>` for its script that runs exactly `stepwise gen`, else `npx stepwise gen`, followed by
 * the `--dialect`, `--dir` and `--out` that select `target` where plain gen would write another registry.
 */
export function genCommandOf(projectRoot: string, target?: GenTarget): string {
  const flags = target === undefined ? [] : selectingFlags(projectRoot, target);
  const scripts = tryOr(() => (parseJson(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { scripts?: unknown }).scripts, null);
  const script = scripts === null || typeof scripts !== "object" ? undefined : findGenScript(scripts as Record<string, unknown>);
  if (script === undefined) return ["npx stepwise gen", ...flags].join(" ");
  return flags.length === 0 ? `npm run ${script}` : `npm run ${script} -- ${flags.join(" ")}`;
}

/** {@link genCommandOf}'s command with `--watch` added, past npm's `--` where the command is the project's script. */
export function watchCommandOf(genCommand: string): string {
  return `${genCommand}${genCommand.startsWith("npm ") && !genCommand.includes(" -- ") ? " --" : ""} --watch`;
}

/** The project's script that runs exactly `stepwise gen`; the usual name first, so a project with both "gen" and "codegen" is told the shorter one. */
function findGenScript(scripts: Record<string, unknown>): string | undefined {
  const entries = Object.entries(scripts).sort(([a], [b]) => Number(b === "gen") - Number(a === "gen"));
  return entries.find(([name, command]) => typeof command === "string" && /^\s*(?:npx\s+)?(?:stepwise|tsx\s+\S*codegen\/bin\.ts)\s+gen\s*$/.test(command) && /^[\w:.-]+$/.test(name))?.[0];
}

/** The flags gen needs to write `target` rather than its default registry: `--dialect` when the config's dialect is another, `--dir`/`--out` where that dialect's config names other paths (or none). */
function selectingFlags(projectRoot: string, target: GenTarget): string[] {
  const plain = tryOr(() => resolveSettings(projectRoot), null);
  const flags = plain?.dialect === target.dialect ? [] : ["--dialect", target.dialect];
  // A config that names no paths for this dialect refuses --dialect alone: then both paths are needed.
  const ofDialect = tryOr(() => resolveSettings(projectRoot, { dialect: target.dialect }), null);
  if (ofDialect?.migrationsDir !== target.migrationsDir) flags.push("--dir", quoteForShell(projectPath(projectRoot, target.migrationsDir)));
  if (ofDialect?.registryFile !== target.registryFile) flags.push("--out", quoteForShell(projectPath(projectRoot, target.registryFile)));
  return flags;
}

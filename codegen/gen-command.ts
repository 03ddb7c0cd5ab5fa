/**
 * How a message tells this project to regenerate its registry. A new app has no `gen` script, so
 * "npm run gen" would send its user to a script that does not exist; the bin itself always works.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

/** A script command that runs `gen` and nothing else, with no arguments that change what it writes. */
const GEN_SCRIPT = /^\s*(?:npx\s+)?(?:stepwise|tsx\s+\S*codegen\/bin\.ts)\s+gen\s*$/;

/**
 * `npm run <name>` for the project's script that runs `stepwise gen` (as the README's guide adds it,
 * or through npx, or stepwise's own bin through tsx as in its repo), else `npx stepwise gen`. Never
 * throws: an unreadable package.json means no script.
 */
export function genCommandOf(projectRoot: string): string {
  let scripts: unknown;
  try {
    scripts = (JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { scripts?: unknown }).scripts;
  } catch {
    return "npx stepwise gen";
  }
  if (scripts === null || typeof scripts !== "object") return "npx stepwise gen";
  const entries = Object.entries(scripts as Record<string, unknown>);
  // The usual name first, so a project with both "gen" and "codegen" is told the shorter one.
  const ordered = [...entries.filter(([name]) => name === "gen"), ...entries.filter(([name]) => name !== "gen")];
  const found = ordered.find(([name, command]) => typeof command === "string" && GEN_SCRIPT.test(command) && /^[\w:.-]+$/.test(name));
  return found ? `npm run ${found[0]}` : "npx stepwise gen";
}

/** The one way every message of the bin names this project's regenerate command, so `gen --check` and the runtime's REGISTRY_STALE never disagree. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { tryOr } from "./problems.js";

/** How a message tells this project to regenerate: `npm run <name>` for its script that runs exactly `stepwise gen`, else `npx stepwise gen`. */
export function genCommandOf(projectRoot: string): string {
  const scripts = tryOr(() => (JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { scripts?: unknown }).scripts, null);
  if (scripts === null || typeof scripts !== "object") return "npx stepwise gen";
  // The usual name first, so a project with both "gen" and "codegen" is told the shorter one.
  const entries = Object.entries(scripts as Record<string, unknown>).sort(([a], [b]) => Number(b === "gen") - Number(a === "gen"));
  const found = entries.find(([name, command]) => typeof command === "string" && /^\s*(?:npx\s+)?(?:stepwise|tsx\s+\S*codegen\/bin\.ts)\s+gen\s*$/.test(command) && /^[\w:.-]+$/.test(name));
  return found ? `npm run ${found[0]}` : "npx stepwise gen";
}

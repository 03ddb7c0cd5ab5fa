/**
 * goose's `-- +goose ENVSUB ON` … `OFF`: goose runs each line between them through an environment-variable interpolation (mfridman/interpolate) before sending it. Many real files turn it on
 * and substitute nothing; those import as written, the annotation lines dropped. A line it would change is refused, since stepwise runs SQL as written.
 */
import { lineAt } from "./source.js";

/** The first line (1-based) between each `ENVSUB ON` (`ranges`: its index, and where it ends) that goose's interpolation would change, or `null`. Comment-only lines are left out: goose sends them as comments either way. */
export function findEnvsubChange(text: string, ranges: readonly (readonly [number, number])[]): number | null {
  for (const [from, to] of ranges) {
    const first = lineAt(text, from);
    const lines = text.slice(from, to).split("\n");
    for (const [index, raw] of lines.entries()) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (index === 0 || line.trim().startsWith("--")) continue;
      if (changesUnderEnvsub(line)) return first + index;
    }
  }
  return null;
}

/** Whether the interpolation changes `line`: `\$` and `$$` become `$`, a `$` before a name or `{` expands (before anything else it fails); `\\`, `$(` and a line's last `$` stay as written. */
function changesUnderEnvsub(line: string): boolean {
  for (let at = 0; at < line.length; at++) {
    const pair = line.slice(at, at + 2);
    if (pair === "\\\\" || pair === "$(") at++;
    else if (pair === "\\$" || pair === "$$" || (line[at] === "$" && at < line.length - 1)) return true;
  }
  return false;
}

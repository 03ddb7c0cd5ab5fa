/**
 * `stepwise gen --json` and `gen --check --json`: the outcome as one JSON object on stdout, for CI
 * scripts and editors that would otherwise parse `file:line:col: message [CODE]` lines.
 */
import path from "node:path";
import type { GenerateResult } from "./generate.js";
import type { Problem } from "./problems.js";
import type { ReplayOutcome } from "./replay-check.js";

/** The JSON `gen --json` prints. */
export interface GenReport {
  readonly ok: boolean;
  /** As {@link GenerateResult.status}: `written`, `unchanged`, `stale` or `invalid`. */
  readonly status: GenerateResult["status"];
  /** The registry file, relative to the project root, with forward slashes. */
  readonly registryFile: string;
  readonly migrationCount: number;
  readonly latestVersion: number;
  /** Every problem, with its stable `code`, `file`, 1-based `line` and `column`, and `message`. */
  readonly problems: readonly Problem[];
  /** What to run to fix a stale registry; `null` when nothing is stale (problems carry their own fix in `message`). */
  readonly fix: string | null;
  /**
   * `gen --check`'s replay: `{ ran: true, driver, applied, rolledBack, … }`, or `{ ran: false, code,
   * reason }` when it did not run (`code` such as `no-driver`, `reason` whole). `null` for plain `gen`.
   */
  readonly replay: ReplayOutcome | null;
}

/** Builds the {@link GenReport} of one `gen` run; `programName` is how the user runs stepwise. */
export function toGenReport(result: GenerateResult, projectRoot: string, replay: ReplayOutcome | null = null, programName = "stepwise"): GenReport {
  const registryFile = path.relative(projectRoot, result.registryFile).split(path.sep).join("/");
  return {
    ok: result.ok,
    status: result.status,
    registryFile,
    migrationCount: result.migrationCount,
    latestVersion: result.latestVersion,
    problems: result.problems,
    fix: result.status === "stale" ? `run "${programName} gen" and commit ${registryFile}` : null,
    replay,
  };
}

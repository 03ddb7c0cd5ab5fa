/**
 * `stepwise gen --json` and `gen --check --json`: the outcome as one JSON object on stdout, for CI
 * scripts and editors that would otherwise parse `file:line:col: message [CODE]` lines.
 */
import path from "node:path";
import type { GenerateResult } from "./generate.js";
import type { Problem } from "./problems.js";

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
  /** What `--check`'s replay did; `null` when none was asked for (plain `gen`, `--no-replay`) or the checks before it failed. */
  readonly replay: GenReplayReport | null;
}

/** `gen --check`'s replay in {@link GenReport}. */
export interface GenReplayReport {
  /** Whether the migrations were replayed (a postgres registry with no server configured is not). */
  readonly ran: boolean;
  /**
   * Where: `an empty in-memory better-sqlite3 database`, `the scratch database stepwise_scratch_...
   * on the PostgreSQL server at host:port (dropped after)`; `null` when it did not run. Never a secret.
   */
  readonly where: string | null;
  /** The line the text output prints: what it did, or why it did not run; empty when it found problems. */
  readonly note: string;
}

/** Builds the {@link GenReport} of one `gen` run; `programName` is how the user runs stepwise. */
export function toGenReport(result: GenerateResult, projectRoot: string, programName = "stepwise", replay: GenReplayReport | null = null): GenReport {
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

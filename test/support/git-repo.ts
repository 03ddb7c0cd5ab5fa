/**
 * Test support: real git repositories in temp folders, for `stepwise rebase` and `gen --check --base`.
 * Every call runs the real git binary with a fixed identity, so commits work on a machine without a
 * global git config.
 */
import { spawnSync } from "node:child_process";

/** Why git cannot be used here, or `null` when it can: tests skip with this reason printed. */
export function gitUnavailableReason(): string | null {
  const result = spawnSync("git", ["--version"]);
  return result.error ? `git is not installed (${(result.error as NodeJS.ErrnoException).code}); rebase needs it` : null;
}

const IDENTITY = {
  GIT_AUTHOR_NAME: "stepwise test",
  GIT_AUTHOR_EMAIL: "test@example.invalid",
  GIT_COMMITTER_NAME: "stepwise test",
  GIT_COMMITTER_EMAIL: "test@example.invalid",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
};

/** Runs git in `cwd`; throws with its output unless the exit code is one of `allow` (default 0). */
export function git(cwd: string, args: readonly string[], allow: readonly number[] = [0]): string {
  const result = spawnSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, ...IDENTITY } });
  if (result.error) throw result.error;
  if (!allow.includes(result.status ?? -1)) throw new Error(`git ${args.join(" ")} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** `git init` on branch `branch`, ignoring node_modules and databases. */
export function initRepository(cwd: string, branch = "main"): void {
  git(cwd, ["init", "-q", "-b", branch]);
  git(cwd, ["config", "commit.gpgsign", "false"]);
}

/** Stages everything and commits. */
export function commitAll(cwd: string, message: string): void {
  git(cwd, ["add", "-A"]);
  git(cwd, ["commit", "-q", "-m", message]);
}

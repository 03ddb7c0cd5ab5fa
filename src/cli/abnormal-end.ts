/**
 * A command the process ends under before it settles (a migration calling `process.exit`, an error thrown where nothing could catch it, an `await` that can never settle, after which
 * Node exits with code 13) is reported as that command's failure, in the CLI's format, with an exit code that says so; a signal ends the process without an `exit` event, so its
 * code stays the signal's.
 */
import { describeThrownValue, migrationFailedError } from "../core/error-factories.js";
import type { CliOutput } from "./output.js";

/** A failure no stepwise code threw, reported as `UNEXPECTED` in the CLI's format (the stack only with `--verbose`): it is the project's code's, not a bug of stepwise's. */
export class AbnormalEnd extends Error {
  override readonly name: string = "AbnormalEnd";
}

/** What the running command waits on, innermost last, each with the error that names it should the process end first. */
const waits: ((how: string) => Error)[] = [];

/** `work()`, named by `describe(how)` as the failure should the process end before it settles (a module whose import never settles leaves nothing else running). */
export async function whilePending<T>(describe: (how: string) => Error, work: () => Promise<T>): Promise<T> {
  waits.push(describe);
  try {
    return await work();
  } finally {
    waits.splice(waits.lastIndexOf(describe), 1);
  }
}

/** The runs under way, each told when the process ends or an error is thrown where nothing catches it; one listener of each for them all, however many an app runs at once. */
const runs = new Set<{ readonly ended: (code: number) => void; readonly uncaught: (error: unknown) => void }>();
const endAll = (code: number) => runs.forEach((run) => run.ended(code));
const noteAll = (error: unknown) => runs.forEach((run) => run.uncaught(error));

/** Whether a run under way would report the process ending now as its failure. */
export function commandRunning(): boolean {
  return runs.size > 0;
}

/** Node's exit code when the event loop emptied with a top-level `await` unsettled. */
const UNSETTLED_AWAIT = 13;

/** `run()`, whose failure, should the process end before it settles, `report` prints; the process then exits with the code `report` returns. */
export async function reportingAbnormalEnd(output: CliOutput, run: () => Promise<number>, report: (error: Error) => number): Promise<number> {
  let caught: { readonly error: unknown } | null = null;
  const listener = {
    ended: (code: number) => void (process.exitCode = report(describeEnd(output, caught, Number(process.exitCode ?? code)))),
    uncaught: (error: unknown) => void (caught ??= { error }),
  };
  if (runs.size === 0) {
    process.on("exit", endAll);
    process.on("uncaughtExceptionMonitor", noteAll);
  }
  runs.add(listener);
  try {
    return await run();
  } finally {
    runs.delete(listener);
    if (runs.size === 0) {
      process.off("exit", endAll);
      process.off("uncaughtExceptionMonitor", noteAll);
    }
  }
}

/** Why the process ended under the command, as the failure of what it was doing: the migration running, else what it waited on, else the command. */
function describeEnd(output: CliOutput, uncaught: { readonly error: unknown } | null, code: number): Error {
  const how = uncaught
    ? `an error thrown where nothing could catch it (an un-awaited promise's rejection, a timer's callback, most likely left by a migration): ${describeThrownValue(uncaught.error)}`
    : code === UNSETTLED_AWAIT
      ? "an await that can never settle: nothing was left to run"
      : `process.exit(${code}), called by a migration or by code it ran`;
  const running = output.migrating;
  if (running !== null) {
    // Its transaction (with --transaction all, the run's) was never committed: the database rolls it back (SQLite on its next open, a server when the session ends).
    const cause = new Error(`the process ended while it ran, by ${how}`, uncaught ? { cause: uncaught.error } : {});
    return migrationFailedError({ version: running.version, file: running.file, direction: running.direction, rolledBack: running.transaction, cause });
  }
  const waited = waits.at(-1);
  if (waited !== undefined && !uncaught) return waited(how);
  return new AbnormalEnd(`The process ended before the command finished, by ${how}.`, uncaught ? { cause: uncaught.error } : {});
}

#!/usr/bin/env node
/** The `stepwise` bin: {@link createBinCli} on this process's directory, environment and streams. */
import { createBinCli } from "./bin-cli.js";
import { writerIgnoringClosedStream } from "../src/cli/output.js";
import { commandRunning } from "../src/cli/abnormal-end.js";
import { sendConsoleToStderr } from "./console-to-stderr.js";
import path from "node:path";
import { describeThrownValue } from "../src/core/error-factories.js";
import { findStackLocation, tryOr } from "./problems.js";
import { findProjectRoot } from "./config.js";

sendConsoleToStderr();
// A migration's failure is located by its stack (the CLI's "Thrown at"), and the library it calls can take the default ten frames (Knex's runner takes nine) before
// the migration's own are reached; deeper stacks cost only when an error is made.
Error.stackTraceLimit = Math.max(Error.stackTraceLimit, 50);
const args = process.argv.slice(2);
const cwd = tryOr(() => process.cwd(), null);
if (cwd === null) {
  // The shell's folder was removed under it (a branch switch, a clean): there is no project to find, and Node's own error is a stack trace.
  const message = "The working folder no longer exists (it was removed or renamed); cd into the project again and run the command again.";
  if (args.includes("--json")) writerIgnoringClosedStream(process.stdout)(`${JSON.stringify({ error: { code: "USAGE", message, fix: "cd into the project again" } }, null, 2)}\n`);
  writerIgnoringClosedStream(process.stderr)(`error [USAGE]: ${message}\n`);
  process.exitCode = 2;
} else {
  process.on("uncaughtException", (error) => {
    // While a command runs, the CLI reports this as its failure when the process exits; after, what it printed stands, and this error is said after it.
    if (!commandRunning()) reportStrayError(error, args, findProjectRoot(cwd));
    process.exit(1);
  });
  process.exitCode = await createBinCli({ cwd, env: process.env }).run(args);
}

/** An error thrown where nothing could catch it after the command finished (a migration's un-awaited promise or timer), as one `error [UNEXPECTED]` line, with where and, with --verbose, its stack. */
function reportStrayError(error: unknown, args: readonly string[], root: string): void {
  const write = writerIgnoringClosedStream(process.stderr);
  write(
    `error [UNEXPECTED]: After the command finished, an error was thrown where nothing could catch it (an un-awaited promise's rejection or a timer's callback, most likely left by a migration): ${describeThrownValue(error)}. What the command printed before it stands.\n`,
  );
  const at = findStackLocation(error, (file) => file.startsWith(`${root}/`) && !file.includes("/node_modules/"));
  if (at) write(`Thrown at ${path.relative(root, at.file)}:${at.line}:${at.column}\n`);
  if (args.includes("--verbose")) write(`${tryOr(() => String((error as Error).stack), describeThrownValue(error))}\n`);
}

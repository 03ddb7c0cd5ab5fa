#!/usr/bin/env node
/** The `stepwise` bin: {@link createBinCli} on this process's directory, environment and streams. */
import { createBinCli } from "./bin-cli.js";
import { writerIgnoringClosedStream } from "../src/cli/output.js";
import { sendConsoleToStderr } from "./console-to-stderr.js";
import { tryOr } from "./problems.js";

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
} else process.exitCode = await createBinCli({ cwd, env: process.env }).run(args);

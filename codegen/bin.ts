#!/usr/bin/env node
/** The `stepwise` bin: {@link createBinCli} on this process's directory, environment and streams. */
import { createBinCli } from "./bin-cli.js";
import { sendConsoleToStderr } from "./console-to-stderr.js";

sendConsoleToStderr();
// A migration's failure is located by its stack (the CLI's "Thrown at"), and the library it calls can take the default ten frames (Knex's runner takes nine) before
// the migration's own are reached; deeper stacks cost only when an error is made.
Error.stackTraceLimit = Math.max(Error.stackTraceLimit, 50);
process.exitCode = await createBinCli({ cwd: process.cwd(), env: process.env }).run(process.argv.slice(2));

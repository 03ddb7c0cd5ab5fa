#!/usr/bin/env node
/** The `stepwise` bin: {@link createBinCli} on this process's directory, environment and streams. */
import { createBinCli } from "./bin-cli.js";
import { sendConsoleToStderr } from "./console-to-stderr.js";

sendConsoleToStderr();
process.exitCode = await createBinCli({ cwd: process.cwd(), env: process.env }).run(process.argv.slice(2));

/**
 * The bin's stdout carries only its own output (one JSON value under `--json`): a migration runs in the bin's process, and what it prints (`console.log` in a data migration, a progress bar
 * library writing to `process.stdout`) goes to stderr. Called by the bin's entry points only, whose process it is.
 */
import { Console } from "node:console";
import { writerIgnoringClosedStream } from "../src/cli/output.js";

/** Replaces the global console with one whose every method writes to stderr, and sends every other write to `process.stdout` there too, but the CLI's own. */
export function sendConsoleToStderr(): void {
  globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });
  // The CLI's writer, made first, keeps stdout's own write.
  writerIgnoringClosedStream(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
}

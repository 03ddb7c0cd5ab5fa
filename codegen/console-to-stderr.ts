/**
 * The bin's stdout carries only its own output (one JSON value under `--json`): a migration's `console.log` (a data migration reporting progress) runs in the bin's process,
 * so the console the bin's migrations see writes to stderr. Called by the bin's entry points only, whose process it is.
 */
import { Console } from "node:console";

/** Replaces the global console with one whose every method writes to stderr. */
export function sendConsoleToStderr(): void {
  globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });
}

/**
 * Another process on the same database file, with the library of the driver under test, for tests
 * whose point is a lock or a write of *another process* (a second connection in this process would
 * share SQLite's in-process lock table and prove less).
 *
 * Usage: driver-child.ts <driver name> <database> <command> [args]
 * - `write <sql>`: waits at most 200 ms for locks, runs `sql`; prints `written`, or the driver's
 *   classification of the error (`locked`, `readonly`, …).
 * - `hold-write <ms> <signal file>`: takes the write lock (`BEGIN IMMEDIATE`), creates the signal
 *   file, holds the lock `ms` milliseconds, commits.
 */
import { spawnSync, spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SUITE_DRIVERS, currentRuntime } from "./driver-matrix.js";

const script = fileURLToPath(import.meta.url);

/** The command line that runs this file under the running runtime (Bun runs TypeScript itself). */
function commandLine(args: readonly string[]): string[] {
  return currentRuntime() === "bun" ? [script, ...args] : ["--import", import.meta.resolve("tsx"), script, ...args];
}

/** Runs the child to its end and returns its last line of output; fails on a non-zero exit. */
export function runDriverChild(driverName: string, database: string, ...command: string[]): string {
  const child = spawnSync(process.execPath, commandLine([driverName, database, ...command]), { encoding: "utf8", timeout: 60_000 });
  if (child.status !== 0) throw new Error(`driver child failed (${String(child.status)}): ${child.stderr}`);
  return child.stdout.trim().split("\n").pop() ?? "";
}

/** Starts the child without waiting for it; the caller waits for its signal. */
export function startDriverChild(driverName: string, database: string, ...command: string[]): ChildProcess {
  return spawn(process.execPath, commandLine([driverName, database, ...command]), { stdio: "ignore" });
}

async function main(driverName: string, database: string, command: string, args: string[]): Promise<void> {
  const underTest = SUITE_DRIVERS.find((candidate) => candidate.name === driverName);
  if (!underTest) throw new Error(`no driver named ${driverName}`);
  const entry = await underTest.load();
  const native = await underTest.open(database);
  const driver = new entry.MigrationManager(native as never, []).driver;
  try {
    if (command === "write") {
      driver.exec("PRAGMA busy_timeout = 200");
      try {
        driver.exec(args[0]!);
        console.log("written");
      } catch (error) {
        console.log(driver.classifyError(error).kind);
      }
    } else if (command === "hold-write") {
      driver.exec("BEGIN IMMEDIATE");
      writeFileSync(args[1]!, "");
      await new Promise((resolve) => setTimeout(resolve, Number(args[0])));
      driver.exec("COMMIT");
    } else {
      throw new Error(`unknown command ${command}`);
    }
  } finally {
    native.close();
  }
}

if (process.argv[1] === script) {
  const [driverName, database, command, ...args] = process.argv.slice(2);
  await main(driverName!, database!, command!, args);
}

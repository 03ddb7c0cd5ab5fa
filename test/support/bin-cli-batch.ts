/**
 * A child process that runs the bin's own function, `createBinCli` (what `codegen/bin.ts` runs on its
 * process), once per command line given, one after another, in one process of a runtime the test's
 * own is not (Node 24 runs this file with its type stripping, Bun runs TypeScript itself). After each
 * run it lists the folder the runs work in, so a test can tell which run left something there.
 *
 *   <runtime> bin-cli-batch.ts <bin-cli module URL> <cwd> <JSON array of argument arrays>
 *
 * Prints one JSON array: per run, its exit code, stdout, stderr and the folder's sorted entries.
 */
import { readdirSync } from "node:fs";

interface BinCliModule {
  createBinCli(options: { cwd: string; env: NodeJS.ProcessEnv; io: { stdout(text: string): void; stderr(text: string): void; isTTY: boolean } }): { run(args: readonly string[]): Promise<number> };
}

const [moduleUrl, cwd, argsJson] = process.argv.slice(2) as [string, string, string];
const { createBinCli } = (await import(moduleUrl)) as BinCliModule;
const runs: Array<{ code: number; stdout: string; stderr: string; entries: string[] }> = [];
for (const args of JSON.parse(argsJson) as string[][]) {
  let stdout = "";
  let stderr = "";
  const io = { stdout: (text: string) => void (stdout += text), stderr: (text: string) => void (stderr += text), isTTY: false };
  const code = await createBinCli({ cwd, env: { ...process.env, NO_COLOR: "1" }, io }).run(args);
  runs.push({ code, stdout, stderr, entries: readdirSync(cwd).sort() });
}
process.stdout.write(JSON.stringify(runs));

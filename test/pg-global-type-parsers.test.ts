/**
 * An app's type parsers never change what stepwise reads on PostgreSQL. pg's parsers are global
 * (`pg.types.setTypeParser`) or the client's (`types`), and an app installs them for its own data: a
 * text parser that tags every value made the careful path misread `format_type` and refuse a good
 * history table; a `bool` parser answering `false` would make the run lock look never taken. Each run
 * is a child process (parsers are process-wide): the same up, no-op start, status, history, verify
 * and down with hostile parsers installed must answer exactly as without them.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { createTestDatabase } from "./support/postgres-server.js";

/** What the child printed for `mode` on a fresh database. */
async function runChild(mode: "global" | "client" | "none"): Promise<Record<string, unknown>> {
  const database = await createTestDatabase();
  try {
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(import.meta.dirname, "support/pg-type-parsers-child.ts"), database.url, mode], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(code, 0, `the ${mode} child exited ${code}: ${output}`);
    return JSON.parse(output.trim()) as Record<string, unknown>;
  } finally {
    await database.drop();
  }
}

let clean: Promise<Record<string, unknown>> | undefined;
/**
 * The run without parsers, made once on first use. Not at import: in a shard of several files, a file's
 * top-level code runs while the files before it are still testing on the same server.
 */
const baseline = (): Promise<Record<string, unknown>> => (clean ??= runChild("none"));

test("without parsers of its own, the child applies, verifies and reverts every migration (the baseline the hostile runs must equal)", { timeout: 120_000 }, async () => {
  const report = await baseline();
  assert.deepEqual(report.up, [1, 2, 3, 4]);
  assert.deepEqual(report.noop, { direction: "up", fromVersion: 4, toVersion: 4, steps: [] });
  assert.equal((report.status as { currentVersion: number }).currentVersion, 4);
  assert.equal((report.status as { problem: unknown }).problem, null);
  assert.deepEqual(
    (report.history as { version: number; state: string; appliedAt: string; durationMs: string }[]).map((row) => [row.version, row.state, row.appliedAt, row.durationMs]),
    [1, 2, 3, 4].map((version) => [version, "applied", "string", "number"]),
  );
  assert.deepEqual(report.verify, { ok: true, version: 4, differences: [], drift: [] });
  assert.deepEqual(report.downOne, [4]);
  assert.deepEqual(report.downAll, [3, 2, 1]);
  assert.equal(report.currentVersion, 0);
});

for (const mode of ["global", "client"] as const) {
  const where = mode === "global" ? "pg.types.setTypeParser" : "the client's own types";
  test(`hostile parsers for every type (${where}) change nothing stepwise reads: up, no-op start, status, history, verify and down answer as without them`, { timeout: 120_000 }, async () => {
    const [hostile, unparsed] = await Promise.all([runChild(mode), baseline()]);
    assert.deepEqual(hostile, unparsed);
  });
}

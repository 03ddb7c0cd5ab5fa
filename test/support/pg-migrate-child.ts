/**
 * The child process of the pg multi-process tests: `pg-migrate-child.ts <mode>`, an app instance
 * migrating a PostgreSQL database through `stepwise-migrate/pg` as an app would (its own `pg.Pool`). Every line
 * it prints is written with `writeSync`, so a parent that kills it has seen everything it printed.
 *
 * Modes:
 * - `serve`: a long-lived worker. Prints `{"ready": true}`, then for every request line
 *   `{ url, startAt, sideEffectLog }` on stdin waits until `startAt` (so all workers start together),
 *   opens its own pool, runs `up` with `PG_RACE_REGISTRY` and answers a `PgWorkerReply`
 *   line. Exits 0 when stdin ends.
 * - `crash <url> [sideEffectLog]`: prints `migrating N` as each migration starts and `done` at the end;
 *   the parent kills it at a random point.
 */
import { writeSync } from "node:fs";
import { createInterface } from "node:readline";
import pg from "pg";
import { StepwiseError } from "../../src/core/errors.js";
import { migrate } from "../../src/entries/pg.js";
import { PG_RACE_REGISTRY, type PgWorkerReply } from "./pg-race-registry.js";

function print(line: string): void {
  writeSync(1, `${line}\n`);
}

/** The worker's answer for `error`. */
function describeFailure(error: unknown): PgWorkerReply {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return {
    ok: false,
    code: error instanceof StepwiseError ? error.code : null,
    nativeCode: error instanceof StepwiseError ? error.nativeCode : typeof cause?.code === "string" ? cause.code : null,
    message: error instanceof Error ? error.message : String(error),
  };
}

async function serve(): Promise<void> {
  print(JSON.stringify({ ready: true }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === "") continue;
    const request = JSON.parse(line) as { url: string; startAt: number; sideEffectLog: string };
    process.env.STEPWISE_SIDE_EFFECT_LOG = request.sideEffectLog;
    const pool = new pg.Pool({ connectionString: request.url, max: 2 });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, request.startAt - Date.now())));
    let reply: PgWorkerReply;
    try {
      reply = { ok: true, ran: (await migrate(pool, PG_RACE_REGISTRY)).steps.map((step) => step.version) };
    } catch (error) {
      reply = describeFailure(error);
    } finally {
      await pool.end();
    }
    print(JSON.stringify(reply));
  }
}

async function crash(url: string, sideEffectLog: string): Promise<void> {
  if (sideEffectLog) process.env.STEPWISE_SIDE_EFFECT_LOG = sideEffectLog;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    await migrate(pool, PG_RACE_REGISTRY, {
      onEvent: (event) => {
        if (event.type === "migrating") print(`migrating ${event.version}`);
      },
    });
    print("done");
  } finally {
    await pool.end();
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "serve") await serve();
else if (mode === "crash" && args[0]) await crash(args[0], args[1] ?? "");
else throw new Error("usage: pg-migrate-child.ts serve | crash <url> [sideEffectLog]");

/**
 * A long-lived child for concurrency tests. It loads a registry once, then for every IPC message
 * `{ databasePath, startAt, sideEffectLog }` waits until `startAt` (so all workers start together),
 * opens its own connection, runs `up`, and replies with what it ran or the error's code.
 *
 * Usage: concurrent-worker.ts <registry.ts>
 */
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { MigrationManager, StepwiseError } from "./stepwise.js";
import { sqliteCodeOf } from "../../src/core/sqlite-errors.js";
import type { MigrationRegistry } from "../../src/core/types.js";

/** What the parent sends for one trial. */
export interface WorkerRequest {
  readonly databasePath: string;
  readonly startAt: number;
  readonly sideEffectLog: string;
}

/** What the worker answers. */
export type WorkerReply =
  | { readonly ok: true; readonly ran: number[]; readonly skipped: number[] }
  | { readonly ok: false; readonly code: string | null; readonly sqliteCode: string | null; readonly message: string };

const { migrations } = (await import(pathToFileURL(process.argv[2]!).href)) as { migrations: MigrationRegistry };

process.on("message", (request: WorkerRequest) => {
  const run = () => {
    process.env.STEPWISE_SIDE_EFFECT_LOG = request.sideEffectLog;
    let reply: WorkerReply;
    const db = new Database(request.databasePath);
    try {
      const skipped: number[] = [];
      const result = new MigrationManager(db, migrations, {
        onEvent: (event) => {
          if (event.type === "skipped") skipped.push(event.version);
        },
      }).up();
      reply = { ok: true, ran: result.steps.map((step) => step.version), skipped };
    } catch (error) {
      reply = {
        ok: false,
        code: error instanceof StepwiseError ? error.code : null,
        sqliteCode: sqliteCodeOf(error) ?? sqliteCodeOf((error as Error).cause),
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      };
    } finally {
      db.close();
    }
    process.send!(reply);
  };
  setTimeout(run, Math.max(0, request.startAt - Date.now()));
});
process.on("disconnect", () => process.exit(0));
process.send!("ready");

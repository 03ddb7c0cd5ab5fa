/**
 * The runtime CLI on PostgreSQL in-process (`createCli` with `connectPostgres`, as an app's own CLI
 * offers pg), its output captured; and what the pg failure tests share: a session watched from
 * another one, ended by `pg_terminate_backend`, and `pg_hba.conf` lines of the test's own server.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { betterSqlite3Loader, connectPostgres, createCli } from "../../src/cli/index.js";
import { MigrationManager } from "../../src/drivers/pg.js";
import type { MigrationRegistry } from "../../src/core/types.js";
import { postgresServer } from "./postgres-server.js";

/** What one in-process run printed, and its exit code. */
export interface PgCliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `args` through the CLI with pg as its driver (`url` as the app's url setting unless `--url` is in `args`), better-sqlite3 offered beside it. */
export async function runPgCli(migrations: MigrationRegistry, url: string | null, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<PgCliRun> {
  let stdout = "";
  let stderr = "";
  const cli = createCli({
    migrations,
    driver: "pg",
    url,
    drivers: { pg: async () => connectPostgres({ Client: pg.Client, MigrationManager }), "better-sqlite3": betterSqlite3Loader },
    io: { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env, isTTY: false },
  });
  const code = await cli.run(args);
  return { code, stdout, stderr };
}

/** The `--json` error of a run that failed, after checking its exit code. */
export function jsonError(run: PgCliRun, exitCode = 1): Record<string, unknown> & { code: string } {
  if (run.code !== exitCode) throw new Error(`expected exit ${exitCode}, got ${run.code}:\n${run.stdout}\n${run.stderr}`);
  return (JSON.parse(run.stdout) as { error: Record<string, unknown> & { code: string } }).error;
}

/** Whether `text` holds a stack trace (a `    at f (file:1:2)` line) or the CLI's "unexpected error". */
export function showsStack(text: string): boolean {
  return /^\s+at .*:\d+:\d+\)?$/m.test(text) || text.includes("unexpected error");
}

/** Connects a client to `url`, runs `action`, and closes it. */
export async function withPgClient<T>(url: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

/**
 * Waits until a session of `application` (the CLI's is `stepwise`) is connected to `database` and,
 * when given, waiting on `waitEvent` (`Lock`, `Timeout`...) and with a last statement that holds
 * `lastQuery`, then ends it with `pg_terminate_backend`. Returns its pid.
 */
export async function terminateWhen(url: string, database: string, application: string, waitEvent?: string | null, lastQuery?: string): Promise<number> {
  return withPgClient(url, async (admin) => {
    // Up to a deadline, not a count of tries: a loaded machine can take seconds to get the CLI's session there.
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND ($3::text IS NULL OR wait_event_type = $3)
           AND ($4::text IS NULL OR strpos(query, $4) > 0) AND pid <> pg_backend_pid()`,
        [database, application, waitEvent ?? null, lastQuery ?? null],
      );
      if (rows.length > 0) {
        await admin.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
        return rows[0]!.pid;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no session of ${application} on ${database} ${waitEvent ?? ""} appeared`);
  });
}

/**
 * Puts `lines` first in the test server's `pg_hba.conf` (first match wins) until the test ends, and
 * reloads it. `null` when the server was not started by this process (`STEPWISE_PG_URL`).
 */
export async function withHbaLines(t: { after(fn: () => Promise<void>): void }, lines: readonly string[]): Promise<boolean> {
  const server = await postgresServer();
  if (server.dataDir === "") return false;
  const hba = path.join(server.dataDir, "pg_hba.conf");
  const added = lines.map((line) => `${line}\n`).join("");
  const reload = async () => {
    await withPgClient(server.url("postgres"), (admin) => admin.query("SELECT pg_catalog.pg_reload_conf()"));
    // The postmaster reloads on its signal, a moment after the call returns.
    await new Promise((resolve) => setTimeout(resolve, 200));
  };
  writeFileSync(hba, `${added}${readFileSync(hba, "utf8")}`);
  await reload();
  t.after(async () => {
    writeFileSync(hba, readFileSync(hba, "utf8").replace(added, ""));
    await reload();
  });
  return true;
}

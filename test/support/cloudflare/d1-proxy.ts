/**
 * A D1 binding for a test process: every call goes over fetch to a Worker in workerd
 * (`d1-proxy-worker.ts`) that runs it on its real D1 binding. Nothing is simulated: the statements,
 * the batches and their errors are D1's own. One Miniflare per database, so each test gets a fresh one.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import type { D1DatabaseLike } from "../../../src/entries/d1.js";
import type { D1PreparedStatementLike } from "../../../src/drivers/d1.js";
import { bundleWorkerForProcess, COMPATIBILITY_DATE } from "./workerd.js";

const here = path.dirname(fileURLToPath(import.meta.url));
let bundled: Promise<string> | null = null;

/** The proxy Worker, bundled once per process. */
function proxyScript(): Promise<string> {
  bundled ??= bundleWorkerForProcess(path.join(here, "d1-proxy-worker.ts"), "stepwise-d1-proxy-");
  return bundled;
}

/** A fresh D1 database in its own workerd, and bindings on it. */
export interface D1ProxyDatabase {
  /** A binding that reaches the database (call again for another app instance's). */
  binding(): D1DatabaseLike;
  dispose(): Promise<void>;
}

/** Starts workerd with a fresh D1 database. */
export async function startD1Proxy(): Promise<D1ProxyDatabase> {
  const script = await proxyScript();
  const miniflare = new Miniflare({ modules: true, scriptPath: script, modulesRoot: path.dirname(script), compatibilityDate: COMPATIBILITY_DATE, d1Databases: ["DB"] });
  await miniflare.ready;
  const send = async (op: string, statements: { sql: string; params: readonly unknown[] }[]): Promise<unknown> => {
    const response = await miniflare.dispatchFetch("http://d1/", { method: "POST", body: JSON.stringify({ op, statements }) });
    const answer = (await response.json()) as { result?: unknown; error?: string };
    if (answer.error !== undefined) throw new Error(answer.error);
    return answer.result;
  };
  const statement = (sql: string, params: readonly unknown[]): D1PreparedStatementLike & { readonly wire: { sql: string; params: readonly unknown[] } } => ({
    wire: { sql, params },
    bind: (...values) => statement(sql, values),
    all: async () => (await send("all", [{ sql, params }])) as { results?: unknown[] },
    run: async () => (await send("run", [{ sql, params }])) as { meta?: { changes?: number } },
  });
  const binding = (): D1DatabaseLike => ({
    prepare: (sql) => statement(sql, []),
    batch: async (statements) =>
      (await send(
        "batch",
        statements.map((prepared) => (prepared as ReturnType<typeof statement>).wire),
      )) as unknown[],
  });
  return { binding, dispose: () => miniflare.dispose() };
}

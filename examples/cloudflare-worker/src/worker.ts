import { DurableObject } from "cloudflare:workers";
import { migrate as migrateObject } from "stepwise-migrate/durable-objects";
import { migrate as migrateD1 } from "stepwise-migrate/d1";
import { migrations } from "../generated/registry.js";

interface Env {
  COUNTER: DurableObjectNamespace<Counter>;
  DB: D1Database;
}

/** A Durable Object whose SQLite storage is migrated before it serves anything. */
export class Counter extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Runs before any request reaches the object; a failed migration rolls back and fails the object.
    ctx.blockConcurrencyWhile(async () => {
      migrateObject(ctx.storage, migrations);
    });
  }

  visit(page: string): number {
    const sql = this.ctx.storage.sql;
    sql.exec("INSERT INTO visits (page, count, last_seen) VALUES (?, 1, ?) ON CONFLICT (page) DO UPDATE SET count = count + 1, last_seen = excluded.last_seen", page, new Date().toISOString());
    return sql.exec<{ count: number }>("SELECT count FROM visits WHERE page = ?", page).one().count;
  }
}

/** D1 is migrated once per isolate, before the first request that needs it. */
let d1Ready: Promise<unknown> | null = null;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const page = new URL(request.url).pathname;
    if (page.startsWith("/d1/")) {
      d1Ready ??= migrateD1(env.DB, migrations).catch((error: unknown) => {
        d1Ready = null; // try again on the next request
        throw error;
      });
      await d1Ready;
      await env.DB.prepare("INSERT INTO visits (page, count, last_seen) VALUES (?, 1, ?) ON CONFLICT (page) DO UPDATE SET count = count + 1, last_seen = excluded.last_seen")
        .bind(page, new Date().toISOString())
        .run();
      const row = await env.DB.prepare("SELECT count FROM visits WHERE page = ?").bind(page).first<{ count: number }>();
      return Response.json({ store: "d1", page, count: row?.count });
    }
    const counter = env.COUNTER.get(env.COUNTER.idFromName("global"));
    return Response.json({ store: "durable-object", page, count: await counter.visit(page) });
  },
};

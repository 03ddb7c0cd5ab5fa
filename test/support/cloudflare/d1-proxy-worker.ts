/**
 * A Worker that lends its D1 binding to a test process over fetch: POST `{ op, statements }`, where
 * `op` is `all`, `run` or `batch` and each statement is `{ sql, params }`. The test process builds a
 * D1 binding from it (`d1-proxy.ts`), so the stepwise-migrate/d1 driver runs in the test's Node against a
 * real D1 in workerd, and joins the async driver matrix. Errors come back by message, as D1 words them.
 */
interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

interface D1Binding {
  prepare(sql: string): { bind(...values: unknown[]): unknown; all(): Promise<{ results: unknown[] }>; run(): Promise<{ meta: { changes: number } }> };
  batch(statements: unknown[]): Promise<unknown[]>;
}

export default {
  async fetch(request: Request, env: { DB: D1Binding }): Promise<Response> {
    const { op, statements } = (await request.json()) as { op: "all" | "run" | "batch"; statements: Statement[] };
    const prepared = statements.map((statement) => {
      const prepared = env.DB.prepare(statement.sql);
      return statement.params.length === 0 ? prepared : (prepared.bind(...statement.params) as typeof prepared);
    });
    try {
      if (op === "batch") return Response.json({ result: await env.DB.batch(prepared) });
      const only = prepared[0]!;
      if (op === "all") return Response.json({ result: await only.all() });
      return Response.json({ result: await only.run() });
    } catch (error) {
      return Response.json({ error: error instanceof Error ? error.message : String(error) });
    }
  },
};

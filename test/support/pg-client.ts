/**
 * A connected `pg.Client` on a fresh database of the test server, and a recorder of the statements a
 * client sends: what the pg tests that count round trips share.
 */
import type { TestContext } from "node:test";
import pg from "pg";
import { createTestDatabase } from "./postgres-server.js";

/** A connected client on a fresh database, with the database's URL; both are closed and dropped after `t`. */
export async function connectFreshWithUrl(t: TestContext): Promise<{ client: pg.Client; url: string }> {
  const database = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  t.after(async () => {
    await client.end();
    await database.drop();
  });
  return { client, url: database.url };
}

/** A connected client on a fresh database; both are closed and dropped after `t`. */
export async function connectFresh(t: TestContext): Promise<pg.Client> {
  return (await connectFreshWithUrl(t)).client;
}

/** The statements `client` sends while `action` runs, each as its text, in order. */
export async function recordStatements(client: pg.Client, action: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const first = args[0] as string | { text?: string };
    sent.push(typeof first === "string" ? first : (first.text ?? ""));
    return original(...args);
  };
  try {
    await action();
  } finally {
    delete (client as unknown as { query?: unknown }).query;
  }
  return sent;
}

/**
 * The Worker the Cloudflare tests run in workerd: one Durable Object class and one D1 binding, both
 * migrated by stepwise from the registry the test bundled in (`stepwise-test-registry`, an esbuild
 * alias). It exposes the suite's operations as a small RPC over fetch: POST `/do/<object name>` or
 * `/d1` with `{ op, args }`, answered with `{ result }` or `{ error }` (the error's own fields, so
 * tests assert on `code` and structured fields, never on prose).
 */
import { MigrationManager as DurableObjectsManager, migrate as migrateObject } from "../../../src/entries/durable-objects.js";
import { MigrationManager as D1Manager, migrate as migrateD1, type D1DatabaseLike } from "../../../src/entries/d1.js";
import type { DurableObjectStorageLike } from "../../../src/entries/durable-objects.js";
import type { MigrationRegistry } from "../../../src/core/types.js";
import { repairIncompleteMigration } from "../../../src/safety/repair.js";
// @ts-expect-error -- resolved by the test's esbuild alias to the generated registry under test
import { migrations as bundled } from "stepwise-test-registry";

const migrations = bundled as MigrationRegistry;

/** One RPC call. */
interface Call {
  readonly op: "up" | "down" | "status" | "history" | "query" | "exec" | "events" | "race" | "migrate" | "migrate-verify" | "manager-up" | "reset" | "repair" | "kv-put" | "kv-get" | "exec-file";
  readonly args?: Record<string, unknown>;
}

/** An error as plain data: its name, message, every own field and its details (a cause by its message). */
function errorData(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: "NonError", message: String(error) };
  const data: Record<string, unknown> = { name: error.name, message: error.message, className: error.constructor.name };
  // A StepwiseError's details side by side with its code, as the CLI's --json prints them.
  const details = (error as { details?: object }).details ?? {};
  for (const [key, value] of [...Object.entries(error), ...Object.entries(details)]) {
    if (key !== "details") data[key] = value instanceof Error ? { name: value.name, message: value.message } : value;
  }
  return data;
}

async function answer(work: () => unknown): Promise<Response> {
  try {
    return Response.json({ result: (await work()) ?? null });
  } catch (error) {
    return Response.json({ error: errorData(error) });
  }
}

/** The object's key-value API, which an object may use besides SQL (it keeps its pairs in the same SQLite database). */
interface KeyValueStorage {
  put(key: string, value: unknown): Promise<void>;
  get(key: string): Promise<unknown>;
}

/** The Durable Object under test: every call builds a manager on its storage, as an app's constructor would. */
export class MigratedObject {
  private readonly storage: DurableObjectStorageLike & KeyValueStorage;

  constructor(ctx: { storage: DurableObjectStorageLike & KeyValueStorage }) {
    this.storage = ctx.storage;
  }

  async fetch(request: Request): Promise<Response> {
    const call = (await request.json()) as Call;
    const args = call.args ?? {};
    if (call.op === "kv-put") return answer(() => this.storage.put(String(args.key), args.value));
    if (call.op === "kv-get") return answer(() => this.storage.get(String(args.key)));
    return answer(() => {
      const events: unknown[] = [];
      switch (call.op) {
        case "query":
          return this.storage.sql.exec(String(args.sql)).toArray();
        case "exec":
          return void this.storage.sql.exec(String(args.sql)).toArray();
        case "exec-file":
          // A SQL file of several statements, all or nothing, as an object runs `stepwise adopt --write-sql`'s file.
          return this.storage.transactionSync(() => void this.storage.sql.exec(String(args.sql)).toArray());
        case "up":
          return new DurableObjectsManager(this.storage, migrations).up(args);
        case "events":
          new DurableObjectsManager(this.storage, migrations, { onEvent: (event) => events.push(event) }).up(args);
          return events;
        case "down":
          return new DurableObjectsManager(this.storage, migrations).down(args);
        case "status":
          return new DurableObjectsManager(this.storage, migrations).status();
        case "history":
          return new DurableObjectsManager(this.storage, migrations).history();
        case "reset":
          return new DurableObjectsManager(this.storage, migrations).reset({ dangerouslyDropAllData: true });
        // `repairIncompleteMigration` from the root entry, with `args` as its options.
        case "repair":
          return repairIncompleteMigration(new DurableObjectsManager(this.storage, migrations), args as never);
        // The entry's `migrate`, with `args` as its options (props and up's), as a Worker calls it.
        case "migrate": {
          const result = migrateObject(this.storage, migrations, { ...args, onEvent: (event) => events.push(event) });
          return { result, events };
        }
        // `migrate` asked to verify first, with a function (a JSON argument cannot carry one).
        case "migrate-verify":
          return migrateObject(this.storage, migrations, { ...args, verifySchema: (() => undefined) as never });
        // What a manager built with `args` as its props does on `up()`: the reference `migrate` is held to.
        case "manager-up":
          return new DurableObjectsManager(this.storage, migrations, args).up();
      }
    });
  }
}

export default {
  async fetch(request: Request, env: { OBJ: { idFromName(name: string): unknown; get(id: unknown): { fetch(request: Request): Promise<Response> } }; DB: D1DatabaseLike }): Promise<Response> {
    const url = new URL(request.url);
    const [, kind, name] = url.pathname.split("/");
    if (kind === "do") return env.OBJ.get(env.OBJ.idFromName(name ?? "default")).fetch(request);
    const call = (await request.json()) as Call;
    const args = call.args ?? {};
    return answer(async () => {
      switch (call.op) {
        case "query":
          return (await env.DB.prepare(String(args.sql)).all()).results;
        case "exec":
          return void (await env.DB.prepare(String(args.sql)).run());
        case "up":
          return new D1Manager(env.DB, migrations).up(args);
        case "down":
          return new D1Manager(env.DB, migrations).down(args);
        case "status":
          return new D1Manager(env.DB, migrations).status();
        case "history":
          return new D1Manager(env.DB, migrations).history();
        case "repair":
          return repairIncompleteMigration(new D1Manager(env.DB, migrations), args as never);
        case "migrate": {
          const events: unknown[] = [];
          const result = await migrateD1(env.DB, migrations, { ...args, onEvent: (event) => events.push(event) });
          return { result, events };
        }
        case "migrate-verify":
          return migrateD1(env.DB, migrations, { ...args, verifySchema: () => undefined } as never);
        case "manager-up":
          return new D1Manager(env.DB, migrations, args).up();
        case "events": {
          const events: unknown[] = [];
          await new D1Manager(env.DB, migrations, { onEvent: (event) => events.push(event) }).up(args);
          return events;
        }
        case "race": {
          // `count` managers (or `migrate` calls, with `args.migrate`) at once in this isolate: they interleave at every D1 call.
          const runs = Array.from({ length: Number(args.count) }, async () => {
            const events: unknown[] = [];
            try {
              const onEvent = (event: unknown) => void events.push(event);
              if (args.migrate) {
                await migrateD1(env.DB, migrations, { onEvent });
                return { events };
              }
              const manager = new D1Manager(env.DB, migrations, { onEvent });
              await (args.direction === "down" ? manager.down({ to: 0 }) : manager.up());
              return { events };
            } catch (error) {
              return { events, error: errorData(error) };
            }
          });
          return Promise.all(runs);
        }
      }
    });
  },
};

/**
 * The Worker that runs the shared async suite's Durable Objects line in workerd: one Durable Object
 * class, `SuiteObject`, whose SQLite storage is the database under test (a fresh object name per
 * database, so a fresh storage). The test process (`object-suite.ts`) sends each manager call,
 * `migrate` call, safety net and read as one POST to `/<object name>`; the object builds the manager
 * on its own `ctx.storage` with stepwise-migrate/durable-objects, as an app's constructor would, runs the
 * call there, on its real storage with its real `transactionSync`, and answers with data
 * (`object-wire.ts`): the result, or the error with its class and every field.
 *
 * A TypeScript migration's bodies cross as their source and are rebuilt here with workerd's unsafe
 * eval binding. A body sees only its own parameters and the suite's shared helpers below (`runSql`,
 * `execOn`), which do here what the test files' own do on every other driver, so a body that closes
 * over a test's local state cannot cross: such a test records through the database instead. A
 * manager's events are collected here and returned with the answer; the test process hands them
 * to its `onEvent` when the call settles, in order (not as they happen: the call is one request).
 */
import { createDurableObjectsDriver } from "../../../src/drivers/durable-objects.js";
import { MigrationManager, migrate, type DurableObjectSql, type DurableObjectStorageLike } from "../../../src/entries/durable-objects.js";
import { baselineDatabase } from "../../../src/safety/baseline.js";
import { listChecksumRepairs, repairChecksums } from "../../../src/safety/checksum-repair.js";
import { rehearseUpAsync } from "../../../src/safety/rehearsal.js";
import { verifySchema } from "../../../src/safety/verify.js";
import type { MigrationRegistry } from "../../../src/core/types.js";
import { decodeValue, encodeValue, type ObjectAnswer, type ObjectCall, type Wire, type WireModule } from "./object-wire.js";

/** workerd's unsafe eval binding (Miniflare's `unsafeEvalBinding`). */
interface UnsafeEval {
  newFunction(script: string, name?: string, ...args: string[]): (...args: unknown[]) => unknown;
}

/** The suite's `runSql(db, sql)`: statements without bound values on a body's connection (here `ctx.storage.sql`). */
function runSql(db: DurableObjectSql, sql: string): void {
  db.exec(sql).toArray();
}

/** The matrix's `execOn(connection, sql, params)`: one statement with `?` values, in the library's own API. */
function execOn(db: DurableObjectSql, sql: string, params: readonly unknown[] = []): void {
  db.exec(sql, ...params).toArray();
}

/** The suite's `startSql(db, sql)`: a statement started and not awaited; the storage's API is sync, so it has run (or thrown) when this returns. */
function startSql(db: DurableObjectSql, sql: string): unknown {
  return db.exec(sql).toArray();
}

/** What a rebuilt body may name besides its parameters. `__name` is what tsx's transform calls to keep a function's name. */
const HELPERS: Record<string, unknown> = { runSql, execOn, startSql, __name: (target: unknown) => target };

/** The safety nets a test may ask the object to run on its manager, by the name the test calls them. */
const NETS: Record<string, (manager: never, ...args: never[]) => unknown> = {
  verifySchema,
  verifySchemaAsync: verifySchema,
  baselineDatabase,
  baselineDatabaseAsync: baselineDatabase,
  repairChecksums,
  repairChecksumsAsync: repairChecksums,
  listChecksumRepairs,
  rehearseUpAsync,
};

function plainError(error: { className: string; name: string; message: string }, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(error.message), { name: error.name }, fields);
}

/** The Durable Object under test; see the module note. */
export class SuiteObject {
  private readonly storage: DurableObjectStorageLike;
  private readonly unsafeEval: UnsafeEval;

  constructor(ctx: { storage: DurableObjectStorageLike }, env: { UNSAFE_EVAL: UnsafeEval }) {
    this.storage = ctx.storage;
    this.unsafeEval = env.UNSAFE_EVAL;
  }

  /** A crossed registry as entries again, each TypeScript body rebuilt from its source. */
  private registry(wire: readonly Wire[]): MigrationRegistry {
    return wire.map((entry) => {
      const decoded = decodeValue(entry, plainError);
      if (decoded === null || typeof decoded !== "object") return decoded;
      const { module, ...rest } = decoded as Record<string, unknown> & { module?: WireModule };
      if (module === undefined) return rest;
      const rebuilt: Record<string, unknown> = { ...module.data };
      for (const [name, source] of Object.entries(module.$functions)) {
        rebuilt[name] = this.unsafeEval.newFunction(`return (${source});`, `${String(rest.file)}#${name}`, ...Object.keys(HELPERS))(...Object.values(HELPERS));
      }
      return { ...rest, module: rebuilt };
    }) as unknown as MigrationRegistry;
  }

  async fetch(request: Request): Promise<Response> {
    const call = (await request.json()) as ObjectCall;
    const events: unknown[] = [];
    const onEvent = (event: unknown) => void events.push(event);
    const props = (wire: Record<string, Wire>, collect: boolean) => ({ ...(decodeValue(wire, plainError) as Record<string, unknown>), ...(collect ? { onEvent } : {}) });
    let answer: ObjectAnswer;
    try {
      answer = { result: encodeValue(await this.run(call, props)), events: [] };
    } catch (error) {
      answer = { error: encodeValue(error), events: [] };
    }
    return Response.json({ ...answer, events: encodeValue(events) });
  }

  private run(call: ObjectCall, props: (wire: Record<string, Wire>, collect: boolean) => Record<string, unknown>): unknown {
    switch (call.op) {
      case "describe": {
        const driver = createDurableObjectsDriver(this.storage);
        return { name: driver.name, dialect: driver.dialect, async: driver.async, capabilities: driver.capabilities };
      }
      case "query":
        return this.storage.sql.exec(call.sql, ...(decodeValue(call.params, plainError) as unknown[])).toArray();
      case "migrate":
        return migrate(this.storage, this.registry(call.registry), props(call.options, call.collectEvents));
      case "manager": {
        const manager = new MigrationManager(this.storage, this.registry(call.registry), props(call.props, call.collectEvents)) as unknown as Record<string, (...args: unknown[]) => unknown>;
        const method = manager[call.method];
        if (typeof method !== "function") throw new TypeError(`the manager has no method ${call.method}`);
        return method.apply(manager, decodeValue(call.args, plainError) as unknown[]);
      }
      case "net": {
        const net = NETS[call.name];
        if (net === undefined) throw new TypeError(`no safety net ${call.name} is wired into the suite's object`);
        const manager = new MigrationManager(this.storage, this.registry(call.registry), props(call.props, call.collectEvents));
        return net(manager as never, ...(decodeValue(call.args, plainError) as never[]));
      }
    }
  }
}

export default {
  async fetch(request: Request, env: { OBJ: { idFromName(name: string): unknown; get(id: unknown): { fetch(request: Request): Promise<Response> } } }): Promise<Response> {
    const name = decodeURIComponent(new URL(request.url).pathname.slice(1));
    return env.OBJ.get(env.OBJ.idFromName(name)).fetch(request);
  },
};

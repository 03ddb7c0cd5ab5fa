/** `context.forEachBatch` on the async drivers: the walk through the driver's primitives; the handler may be `async` and gets the connection to write through. */
import type { AsyncDriver } from "./driver.js";
import { driveWalk, walkBatches, type BatchDialect } from "./batch-walk.js";
import type { BatchOptions, BatchSummary, MigrationContext, MigrationDirection, MigrationEntry } from "./types.js";

/** A batch handler on an async driver: it may return a promise, and writes through `db`. */
export type AsyncBatchHandler<Row extends Record<string, unknown>, Db> = (rows: Row[], db: Db) => void | Promise<void>;

/** The context a TypeScript migration receives on an async driver: its `forEachBatch` returns a promise. */
export interface AsyncMigrationContext<Db = unknown> extends Omit<MigrationContext, "forEachBatch"> {
  /**
   * Walks a table in keyed batches, as {@link MigrationContext.forEachBatch} does; `handle` may be `async` and gets the connection to write through. `where` takes `?`.
   *
   * @example
   * await context.forEachBatch({ table: "items", columns: ["label"] }, async (rows, db) => {
   *   for (const row of rows) await db.query("UPDATE items SET label_upper = upper(label) WHERE id = $1", [row.id]);
   * });
   */
  forEachBatch<Row extends Record<string, unknown> = Record<string, unknown>>(options: BatchOptions, handle: AsyncBatchHandler<Row, Db>): Promise<BatchSummary>;
}

/** The context of `entry` on `driver`; `connection` is what a handler writes through at that moment. */
export function createAsyncMigrationContext<Db>(
  driver: AsyncDriver<unknown>,
  dialect: BatchDialect,
  connection: () => Db,
  entry: MigrationEntry,
  direction: MigrationDirection,
  progress: (done: number, total: number | null) => void,
): MigrationContext {
  const forEachBatch = async (options: BatchOptions, handle: AsyncBatchHandler<Record<string, unknown>, Db>) =>
    driveWalk(walkBatches(dialect, options, entry, await driver.inTransaction(), progress), async (request) => {
      if (request.kind === "rows") return driver.query(request.sql, request.params);
      if (!request.ownTransaction) return handle(request.rows, connection());
      await driver.begin("immediate");
      try {
        await handle(request.rows, connection());
        // Inside the try: a failed COMMIT must not leave the batch open.
        await driver.commit();
      } catch (error) {
        await driver.rollback();
        throw error;
      }
    });
  return { version: entry.version, name: entry.name, direction, progress, forEachBatch: forEachBatch as unknown as MigrationContext["forEachBatch"] };
}

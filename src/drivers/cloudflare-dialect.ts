/** The SQLite dialect as Cloudflare's storage (Durable Objects, D1) needs it. Both refuse transaction control in SQL, temporary tables and most pragmas (`SQLITE_AUTH`), so there is no escape guard
 * (no statement can end the transaction) and the history table is the only record of the version. Tables named `_cf_...` are the storage's own (`_cf_KV` holds `ctx.storage.put`'s pairs), not the
 * user's schema. */
import { createHistoryGuard } from "../core/history-guard.js";
import type { Dialect } from "../core/dialect.js";
import type { ListSchemaObjectsOptions, SchemaObject } from "../core/schema-objects.js";
import { SQLITE_DIALECT } from "../core/dialects/sqlite.js";
import type { ErrorClassification } from "../core/driver.js";
import { classifySqliteError } from "../core/define-driver.js";
import type { Step } from "../core/step.js";
import { classifySafely, migrationFailedError } from "../core/error-factories.js";
import { locateFromFailure } from "../core/sql-location.js";

/** What the storage's bare "not authorized" means: a statement it never runs, whatever the migration's mode, so the migration has to change. */
const REFUSED_STATEMENT_HINT =
  "Cloudflare's storage refuses this statement: it runs no ATTACH or DETACH, no TEMP table, view or trigger, no virtual table but fts5, and only some PRAGMAs; remove it from the migration, or make the same change with statements the storage runs";

/** The dialect of a Cloudflare manager; `connectionSettings`: a run puts back the settings a migration changed (Durable Objects; not D1, where each statement is a request of its own). */
export function createCloudflareDialect(connectionSettings: boolean): Dialect {
  return {
    ...SQLITE_DIALECT,
    readSchemaObjects: function* (options?: ListSchemaObjectsOptions): Step<SchemaObject[]> {
      return (yield* SQLITE_DIALECT.readSchemaObjects(options)).filter((object) => !isStorageOwn(object.name) && !isStorageOwn(object.tblName));
    },
    startEscapeGuard: undefined,
    // No temp schema: the triggers live in main, made and dropped inside each migration's transaction or batch.
    guardHistory: (store) => createHistoryGuard(store, { schema: "main" }),
    describeFailure: function* ({ entry, direction, cause, rolledBack, origin, classification }) {
      if (origin !== "body" || classification.nativeCode !== "SQLITE_AUTH") return null;
      const location = locateFromFailure(entry, direction, cause);
      return migrationFailedError({ version: entry.version, file: entry.file, direction, cause, rolledBack, location, hint: REFUSED_STATEMENT_HINT, notes: `Hint: ${REFUSED_STATEMENT_HINT}.` });
    },
    ...(connectionSettings ? {} : { snapshotConnectionSettings: undefined, restoreConnectionSettings: undefined }),
  };
}

/** Reads the SQLite code Cloudflare's errors end their message with (`"UNIQUE constraint failed: t.id: SQLITE_CONSTRAINT"`, `"D1_ERROR: ...: SQLITE_ERROR"`); they carry no code field. Never throws.
 * */
export function classifyCloudflareError(error: unknown): ErrorClassification {
  return classifySafely((thrown) => classifySqliteError({ code: /(SQLITE_[A-Z_]+)\s*$/.exec(thrown instanceof Error ? thrown.message : "")?.[1] }), error);
}

/** Whether `name` is one of the storage's own tables (`_cf_KV`, `_cf_METADATA`). */
function isStorageOwn(name: string): boolean {
  return name.toLowerCase().startsWith("_cf_");
}

/**
 * A start with everything applied, on every driver available on this runtime, with registries whose
 * checksums have the format `gen` writes (64 lowercase hex digits): it runs nothing and emits
 * `nothing-pending`; every history that is not "all applied, unchanged" (a changed, swapped,
 * upper-cased, non-text or case-folded checksum, a checksum past ASCII, an interrupted row, an extra
 * or missing row, a table of another shape, a view) is refused with its code and fields; a legacy
 * checksum and a target are honoured.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import type { MigrationEntry, MigrationRegistry } from "../src/core/types.js";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { stepwiseFailure } from "./support/stepwise-failure.js";

/** A checksum in gen's format, different for every seed. */
function hexChecksum(seed: string): string {
  return createHash("sha256").update(seed).digest("hex");
}

function sqlEntry(version: number): MigrationEntry {
  return {
    kind: "sql",
    version,
    name: `table_${version}`,
    file: `migrations/${String(version).padStart(3, "0")}_table_${version}.sql`,
    description: null,
    checksum: hexChecksum(`migration ${version}`),
    reversible: true,
    transaction: true,
    disableForeignKeys: false,
    upSql: `CREATE TABLE t${version} (id INTEGER PRIMARY KEY)`,
    downSql: `DROP TABLE t${version}`,
  };
}

const registry: MigrationRegistry = [1, 2, 3, 4, 5].map(sqlEntry);

/** Rebuilds the history table as `createSql` declares it, keeping its rows. */
function rebuildHistory(db: TestDatabase, createSql: string): void {
  db.exec(
    `CREATE TABLE history_copy AS SELECT * FROM schema_migrations; DROP TABLE schema_migrations; ${createSql}; ` +
      `INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state) SELECT version, name, checksum, applied_at, duration_ms, state FROM history_copy; DROP TABLE history_copy`,
  );
}

await describeEachDriver("a no-op start and its refusals", (h) => {
  test("with everything applied, a start runs nothing", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      assert.deepEqual(db.manager(registry).up(), { direction: "up", fromVersion: 5, toVersion: 5, steps: [] });
    }));

  test("emits nothing-pending with the current version", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      const events: unknown[] = [];
      db.migrate(registry, { onEvent: (event: unknown) => events.push(event) });
      assert.deepEqual(events, [{ type: "nothing-pending", direction: "up", currentVersion: 5 }]);
    }));

  test("a changed checksum in the middle of the history is CHECKSUM_MISMATCH naming that version", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      db.exec(`UPDATE schema_migrations SET checksum = '${hexChecksum("edited")}' WHERE version = 3`);
      assert.throws(() => db.migrate(registry), stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 3, databaseChecksum: hexChecksum("edited"), registryChecksum: registry[2]!.checksum }));
    }));

  test("two rows with each other's checksums are CHECKSUM_MISMATCH: the comparison is per version, not per position", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      db.exec(`UPDATE schema_migrations SET checksum = CASE version WHEN 2 THEN '${registry[2]!.checksum}' ELSE '${registry[1]!.checksum}' END WHERE version IN (2, 3)`);
      assert.throws(() => db.migrate(registry), stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 2 }));
    }));

  test("a checksum in upper case is CHECKSUM_MISMATCH, also in a table that folds case (COLLATE NOCASE)", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      rebuildHistory(
        db,
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL COLLATE NOCASE, applied_at TEXT NOT NULL, duration_ms INTEGER, state TEXT NOT NULL DEFAULT 'applied' COLLATE NOCASE, owner TEXT)",
      );
      db.exec("UPDATE schema_migrations SET checksum = upper(checksum) WHERE version = 4");
      assert.throws(() => db.migrate(registry), stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 4 }));
    }));

  test("a state that only matches 'applied' when case is folded is refused as an invalid row (unknown-state)", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      rebuildHistory(
        db,
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER, state TEXT NOT NULL COLLATE NOCASE, owner TEXT)",
      );
      db.exec("UPDATE schema_migrations SET state = 'APPLIED' WHERE version = 2");
      assert.throws(() => db.migrate(registry), stepwiseFailure({ code: "HISTORY_TABLE_INVALID", version: 2, problem: "unknown-state" }));
    }));

  test("a registry checksum past ASCII against byte-shifted slices of it is CHECKSUM_MISMATCH", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      // 64 characters in JavaScript, 65 bytes in UTF-8: every slice of the joined checksums after it
      // starts one byte later. The history is made to hold exactly those shifted slices, which a proof
      // that sliced without checking the byte length would take for the registry's checksums.
      const odd = `\u00e9${registry[1]!.checksum.slice(1)}`;
      const shifted = registry.map((entry) => (entry.version === 2 ? { ...entry, checksum: odd } : entry));
      const bytes = new TextEncoder().encode(shifted.map((entry) => entry.checksum).join(""));
      const decoder = new TextDecoder();
      for (const entry of shifted) {
        const slice = decoder.decode(bytes.subarray((entry.version - 1) * 64, entry.version * 64));
        db.exec(`UPDATE schema_migrations SET checksum = '${slice.replace(/'/g, "''")}' WHERE version = ${entry.version}`);
      }
      assert.throws(() => db.migrate(shifted), stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 2 }));
    }));

  test("a checksum stored as a blob of the same bytes is refused as an invalid row (checksum-not-text)", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      db.exec("UPDATE schema_migrations SET checksum = CAST(checksum AS BLOB) WHERE version = 5");
      assert.throws(() => db.migrate(registry), stepwiseFailure({ code: "HISTORY_TABLE_INVALID", version: 5, problem: "checksum-not-text" }));
    }));

  test("a row of a version the registry lacks is DATABASE_AHEAD", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      db.exec(
        `INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state) VALUES (6, 'table_6', '${hexChecksum("migration 6")}', '2026-11-22T00:00:00.000Z', 1, 'applied')`,
      );
      assert.throws(() => db.migrate(registry), stepwiseFailure({ code: "DATABASE_AHEAD", unknownVersions: [6] }));
    }));

  test("a missing row below the newest is HISTORY_OUT_OF_ORDER", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      db.exec("DELETE FROM schema_migrations WHERE version = 3");
      assert.throws(() => db.migrate(registry), stepwiseFailure({ code: "HISTORY_OUT_OF_ORDER", missingVersions: [3] }));
    }));

  test("an interrupted row whose owner is gone is INCOMPLETE_MIGRATION", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      db.exec("UPDATE schema_migrations SET state = 'started' WHERE version = 5");
      assert.throws(
        () => db.migrate(registry, { busyTimeoutMs: 50 }),
        (error: { code?: string; details?: { version?: number } }) => {
          assert.ok(error.code === "INCOMPLETE_MIGRATION" || error.code === "MIGRATION_IN_PROGRESS", String(error.code));
          assert.equal(error.details?.version, 5);
          return true;
        },
      );
    }));

  test("a history table without a column stepwise writes is HISTORY_TABLE_INVALID naming it", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      db.exec(
        "CREATE TABLE history_copy AS SELECT version, name, checksum, applied_at, state FROM schema_migrations; DROP TABLE schema_migrations; " +
          "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'applied'); " +
          "INSERT INTO schema_migrations SELECT * FROM history_copy; DROP TABLE history_copy",
      );
      assert.throws(() => db.migrate(registry), stepwiseFailure({ code: "HISTORY_TABLE_INVALID", missingColumns: ["duration_ms"] }));
    }));

  test("a history table whose version is not its INTEGER PRIMARY KEY is HISTORY_TABLE_INVALID", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      rebuildHistory(
        db,
        "CREATE TABLE schema_migrations (version INT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER, state TEXT NOT NULL DEFAULT 'applied', owner TEXT)",
      );
      assert.throws(() => db.migrate(registry), { code: "HISTORY_TABLE_INVALID" });
    }));

  test("a view in the history table's place is HISTORY_TABLE_INVALID", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      db.exec("ALTER TABLE schema_migrations RENAME TO history_rows; CREATE VIEW schema_migrations AS SELECT * FROM history_rows");
      assert.throws(() => db.migrate(registry), { code: "HISTORY_TABLE_INVALID" });
    }));

  test("a row recorded under an entry's legacy checksum still counts as applied", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      const upgraded = registry.map((entry) => (entry.version === 2 ? { ...entry, checksum: hexChecksum("new format 2"), legacyChecksum: entry.checksum } : entry));
      assert.deepEqual(db.migrate(upgraded).steps, []);
    }));

  test("a target: the latest is a no-op, an older one INVALID_TARGET", () =>
    h.withDatabase((db) => {
      db.migrate(registry);
      assert.deepEqual(db.migrate(registry, { to: 5 }).steps, []);
      assert.throws(() => db.migrate(registry, { to: 3 }), stepwiseFailure({ code: "INVALID_TARGET", target: 3 }));
    }));

  test("a pending migration still runs", () =>
    h.withDatabase((db) => {
      db.migrate(registry.slice(0, 4));
      assert.deepEqual(
        db.migrate(registry).steps.map((step) => step.version),
        [5],
      );
    }));
});

/**
 * The pure planner: no database, registries built in memory. Every refusal is asserted on its code
 * and fields.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  assertRegistryForDriver,
  describeStatus,
  findHistoryProblem,
  findRegistryProblems,
  planDown,
  planUp,
  type AppliedMigration,
  type AppliedMigrationKey,
  type MigrationEntry,
  type SqlMigrationEntry,
} from "./support/stepwise.js";
import { factsOf, stepwiseFailure } from "./support/stepwise-failure.js";

function entry(version: number, overrides: Partial<SqlMigrationEntry> = {}): SqlMigrationEntry {
  const downSql = overrides.downSql === undefined ? `DROP TABLE t${version}` : overrides.downSql;
  return {
    kind: "sql",
    version,
    name: `step_${version}`,
    file: `migrations/${String(version).padStart(3, "0")}_step_${version}.sql`,
    description: null,
    checksum: `sum-${version}`,
    reversible: downSql !== null,
    transaction: true,
    disableForeignKeys: false,
    upSql: `CREATE TABLE t${version} (id INTEGER)`,
    ...overrides,
    downSql,
  };
}

function registryOf(count: number, overrides: Record<number, Partial<SqlMigrationEntry>> = {}): SqlMigrationEntry[] {
  return Array.from({ length: count }, (_, i) => entry(i + 1, overrides[i + 1]));
}

function applied(...versions: number[]): AppliedMigrationKey[] {
  return versions.map((version) => ({ version, checksum: `sum-${version}`, startedAt: null }));
}

function fullRows(keys: readonly AppliedMigrationKey[]): AppliedMigration[] {
  return keys.map((key) => ({
    version: key.version,
    name: `step_${key.version}`,
    checksum: key.checksum,
    appliedAt: key.startedAt ?? "2024-01-01T00:00:00.000Z",
    durationMs: key.startedAt === null ? 1 : null,
    state: key.startedAt === null ? "applied" : "started",
  }));
}

const versionsOf = (steps: readonly MigrationEntry[]) => steps.map((step) => step.version);

describe("planUp", () => {
  test("a fresh database plans every migration in ascending order", () => {
    const plan = planUp(registryOf(4), []);
    assert.equal(plan.direction, "up");
    assert.equal(plan.fromVersion, 0);
    assert.equal(plan.toVersion, 4);
    assert.deepEqual(versionsOf(plan.steps), [1, 2, 3, 4]);
  });

  test("plans only what is pending, up to `to`", () => {
    const plan = planUp(registryOf(5), applied(1, 2), { to: 4 });
    assert.deepEqual([plan.fromVersion, plan.toVersion], [2, 4]);
    assert.deepEqual(versionsOf(plan.steps), [3, 4]);
  });

  test("an up-to-date database plans nothing", () => {
    assert.deepEqual(planUp(registryOf(3), applied(1, 2, 3)).steps, []);
    assert.deepEqual(planUp(registryOf(3), applied(1, 2), { to: 2 }).steps, []);
    assert.deepEqual(planUp([], []).steps, []);
  });

  test("a target beyond the latest version is refused", () => {
    assert.throws(() => planUp(registryOf(3), [], { to: 4 }), stepwiseFailure({ code: "INVALID_TARGET", target: 4 }));
    assert.throws(() => planUp(registryOf(3), [], { to: -1 }), stepwiseFailure({ code: "INVALID_TARGET", target: -1 }));
    assert.throws(() => planUp(registryOf(3), [], { to: 1.5 }), stepwiseFailure({ code: "INVALID_TARGET", target: 1.5 }));
  });

  test("a to or steps that is not a number (from JavaScript, or parsed JSON) is USAGE, not a migration that does not exist", () => {
    const notNumbers = ["2", 2n, null, true];
    for (const value of notNumbers) {
      assert.throws(() => planUp(registryOf(3), [], { to: value as never }), stepwiseFailure({ code: "USAGE" }), String(value));
      assert.throws(() => planDown(registryOf(3), applied(1, 2), { to: value as never }), stepwiseFailure({ code: "USAGE" }), String(value));
      assert.throws(() => planDown(registryOf(3), applied(1, 2), { steps: value as never }), stepwiseFailure({ code: "USAGE" }), String(value));
    }
  });

  test("a target below the current version is refused rather than silently reverting", () => {
    assert.throws(() => planUp(registryOf(3), applied(1, 2, 3), { to: 1 }), stepwiseFailure({ code: "INVALID_TARGET", target: 1 }));
  });
});

describe("planDown", () => {
  test("defaults to one step, newest first", () => {
    const plan = planDown(registryOf(3), applied(1, 2, 3));
    assert.equal(plan.direction, "down");
    assert.deepEqual([plan.fromVersion, plan.toVersion], [3, 2]);
    assert.deepEqual(versionsOf(plan.steps), [3]);
  });

  test("by steps, in descending order", () => {
    const plan = planDown(registryOf(4), applied(1, 2, 3, 4), { steps: 3 });
    assert.deepEqual(versionsOf(plan.steps), [4, 3, 2]);
    assert.equal(plan.toVersion, 1);
  });

  test("to 0 reverts everything; to the current version reverts nothing", () => {
    assert.deepEqual(versionsOf(planDown(registryOf(3), applied(1, 2, 3), { to: 0 }).steps), [3, 2, 1]);
    assert.deepEqual(planDown(registryOf(3), applied(1, 2, 3), { to: 3 }).steps, []);
    assert.deepEqual(planDown(registryOf(3), [], { to: 0 }).steps, []);
    // With no steps or target given, nothing applied is nothing to revert, as nothing pending is for up.
    assert.deepEqual(planDown(registryOf(3), [], {}), { direction: "down", fromVersion: 0, toVersion: 0, steps: [] });
  });

  test("steps beyond what is applied, zero steps, and targets above the current version are refused", () => {
    // A count names no version: target is null, never one below 0.
    assert.throws(() => planDown(registryOf(3), applied(1, 2), { steps: 100 }), stepwiseFailure({ code: "INVALID_TARGET", target: null, steps: 100, currentVersion: 2 }));
    assert.throws(() => planDown(registryOf(3), [], { steps: 1 }), stepwiseFailure({ code: "INVALID_TARGET", target: null, steps: 1, currentVersion: 0 }));
    assert.throws(() => planDown(registryOf(3), applied(1, 2), { steps: 0 }), stepwiseFailure({ code: "INVALID_TARGET", target: null, steps: 0, currentVersion: 2 }));
    assert.throws(() => planDown(registryOf(3), applied(1, 2), { steps: -1 }), stepwiseFailure({ code: "INVALID_TARGET", target: null, steps: -1, currentVersion: 2 }));
    assert.throws(() => planDown(registryOf(3), applied(1, 2), { to: 3 }), stepwiseFailure({ code: "INVALID_TARGET", target: 3 }));
    assert.throws(() => planDown(registryOf(3), applied(1, 2), { to: -1 }), stepwiseFailure({ code: "INVALID_TARGET", target: -1 }));
  });

  test("an irreversible migration inside the range refuses the whole plan and names the newest one", () => {
    const registry = registryOf(5, { 2: { downSql: null }, 3: { downSql: null } });
    assert.throws(
      () => planDown(registry, applied(1, 2, 3, 4, 5), { to: 0 }),
      stepwiseFailure({
        code: "IRREVERSIBLE_MIGRATION",
        version: 3,
        file: "migrations/003_step_3.sql",
      }),
    );
    assert.throws(() => planDown(registry, applied(1, 2, 3, 4, 5), { steps: 3 }), stepwiseFailure({ code: "IRREVERSIBLE_MIGRATION", version: 3 }));
  });

  test("an irreversible migration below the range does not block it", () => {
    const registry = registryOf(4, { 2: { downSql: null } });
    assert.deepEqual(versionsOf(planDown(registry, applied(1, 2, 3, 4), { to: 2 }).steps), [4, 3]);
  });
});

describe("history checks", () => {
  test("a gap in the history is refused with the missing versions", () => {
    const error = findHistoryProblem(registryOf(4), applied(1, 3));
    assert.equal(error?.code, "HISTORY_OUT_OF_ORDER");
    assert.deepEqual((factsOf(error) as unknown as { missingVersions: number[] }).missingVersions, [2]);
    assert.throws(() => planUp(registryOf(4), applied(1, 3)), stepwiseFailure({ code: "HISTORY_OUT_OF_ORDER", highestAppliedVersion: 3 }));
    assert.throws(() => planDown(registryOf(4), applied(2, 3)), stepwiseFailure({ code: "HISTORY_OUT_OF_ORDER", missingVersions: [1] }));
  });

  test("versions the registry lacks mean the database is ahead, in both directions", () => {
    assert.throws(
      () => planUp(registryOf(2), applied(1, 2, 3, 4)),
      stepwiseFailure({
        code: "DATABASE_AHEAD",
        unknownVersions: [3, 4],
        latestKnownVersion: 2,
      }),
    );
    assert.throws(() => planDown(registryOf(2), applied(1, 2, 3)), stepwiseFailure({ code: "DATABASE_AHEAD", unknownVersions: [3] }));
    assert.throws(() => planUp([], applied(1)), stepwiseFailure({ code: "DATABASE_AHEAD", latestKnownVersion: 0 }));
  });

  test("the database-ahead refusal names the versions it lacks as migrations, not as a bare count", () => {
    for (const [unknown, named] of [
      [[3], /\bmigration 3 applied\b/],
      [[3, 4], /\bmigrations 3, 4 applied\b/],
    ] as const) {
      const error = findHistoryProblem(registryOf(2), applied(1, 2, ...unknown));
      assert.equal(error?.code, "DATABASE_AHEAD");
      assert.match(error.message, named);
    }
  });

  test("a version of 0 or below, a fraction or a repeat is a broken history row, not a database ahead of the app", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      const rows = [...applied(1), { version: bad, checksum: "sum-x", startedAt: null }];
      for (const plan of [() => planUp(registryOf(3), rows), () => planDown(registryOf(3), rows), () => describeStatus(registryOf(3), fullRows(rows))]) {
        const outcome = (() => {
          try {
            const result = plan();
            return "problem" in result ? result.problem : null;
          } catch (error) {
            return error as { code: string };
          }
        })();
        assert.equal(outcome?.code, "HISTORY_TABLE_INVALID", `version ${bad}`);
      }
      assert.throws(() => planUp(registryOf(3), rows), stepwiseFailure({ code: "HISTORY_TABLE_INVALID", problem: "version-not-positive-integer" }));
    }
    assert.throws(() => planUp(registryOf(3), applied(1, 1, 2)), stepwiseFailure({ code: "HISTORY_TABLE_INVALID", problem: "duplicate-version", version: 1 }));
  });

  test("a changed checksum is refused with both checksums and the file", () => {
    const rows = applied(1, 2);
    const drifted = [rows[0]!, { ...rows[1]!, checksum: "old-sum" }];
    for (const plan of [() => planUp(registryOf(3), drifted), () => planDown(registryOf(3), drifted, { to: 0 })]) {
      assert.throws(
        plan,
        stepwiseFailure({
          code: "CHECKSUM_MISMATCH",
          version: 2,
          file: "migrations/002_step_2.sql",
          registryChecksum: "sum-2",
          databaseChecksum: "old-sum",
        }),
      );
    }
  });

  test("a checksum recorded under another migration's name is CHECKSUM_MISMATCH that says so: replaced, with the recorded name and where the registry now has it; an edit keeps its name", () => {
    const named = (version: number, name: string, checksum: string): AppliedMigrationKey => ({ version, checksum, startedAt: null, name });
    // Renumbered: step_2 was applied as 2; a branch's migration took 2, and step_2 is now 3.
    const renumbered = registryOf(3, { 2: { name: "other", file: "migrations/002_other.sql", checksum: "sum-other" }, 3: { name: "step_2", file: "migrations/003_step_2.sql", checksum: "sum-2" } });
    const history = [named(1, "step_1", "sum-1"), named(2, "step_2", "sum-2")];
    assert.throws(
      () => planUp(renumbered, history),
      stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 2, recordedName: "step_2", replaced: true, renumberedTo: { version: 3, file: "migrations/003_step_2.sql" } }),
    );
    const problem = describeStatus(renumbered, fullRows(history)).problem as unknown as Record<string, unknown>;
    assert.deepEqual([problem.code, problem.replaced, problem.recordedName], ["CHECKSUM_MISMATCH", true, "step_2"]);
    assert.equal((problem.fix as { command: string }).command, "stepwise down --to 1");
    // Replaced by a migration of another name that the registry no longer has.
    assert.throws(
      () => planUp(registryOf(2), [named(1, "step_1", "sum-1"), named(2, "gone", "sum-gone")]),
      stepwiseFailure({ code: "CHECKSUM_MISMATCH", recordedName: "gone", replaced: true, renumberedTo: null }),
    );
    // Edited in place: the name matches, so repair --checksums is the way.
    let edited: Record<string, unknown> = {};
    assert.throws(
      () => planUp(registryOf(2), [named(1, "step_1", "sum-1"), named(2, "step_2", "old-sum")]),
      (error: unknown) => Boolean((edited = factsOf(error))),
    );
    assert.deepEqual(
      [edited.code, edited.replaced, edited.recordedName, edited.renumberedTo, (edited.fix as { command: string }).command],
      ["CHECKSUM_MISMATCH", false, "step_2", null, "stepwise repair --checksums 2"],
    );
  });

  test("precedence: database ahead beats a changed checksum, which beats a gap", () => {
    const drifted: AppliedMigrationKey[] = [{ version: 1, checksum: "old-sum", startedAt: null }, ...applied(3)];
    assert.equal(findHistoryProblem(registryOf(3), drifted)?.code, "CHECKSUM_MISMATCH");
    assert.equal(findHistoryProblem(registryOf(3), [...drifted, ...applied(4)])?.code, "DATABASE_AHEAD");
    // Another migration recorded under a version the registry has (another app's database) beats the database ahead: a newer build would not fix it.
    const otherApp: AppliedMigrationKey[] = [
      { version: 1, checksum: "their-sum", startedAt: null, name: "their_first" },
      { version: 2, checksum: "sum-2", startedAt: null, name: "step_2" },
    ];
    assert.throws(() => planUp(registryOf(1), otherApp), stepwiseFailure({ code: "CHECKSUM_MISMATCH", version: 1, replaced: true, recordedName: "their_first" }));
    const otherAppRows = fullRows(otherApp).map((row, index) => ({ ...row, name: otherApp[index]!.name! }));
    assert.equal(describeStatus(registryOf(1), otherAppRows).problem?.code, "CHECKSUM_MISMATCH");
  });

  test("an interrupted non-transactional migration is refused with when it started", () => {
    const rows: AppliedMigrationKey[] = [...applied(1), { version: 2, checksum: "sum-2", startedAt: "2024-01-01T00:00:00.000Z" }];
    assert.throws(
      () => planUp(registryOf(3), rows),
      stepwiseFailure({
        code: "INCOMPLETE_MIGRATION",
        version: 2,
        startedAt: "2024-01-01T00:00:00.000Z",
      }),
    );
  });
});

describe("describeStatus", () => {
  test("reports applied and pending rows without a problem", () => {
    const status = describeStatus(registryOf(3), fullRows(applied(1, 2)));
    assert.equal(status.currentVersion, 2);
    assert.equal(status.latestVersion, 3);
    assert.equal(status.pendingCount, 1);
    assert.deepEqual(
      status.migrations.map((row) => row.state),
      ["applied", "applied", "pending"],
    );
    assert.equal(status.migrations[0]!.appliedAt, "2024-01-01T00:00:00.000Z");
    assert.equal(status.migrations[2]!.appliedAt, null);
    assert.equal(status.problem, null);
  });

  test("reports drift, unknown versions and interruptions as data instead of throwing", () => {
    const changed = describeStatus(registryOf(2), fullRows([{ version: 1, checksum: "old", startedAt: null }]));
    assert.deepEqual(
      changed.migrations.map((row) => row.state),
      ["changed", "pending"],
    );
    assert.equal(changed.problem?.code, "CHECKSUM_MISMATCH");

    const ahead = describeStatus(registryOf(2), fullRows(applied(1, 2, 3)));
    assert.deepEqual(ahead.unknownAppliedVersions, [3]);
    assert.equal(ahead.problem?.code, "DATABASE_AHEAD");

    const interrupted = describeStatus(registryOf(2), fullRows([...applied(1), { version: 2, checksum: "sum-2", startedAt: "2024-01-02T00:00:00.000Z" }]));
    assert.deepEqual(
      interrupted.migrations.map((row) => row.state),
      ["applied", "incomplete"],
    );
    assert.equal(interrupted.currentVersion, 1);
    assert.equal(interrupted.problem?.code, "INCOMPLETE_MIGRATION");
  });
});

describe("findRegistryProblems", () => {
  test("a NUL in an entry's SQL (SQLite stops reading there, so what follows would be skipped and recorded as applied) is REGISTRY_INVALID", () => {
    for (const [field, registry] of [
      ["upSql", [entry(1, { upSql: "CREATE TABLE two (a);\0 CREATE TABLE three (a);" })]],
      ["downSql", [entry(1, { downSql: "DROP TABLE t1;\0 DROP TABLE t2;" })]],
    ] as const) {
      assert.deepEqual(
        findRegistryProblems(registry).map((problem) => [problem.version, problem.message.includes(field)]),
        [[1, true]],
        field,
      );
      assert.throws(() => assertRegistryForDriver(registry, "sqlite", "better-sqlite3"), stepwiseFailure({ code: "REGISTRY_INVALID" }));
    }
  });

  test("an entry whose fields throw when read (a Proxy) is REGISTRY_INVALID, not the trap's own error", () => {
    const trap = new Proxy(entry(2), {
      get() {
        throw new Error("trap");
      },
    });
    const registry = [entry(1), trap as SqlMigrationEntry, entry(3)];
    assert.deepEqual(
      findRegistryProblems(registry).map((problem) => [problem.version, problem.file]),
      [[null, null]],
    );
    assert.throws(() => assertRegistryForDriver(registry, "sqlite", "better-sqlite3"), stepwiseFailure({ code: "REGISTRY_INVALID" }));
  });

  test("a well-formed registry, and an empty one, have no problems", () => {
    assert.deepEqual(findRegistryProblems(registryOf(3)), []);
    assert.deepEqual(findRegistryProblems([]), []);
    assert.doesNotThrow(() => assertRegistryForDriver(registryOf(3), "sqlite", "better-sqlite3"));
  });

  test("duplicates, gaps, a start above 1 and invalid versions are each reported", () => {
    const duplicate = [entry(1), entry(1, { file: "migrations/001_other.sql" }), entry(2)];
    assert.deepEqual(
      findRegistryProblems(duplicate).map((p) => p.version),
      [1, 2],
    );
    assert.equal(findRegistryProblems(duplicate)[0]!.file, "migrations/001_other.sql");

    assert.deepEqual(
      findRegistryProblems([entry(1), entry(3)]).map((p) => p.version),
      [3],
    );
    assert.deepEqual(
      findRegistryProblems([entry(2), entry(3)]).map((p) => p.version),
      [2, 3],
    );
    assert.deepEqual(
      findRegistryProblems([entry(0)]).map((p) => p.version),
      [null],
    );
    assert.deepEqual(
      findRegistryProblems([entry(1.5)]).map((p) => p.version),
      [null],
    );
  });

  test("a missing checksum, a false reversible flag and foreign keys off without a transaction are reported", () => {
    assert.deepEqual(
      findRegistryProblems([entry(1, { checksum: "" })]).map((p) => p.version),
      [1],
    );
    assert.deepEqual(
      findRegistryProblems([entry(1, { reversible: false })]).map((p) => p.version),
      [1],
    );
    assert.deepEqual(
      findRegistryProblems([entry(1, { transaction: false, disableForeignKeys: true })]).map((p) => p.version),
      [1],
    );
  });

  test("assertRegistryForDriver throws REGISTRY_INVALID with every problem", () => {
    assert.throws(
      () => assertRegistryForDriver([entry(1), entry(3), entry(4)], "sqlite", "better-sqlite3"),
      (error: unknown) => {
        assert.equal((error as { code?: string }).code, "REGISTRY_INVALID");
        assert.deepEqual(
          (factsOf(error) as { problems: Array<{ version: number | null }> }).problems.map((p) => p.version),
          [3, 4],
        );
        return true;
      },
    );
  });
});

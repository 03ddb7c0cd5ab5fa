/**
 * `migrateMany` on real SQLite files, on every driver available here: a fleet with a fresh, a
 * half-migrated, a locked, a damaged and another tool's database is migrated where it can be, each
 * exception reported with its code, and a second run applies nothing. Then the pool itself: at most
 * `concurrency` open at once, a stream of targets pulled lazily, the canary, `failFast`, an abort.
 */
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MigrationManager } from "../src/entries/better-sqlite3.js";
import { migrateMany, type MigrateManyOptions } from "../src/index.js";
import { describeEachDriver, type TestDatabase } from "./support/driver-matrix.js";
import { makeTempDir } from "./support/project.js";
import { namedSqlEntry } from "./support/registry-builders.js";

/** Three migrations, each recording itself in `ran`: a version there twice would be a migration run twice. */
const registry = [
  namedSqlEntry(1, "create_items", "CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT); CREATE TABLE ran (version INTEGER NOT NULL); INSERT INTO ran VALUES (1);"),
  namedSqlEntry(2, "add_tag", "ALTER TABLE items ADD COLUMN tag TEXT; INSERT INTO ran VALUES (2);"),
  namedSqlEntry(3, "index_tag", "CREATE INDEX items_tag ON items (tag); INSERT INTO ran VALUES (3);"),
];

await describeEachDriver("migrateMany", (h) => {
  test("migrates each file it can, reports every exception by code, and a second run applies nothing", async (t) => {
    const dir = makeTempDir(t);
    const file = (name: string) => path.join(dir, `${name}.db`);
    const open = new Map<string, TestDatabase>();
    const fleet = (names: readonly string[], options: MigrateManyOptions<unknown> = {}) =>
      migrateMany(
        names,
        async (name) => {
          const db = await h.open(file(name));
          open.set(name, db);
          return db.manager(registry, { busyTimeoutMs: 50 });
        },
        { ...options, close: (_manager, name) => open.get(name)!.close() },
      );
    const half = await h.open(file("half"));
    half.manager(registry).up({ to: 1 });
    half.close();
    // Migration 3's index is already there by hand: 2 applies, then 3 fails.
    const breaks = await h.open(file("breaks"));
    breaks.manager(registry).up({ to: 1 });
    breaks.exec("CREATE INDEX items_tag ON items (note)");
    breaks.close();
    const foreign = await h.open(file("foreign"));
    foreign.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY)");
    foreign.close();
    writeFileSync(file("damaged"), "not a database, whatever the name says\n".repeat(200));
    const names = ["fresh", "half", "breaks", "foreign", "damaged"];
    if (h.capabilities.fileLocking) {
      const holder = await h.open(file("locked"));
      holder.exec("BEGIN IMMEDIATE");
      t.after(() => holder.close());
      names.push("locked");
    }

    const events: string[] = [];
    const report = await fleet(names, { concurrency: 2, onEvent: (event) => events.push(event.type) });
    const byId = Object.fromEntries(report.targets.map((each) => [each.id, each]));
    assert.deepEqual(
      report.targets.map((each) => each.id),
      names,
    );
    assert.equal(report.ok, false);
    assert.equal(report.stopped, null);
    assert.deepEqual([byId.fresh!.ok, byId.fresh!.fromVersion, byId.fresh!.toVersion, byId.fresh!.steps.map((step) => step.version), byId.fresh!.error], [true, 0, 3, [1, 2, 3], null]);
    assert.deepEqual([byId.half!.ok, byId.half!.fromVersion, byId.half!.toVersion, byId.half!.steps.map((step) => step.version)], [true, 1, 3, [2, 3]]);
    // What committed before the failure was applied, and the report counts it.
    assert.deepEqual(
      [byId.breaks!.ok, byId.breaks!.error?.code, byId.breaks!.fromVersion, byId.breaks!.toVersion, byId.breaks!.steps.map((step) => [step.version, step.name])],
      [false, "MIGRATION_FAILED", 1, 2, [[2, "add_tag"]]],
    );
    assert.deepEqual([byId.foreign!.ok, byId.foreign!.error?.code, (byId.foreign!.error as { tables?: unknown }).tables], [false, "UNMANAGED_DATABASE", ["accounts"]]);
    assert.deepEqual([byId.damaged!.ok, byId.damaged!.error?.code, byId.damaged!.fromVersion], [false, "DATABASE_UNUSABLE", null]);
    if (byId.locked) assert.deepEqual([byId.locked.ok, byId.locked.error?.code, byId.locked.fromVersion, byId.locked.toVersion], [false, "DATABASE_LOCKED", 0, 0]);
    for (const each of report.targets) assert.ok(each.durationMs >= 0 && Number.isFinite(each.durationMs));
    assert.equal(events.filter((type) => type === "started").length, names.length);
    assert.equal(events.filter((type) => type === "finished").length, names.length);
    assert.ok(JSON.parse(JSON.stringify(report)), "the report is plain data");

    const again = await fleet(names);
    assert.deepEqual(
      again.targets.filter((each) => each.ok).map((each) => [each.id, each.fromVersion, each.toVersion, each.steps.length]),
      [
        ["fresh", 3, 3, 0],
        ["half", 3, 3, 0],
      ],
    );
    for (const name of ["fresh", "half"]) {
      const db = await h.open(file(name));
      assert.deepEqual(
        db.rows("SELECT version, count(*) AS n FROM ran GROUP BY version ORDER BY version"),
        [1, 2, 3].map((version) => ({ version, n: 1 })),
      );
      db.close();
    }
  });
});

/** `migrateMany` over `count` better-sqlite3 files `tenant-<n>.db` in `dir`; `opened` tracks how many are open at once. */
function migrateFiles(dir: string, ids: Iterable<string> | AsyncIterable<string>, options: MigrateManyOptions<MigrationManager<typeof registry>> = {}, opened = { now: 0, most: 0 }) {
  return migrateMany(
    ids,
    async (id) => {
      opened.most = Math.max(opened.most, ++opened.now);
      // A pause while open, so that targets would overlap if the pool let them.
      await new Promise((resolve) => setTimeout(resolve, 2));
      return new MigrationManager(new Database(path.join(dir, `${id}.db`)), registry);
    },
    {
      ...options,
      close: (manager) => {
        opened.now--;
        manager.db.close();
      },
    },
  );
}

const tenants = (count: number) => Array.from({ length: count }, (_, index) => `tenant-${index}`);

test("migrateMany keeps at most `concurrency` targets open, and pulls a stream of targets only as slots free", async (t) => {
  const dir = makeTempDir(t);
  const opened = { now: 0, most: 0 };
  let finished = 0;
  let inFlight = 0;
  async function* stream() {
    for (const [index, id] of tenants(12).entries()) {
      inFlight = Math.max(inFlight, index + 1 - finished);
      yield id;
    }
  }
  const etas: Array<number | null> = [];
  const report = await migrateFiles(
    dir,
    stream(),
    {
      concurrency: 3,
      total: 12,
      onEvent: (event) => {
        if (event.type !== "finished") return;
        finished = event.done;
        etas.push(event.etaMs);
      },
    },
    opened,
  );
  assert.equal(report.ok, true);
  assert.equal(report.targets.length, 12);
  assert.equal(opened.most, 3, "3 open at once, never more");
  assert.equal(inFlight, 3, "a target is pulled only when a slot frees");
  assert.equal(etas.at(-1), 0);
  assert.ok(etas.every((eta) => typeof eta === "number"));
});

test("a failing canary starts no other target; failFast stops after the first failure; an aborted signal starts nothing more", async (t) => {
  const dir = makeTempDir(t);
  writeFileSync(path.join(dir, "tenant-1.db"), "garbage ".repeat(512));
  const canary = await migrateFiles(dir, tenants(10), { canary: 3, concurrency: 2 });
  assert.equal(canary.stopped, "canary");
  assert.equal(canary.ok, false);
  assert.deepEqual(
    canary.targets.map((each) => [each.id, each.ok]),
    [
      ["tenant-0", true],
      ["tenant-1", false],
      ["tenant-2", true],
    ],
  );

  const failFast = await migrateFiles(dir, tenants(10), { failFast: true, concurrency: 1 });
  assert.equal(failFast.stopped, "fail-fast");
  assert.deepEqual(
    failFast.targets.map((each) => each.id),
    ["tenant-0", "tenant-1"],
  );

  const controller = new AbortController();
  const aborted = await migrateFiles(dir, tenants(10), {
    concurrency: 1,
    signal: controller.signal,
    onEvent: (event) => event.type === "finished" && event.done === 4 && controller.abort(),
  });
  assert.equal(aborted.stopped, "aborted");
  assert.equal(aborted.targets.length, 4);

  const rest = await migrateFiles(
    dir,
    tenants(10).filter((id) => id !== "tenant-1"),
  );
  assert.equal(rest.ok, true);
  assert.deepEqual(
    rest.targets.map((each) => each.steps.length),
    [0, 0, 0, 3, 3, 3, 3, 3, 3],
  );
});

test("a stream of ids that throws part way stops the run: those started finish and are reported, with stopped ids-failed and what it threw", async (t) => {
  const dir = makeTempDir(t);
  async function* cursor() {
    yield "tenant-0";
    yield "tenant-1";
    throw new Error("the tenants cursor broke");
  }
  const report = await migrateFiles(dir, cursor(), { concurrency: 1 });
  assert.deepEqual([report.ok, report.stopped, report.idsError?.code, report.idsError?.message], [false, "ids-failed", "UNEXPECTED", "the tenants cursor broke"]);
  assert.deepEqual(
    report.targets.map((each) => [each.id, each.ok, each.steps.length]),
    [
      ["tenant-0", true, 3],
      ["tenant-1", true, 3],
    ],
  );
  // A run that went through its stream has no such error.
  assert.equal((await migrateFiles(dir, tenants(2))).idsError, null);
});

test("a signal aborted by a timer stops a fleet of sync managers between databases: the pool lets the event loop turn, though every target settles without it", async (t) => {
  const dir = makeTempDir(t);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const report = await migrateMany(
    tenants(40),
    (id) => {
      // A sync manager's work blocks the thread: 20 ms a database, 800 ms for the fleet.
      const until = performance.now() + 20;
      while (performance.now() < until);
      return new MigrationManager(new Database(path.join(dir, `${id}.db`)), registry);
    },
    { concurrency: 1, signal: controller.signal, close: (manager) => void manager.db.close() },
  );
  assert.equal(report.stopped, "aborted");
  assert.ok(report.targets.length < 40, `${report.targets.length} of 40 started`);
});

test("migrateMany refuses a concurrency or canary that is no whole number, before opening anything", async () => {
  let opened = 0;
  const open = () => {
    opened++;
    throw new Error("cannot open");
  };
  await assert.rejects(migrateMany(["x"], open, { concurrency: 0 }), { code: "USAGE" });
  await assert.rejects(migrateMany(["x"], open, { canary: 1.5 }), { code: "USAGE" });
  assert.equal(opened, 0);
  const report = await migrateMany(["x"], open);
  assert.deepEqual(report.targets[0]!.error, { code: "UNEXPECTED", message: "cannot open" });
});

test("migrateMany checks every option's type once, before opening anything, naming the value's type", async () => {
  let opened = 0;
  const open = () => {
    opened++;
    throw new Error("cannot open");
  };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ concurrency: "4" }, /concurrency must be a whole number of at least 1; got the string "4"/],
    [{ canary: "2" }, /canary must be a whole number \(0: no canary\); got the string "2"/],
    [{ failFast: "yes" }, /failFast must be true or false; got the string "yes"/],
    [{ signal: {} }, /signal must be an AbortSignal; got an object/],
    [{ total: -1 }, /total must be a whole number, or null; got the number -1/],
    [{ close: 5 }, /close must be a function; got the number 5/],
    [{ onEvent: "log" }, /onEvent must be a function; got the string "log"/],
    [{ to: "1" }, /to must be a version: a whole number, 0 or more; got the string "1"/],
    [{ to: 1.5 }, /to must be a version: a whole number, 0 or more; got the number 1.5/],
    [{ transaction: "al" }, /transaction must be "each" or "all"; got the string "al"/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(migrateMany(["a", "b", "c"], open, options as MigrateManyOptions), (error: Error & { code?: string }) => {
      assert.equal(error.code, "USAGE", JSON.stringify(options));
      assert.match(error.message, message);
      return true;
    });
  }
  assert.equal(opened, 0);
});

test("migrateMany refuses ids that are no list or stream and an open that is no function with USAGE, opening nothing; an id that is no string stops the run as ids-failed", async (t) => {
  for (const [ids, open, option] of [
    [5, () => null, "ids"],
    ["t1", () => null, "ids"],
    [null, () => null, "ids"],
    [["t1"], "open", "open"],
  ] as const)
    await assert.rejects(migrateMany(ids as never, open as never), (error: Error & { code?: string; details?: { option?: string } }) => {
      assert.deepEqual([error.code, error.details?.option], ["USAGE", option]);
      return true;
    });
  const dir = makeTempDir(t);
  const events: string[] = [];
  const report = await migrateFiles(dir, ["t1", null, "t2"] as never, { concurrency: 1, onEvent: (event) => void events.push(event.type) });
  assert.deepEqual([report.stopped, report.idsError?.code], ["ids-failed", "USAGE"]);
  assert.deepEqual(
    report.targets.map((target) => [target.id, target.ok]),
    [["t1", true]],
  );
  assert.equal(existsSync(path.join(dir, "null.db")), false);
});

test("migrateMany lets an async onEvent listener's rejection go, as the manager's listener does: the run goes on, with no unhandled rejection", async (t) => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => void unhandled.push(reason);
  process.on("unhandledRejection", record);
  try {
    const report = await migrateFiles(makeTempDir(t), tenants(2), { onEvent: (async () => Promise.reject(new Error("telemetry down"))) as () => void });
    assert.deepEqual(
      report.targets.map((target) => target.ok),
      [true, true],
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off("unhandledRejection", record);
  }
  assert.deepEqual(unhandled, []);
});

test("migrateMany rejects a to past the registry's newest version once, starting no other database", async (t) => {
  const dir = makeTempDir(t);
  const opened = { now: 0, most: 0 };
  let calls = 0;
  const report = migrateFiles(dir, tenants(10), { to: 99, concurrency: 2, onEvent: (event) => void (event.type === "started" && calls++) }, opened);
  await assert.rejects(report, (error: Error & { code?: string; details?: { target: number } }) => {
    assert.deepEqual([error.code, error.details?.target], ["INVALID_TARGET", 99]);
    assert.match(error.message, /There is no migration 99; the versions go from 1 to 3/);
    return true;
  });
  assert.ok(calls <= 2, `${calls} of 10 started`);
  // A to the registry has still runs on each database.
  const fine = await migrateFiles(dir, tenants(3), { to: 2 });
  assert.deepEqual(
    fine.targets.map((target) => [target.ok, target.toVersion]),
    [
      [true, 2],
      [true, 2],
      [true, 2],
    ],
  );
});

test("migrateMany opens an id given twice once, from a list or a stream", async (t) => {
  const dir = makeTempDir(t);
  const list = await migrateFiles(dir, ["t1", "t1", "t2", "t1"]);
  assert.deepEqual(
    list.targets.map((target) => target.id),
    ["t1", "t2"],
  );
  async function* stream() {
    yield* ["t3", "t2", "t3"];
  }
  const streamed = await migrateFiles(dir, stream());
  assert.deepEqual(
    streamed.targets.map((target) => [target.id, target.steps.length]),
    [
      ["t3", 3],
      ["t2", 0],
    ],
  );
});

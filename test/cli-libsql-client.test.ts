/**
 * The stepwise bin on `@libsql/client` (`--driver libsql-client --url …`), end to end: the real bin as
 * a child process, in a temp project whose registry `gen` writes from a real migrations folder (SQL,
 * an async TypeScript body, a `transaction: false` index), against a real `file:` database and a real
 * libSQL server (sqld over http:). Every runtime command works as on SQLite or refuses with its typed
 * code; every result is read back through `@libsql/client` itself. The token cases run against a sqld
 * that really checks JWTs (Ed25519), and assert the token's absence from everything the bin printed.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test, type TestContext } from "node:test";
import { createClient, type Client } from "@libsql/client";
import { skipWithReason } from "./support/driver-matrix.js";
import { createTestProject, runCli, type RunResult, type TestProject } from "./support/project.js";
import { sqldUnavailableReason, startSqld } from "./support/sqld-server.js";

interface JsonError {
  readonly code: string;
  readonly [field: string]: unknown;
}

/** Where the database lives: a file next to the project, or a fresh sqld. */
interface Target {
  readonly name: string;
  /** Why it cannot run here, or `null`. */
  unavailable(): string | null;
  /** A fresh, empty database: its URL for `--url`, whether it is a file, and how to remove it. */
  open(t: TestContext, project: TestProject): Promise<{ readonly url: string; readonly file: string | null }>;
}

const TARGETS: readonly Target[] = [
  {
    name: "file:",
    unavailable: () => null,
    open: async (_t, project) => ({ url: "file:data/app.db", file: path.join(project.root, "data", "app.db") }),
  },
  {
    name: "sqld over http:",
    unavailable: sqldUnavailableReason,
    open: async (t) => {
      const server = await startSqld();
      t.after(() => server.dispose());
      return { url: server.url, file: null };
    },
  },
];

/** A temp project with the libsql-client fixture and its registry. */
async function libsqlProject(t: TestContext) {
  const project = createTestProject(t, { fixture: "libsql-client", packageJson: { stepwise: { driver: "libsql-client" } } });
  const cli = (args: readonly string[], env: Record<string, string | undefined> = {}) => runCli(args, { cwd: project.root, env: { DATABASE_URL: undefined, LIBSQL_AUTH_TOKEN: undefined, ...env } });
  // As `stepwise gen` writes it, in-process: this file's subject is the runtime commands, and the tests below run gen through the bin where it matters.
  await project.generateAsBin();
  return { project, cli };
}

/** A client on the target's database, for the test's own reads; closed after the test. */
function reader(t: TestContext, project: TestProject, url: string, authToken?: string): Client {
  const client = createClient({ url: url.startsWith("file:") ? `file:${path.join(project.root, url.slice("file:".length))}` : url, ...(authToken ? { authToken } : {}) });
  t.after(() => client.close());
  return client;
}

async function rows(client: Client, sql: string): Promise<Record<string, unknown>[]> {
  const result = await client.execute(sql);
  return result.rows.map((row) => Object.fromEntries(result.columns.map((column, index) => [column, row[index]])));
}

async function tables(client: Client): Promise<string[]> {
  return (await rows(client, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'libsql\\_%' ESCAPE '\\' ORDER BY name")).map((row) =>
    String(row.name),
  );
}

async function appliedVersions(client: Client): Promise<number[]> {
  return (await rows(client, "SELECT version FROM schema_migrations WHERE state = 'applied' ORDER BY version")).map((row) => Number(row.version));
}

function json<T>(result: RunResult): T {
  assert.equal(result.code, 0, `expected exit 0, got ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A refusal's `--json` error, after checking the exit code and that stderr names the same code. */
function refusal(result: RunResult, exitCode: number): JsonError {
  assert.equal(result.code, exitCode, `expected exit ${exitCode}, got ${result.code}:\n${result.stdout}\n${result.stderr}`);
  const { error } = JSON.parse(result.stdout) as { error: JsonError };
  assert.ok(result.stderr.includes(`[${error.code}]`), result.stderr);
  return error;
}

for (const target of TARGETS) {
  describe(`the bin on libsql-client [${target.name}]`, () => {
    test("status, up (--to, --dry-run, again), history, version, info, verify, down and reset work with SQLite's output shapes and exit codes", async (t) => {
      const unavailable = target.unavailable();
      if (unavailable !== null) return skipWithReason(t, unavailable);
      const { project, cli } = await libsqlProject(t);
      const { url, file } = await target.open(t, project);
      const args = ["--url", url];

      const fresh = json<{ exists: boolean; currentVersion: number; pendingCount: number }>(await cli([...args, "status", "--json"]));
      assert.deepEqual([fresh.exists, fresh.currentVersion, fresh.pendingCount], [file === null, 0, 3]);
      // A read never creates the file.
      if (file !== null) assert.equal(existsSync(file), false, "status created the database file");
      assert.equal((await cli([...args, "version"])).stdout.trim(), "0");

      const partial = json<{ toVersion: number; steps: Array<{ version: number }> }>(await cli([...args, "up", "--to", "1", "--json"]));
      assert.deepEqual([partial.toVersion, partial.steps.map((step) => step.version)], [1, [1]]);
      const client = reader(t, project, url);

      // The dry run rehearses 2 in a write transaction rolled back at the end: reported, not kept.
      const dry = json<{ ok: boolean; steps: Array<{ version: number; status: string }>; schemaChanges: unknown[] }>(await cli([...args, "up", "--dry-run", "--to", "2", "--json"]));
      assert.equal(dry.ok, true, JSON.stringify(dry));
      assert.deepEqual(
        dry.steps.map((step) => [step.version, step.status]),
        [[2, "applied"]],
      );
      assert.deepEqual(await tables(client), ["items", "notes", "schema_migrations"]);
      // A plan holding the transaction: false migration cannot be rehearsed in one transaction.
      assert.equal(refusal(await cli([...args, "up", "--dry-run", "--json"]), 1).code, "REHEARSAL_REFUSED");

      const rest = await cli([...args, "up"]);
      assert.equal(rest.code, 0, rest.stderr);
      assert.match(rest.stdout, /↑ 003_items_label_index/);
      assert.deepEqual(await appliedVersions(client), [1, 2, 3]);
      assert.deepEqual(await rows(client, "SELECT label FROM tags"), [{ label: "pinned" }]);
      assert.deepEqual(json<{ steps: unknown[] }>(await cli([...args, "up", "--json"])).steps, []);

      const history = json<Array<{ version: number; state: string }>>(await cli([...args, "history", "--json"]));
      assert.deepEqual(
        history.map((row) => [row.version, row.state]),
        [
          [1, "applied"],
          [2, "applied"],
          [3, "applied"],
        ],
      );
      assert.equal((await cli([...args, "version"])).stdout.trim(), "3");
      const info = json<{ currentVersion: number; userVersion: number | null; objects: Record<string, number>; historyTable: string }>(await cli([...args, "info", "--json"]));
      // A libSQL server takes no PRAGMA user_version: the history table is the only record there.
      assert.deepEqual([info.currentVersion, info.userVersion, info.historyTable], [3, file === null ? null : 3, "schema_migrations"]);
      assert.deepEqual(info.objects, { tables: 3, indexes: 2, triggers: 1, views: 0 });

      // verify replays on an in-memory client of the same library, and names drift made by hand.
      assert.deepEqual(json<{ ok: boolean; version: number }>(await cli([...args, "verify", "--json"])), { ok: true, version: 3, differences: [], drift: [] });
      await client.execute("ALTER TABLE notes ADD COLUMN nick TEXT");
      const drift = await cli([...args, "verify", "--json"]);
      assert.equal(drift.code, 1, drift.stderr);
      assert.deepEqual((JSON.parse(drift.stdout) as { drift: string[] }).drift, ["column notes.nick added outside migrations"]);
      await client.execute("ALTER TABLE notes DROP COLUMN nick");

      const down = json<{ steps: Array<{ version: number }> }>(await cli([...args, "down", "--json"]));
      assert.deepEqual(
        down.steps.map((step) => step.version),
        [3],
      );
      assert.deepEqual(json<{ toVersion: number }>(await cli([...args, "down", "--to", "0", "--json"])).toVersion, 0);
      assert.deepEqual(await appliedVersions(client), []);
      assert.deepEqual(await tables(client), ["schema_migrations"]);

      await client.execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY)");
      assert.equal(refusal(await cli([...args, "reset", "--json"]), 2).code, "USAGE");
      const reset = json<{ steps: Array<{ version: number }> }>(await cli([...args, "reset", "--yes", "--json"]));
      assert.deepEqual(
        reset.steps.map((step) => step.version),
        [1, 2, 3],
      );
      assert.deepEqual(await tables(client), ["items", "notes", "schema_migrations", "tags"]);
    });

    test("baseline adopts a database built by hand; repair --forget / --applied resolve an interrupted transaction: false migration; repair --checksums realigns an edited file", async (t) => {
      const unavailable = target.unavailable();
      if (unavailable !== null) return skipWithReason(t, unavailable);
      const { project, cli } = await libsqlProject(t);
      const { url, file } = await target.open(t, project);
      const args = ["--url", url];
      if (file !== null) {
        // Built by hand before stepwise: the file exists with migration 1's schema.
        assert.equal(json<{ steps: unknown[] }>(await cli([...args, "up", "--to", "1", "--json"])).steps.length, 1);
        await reader(t, project, url).execute("DROP TABLE schema_migrations");
      } else {
        const seed = reader(t, project, url);
        const sql = readFileSync(path.join(project.migrationsDir, "001_notes.sql"), "utf8").split("-- migrate:down")[0]!.replace("-- migrate:up", "");
        await seed.executeMultiple(sql);
      }
      const client = reader(t, project, url);
      const mismatch = refusal(await cli([...args, "baseline", "2", "--json"]), 1);
      assert.equal(mismatch.code, "SCHEMA_MISMATCH");
      assert.deepEqual(await tables(client), ["items", "notes"]);
      const baseline = json<{ recorded: number[] }>(await cli([...args, "baseline", "1", "--json"]));
      assert.deepEqual(baseline.recorded, [1]);
      assert.equal(refusal(await cli([...args, "baseline", "1", "--json"]), 1).code, "ALREADY_MANAGED");
      assert.equal(json<{ steps: unknown[] }>(await cli([...args, "up", "--json"])).steps.length, 2);
      const checksum = (await rows(client, "SELECT checksum FROM schema_migrations WHERE version = 3"))[0]!.checksum;
      assert.equal(json<{ steps: unknown[] }>(await cli([...args, "down", "--json"])).steps.length, 1);

      // A process that died inside the transaction: false migration 3 left its started row.
      const interrupt = () =>
        client.execute({
          sql: "INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, state, owner) VALUES (3, 'items_label_index', ?, '2026-01-02T03:04:05.000Z', NULL, 'started', NULL)",
          args: [String(checksum)],
        });
      await interrupt();
      assert.equal(refusal(await cli([...args, "up", "--json"]), 1).code, "INCOMPLETE_MIGRATION");
      assert.equal(refusal(await cli([...args, "repair", "--forget", "3", "--json"]), 2).code, "USAGE");
      const forgotten = json<{ version: number; resolution: string; currentVersion: number }>(await cli([...args, "repair", "--forget", "3", "--yes", "--json"]));
      assert.deepEqual([forgotten.version, forgotten.resolution, forgotten.currentVersion], [3, "forget", 2]);
      assert.equal(json<{ steps: unknown[] }>(await cli([...args, "up", "--json"])).steps.length, 1);
      assert.deepEqual(await appliedVersions(client), [1, 2, 3]);

      // Interrupted again after its index was built by hand: recorded as applied.
      assert.equal(json<{ steps: unknown[] }>(await cli([...args, "down", "--json"])).steps.length, 1);
      // A fresh client: a pooled connection that read the schema before the bin dropped the index may
      // still see it when SQLite checks a CREATE INDEX's name, before any read refreshes its schema.
      await reader(t, project, url).execute("CREATE INDEX idx_items_label ON items (label)");
      await interrupt();
      const applied = json<{ resolution: string; currentVersion: number }>(await cli([...args, "repair", "--applied", "3", "--yes", "--json"]));
      assert.deepEqual([applied.resolution, applied.currentVersion], ["applied", 3]);
      assert.deepEqual(json<{ ok: boolean }>(await cli([...args, "verify", "--json"])).ok, true);

      // The down section of 3 edited on purpose after it ran: CHECKSUM_MISMATCH until realigned.
      const third = path.join(project.migrationsDir, "003_items_label_index.sql");
      writeFileSync(third, readFileSync(third, "utf8").replace("DROP INDEX idx_items_label;", "DROP INDEX IF EXISTS idx_items_label;"));
      assert.equal((await cli(["gen"])).code, 0);
      assert.equal(refusal(await cli([...args, "up", "--json"]), 1).code, "CHECKSUM_MISMATCH");
      const preview = await cli([...args, "repair", "--checksums", "--json"]);
      assert.equal(preview.code, 1, preview.stderr);
      assert.deepEqual(
        (JSON.parse(preview.stdout) as { realignments: Array<{ version: number }> }).realignments.map((row) => row.version),
        [3],
      );
      assert.equal(json<{ applied: boolean }>(await cli([...args, "repair", "--checksums", "--yes", "--by", "tester", "--json"])).applied, true);
      assert.deepEqual(json<{ steps: unknown[] }>(await cli([...args, "up", "--json"])).steps, []);
    });

    test("a TypeScript migration whose statement fails is located at the awaited call in its file, up and down", async (t) => {
      const unavailable = target.unavailable();
      if (unavailable !== null) return skipWithReason(t, unavailable);
      const { project, cli } = await libsqlProject(t);
      const { url } = await target.open(t, project);
      const args = ["--url", url];
      // The library's error is made after an await (over http, as the server answers): only V8's async frames name the migration's line.
      const body = (failing: string) => `import { defineMigration } from "stepwise-migrate/libsql-client";

export default defineMigration({
  async up(db) {
    await db.execute("CREATE TABLE located (id INTEGER)");
    await db.execute("${failing}");
  },
  async down(db) {
    await db.execute("DROP TABLE no_such_table");
  },
});
`;
      const located = (run: RunResult, line: number) => {
        const error = refusal(run, 1);
        const location = error.location as { file: string; line: number } | null;
        assert.deepEqual([error.code, location?.file, location?.line], ["MIGRATION_FAILED", "migrations/004_located.ts", line], run.stderr);
        assert.match(run.stderr, new RegExp(`^Thrown at migrations/004_located\\.ts:${line}:\\d+$`, "m"));
      };
      project.writeMigration("004_located.ts", body("SELECT no_such_function()"));
      assert.equal((await cli(["gen"])).code, 0);
      located(await cli([...args, "up", "--json"]), 6);
      project.writeMigration("004_located.ts", body("SELECT 1"));
      assert.equal((await cli(["gen"])).code, 0);
      assert.equal((await cli([...args, "up"])).code, 0);
      located(await cli([...args, "down", "--json"]), 9);
    });

    test("up --backup and restore are refused with DRIVER_CAPABILITY_MISSING (libsql-client, openFile) before anything runs", async (t) => {
      const unavailable = target.unavailable();
      if (unavailable !== null) return skipWithReason(t, unavailable);
      const { project, cli } = await libsqlProject(t);
      const { url, file } = await target.open(t, project);
      for (const command of [
        ["up", "--backup"],
        ["restore", path.join(project.root, "backup.db"), "--yes"],
      ]) {
        const error = refusal(await cli(["--url", url, ...command, "--json"]), 1);
        assert.deepEqual([error.code, error.driver, error.capability], ["DRIVER_CAPABILITY_MISSING", "libsql-client", "openFile"]);
        assert.ok(existsSync(path.join(project.root, "backups")) === false, "a backup folder was created");
      }
      if (file !== null) assert.equal(existsSync(file), false, "the refusal created the database");
      else assert.deepEqual(await tables(reader(t, project, url)), []);
    });
  });
}

/** A JWT for sqld, signed with `privateKey` (EdDSA), granting read and write. */
function signToken(privateKey: ReturnType<typeof generateKeyPairSync>["privateKey"]): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const body = `${part({ alg: "EdDSA", typ: "JWT" })}.${part({ a: "rw" })}`;
  return `${body}.${sign(null, Buffer.from(body), privateKey).toString("base64url")}`;
}

test("the auth token is read from LIBSQL_AUTH_TOKEN, and a token never appears in output, errors, --json or --verbose, whatever fails", async (t) => {
  const unavailable = sqldUnavailableReason();
  if (unavailable !== null) return skipWithReason(t, unavailable);
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const server = await startSqld({ jwtPublicKey: publicKey.export({ type: "spki", format: "pem" }).toString() });
  t.after(() => server.dispose());
  const token = signToken(privateKey);
  // stepwise never prints the token and never searches its output for it (a migration that writes
  // it into its own error writes what it chose to): so every output here is stepwise's own.
  const { cli } = await libsqlProject(t);
  const outputs: RunResult[] = [];
  const run = async (args: readonly string[], env: Record<string, string | undefined>) => {
    const result = await cli(args, env);
    outputs.push(result);
    return result;
  };
  const tokenSegments = token.split(".");

  // No token: the server refuses; a typed error that asks for one.
  const missing = refusal(await run(["--url", server.url, "status", "--json"], {}), 1);
  assert.equal(missing.code, "DATABASE_UNUSABLE");
  // A wrong token (a valid-looking JWT signed by another key) is refused the same way.
  const other = signToken(generateKeyPairSync("ed25519").privateKey);
  assert.equal(refusal(await run(["--url", server.url, "status", "--json", "--verbose"], { LIBSQL_AUTH_TOKEN: other }), 1).code, "DATABASE_UNUSABLE");
  // The right one works, through every command that reaches the server.
  const env = { LIBSQL_AUTH_TOKEN: token };
  assert.equal(json<{ steps: unknown[] }>(await run(["--url", server.url, "up", "--to", "3", "--json"], env)).steps.length, 3);
  assert.equal(json<{ ok: boolean }>(await run(["--url", server.url, "verify", "--json"], env)).ok, true);
  assert.equal((await run(["--url", server.url, "info"], env)).code, 0);
  // Given in the URL instead (libSQL's ?authToken=), and with the wrong scheme: still never printed.
  assert.equal((await run(["--url", `${server.url}?authToken=${token}`, "status", "--verbose"], {})).code, 0);
  assert.equal(refusal(await run(["--url", `postgres://app:${token}@localhost/db`, "status", "--json"], {}), 2).code, "USAGE");

  for (const output of outputs) {
    const printed = output.stdout + output.stderr;
    assert.ok(!printed.includes(token) && !printed.includes(other), `a token was printed:\n${printed}`);
    // Not even its signature or payload on their own (a message that split it).
    for (const segment of tokenSegments.slice(1)) assert.ok(!printed.includes(segment), `part of the token was printed:\n${printed}`);
  }
});

test("with no driver named, --url of a libSQL server opens with libsql-client", async (t) => {
  const unavailable = sqldUnavailableReason();
  if (unavailable !== null) return skipWithReason(t, unavailable);
  const project = createTestProject(t, { fixture: "libsql-client", packageJson: { stepwise: {} } });
  await project.generateAsBin();
  const server = await startSqld();
  t.after(() => server.dispose());
  const cli = (args: readonly string[], env: Record<string, string | undefined> = {}) =>
    runCli([...args, "--json"], { cwd: project.root, env: { DATABASE_URL: undefined, LIBSQL_AUTH_TOKEN: undefined, ...env } });

  const first = json<{ steps: Array<{ version: number }> }>(await cli(["up", "--to", "1", "--url", server.url]));
  assert.deepEqual(
    first.steps.map((step) => step.version),
    [1],
  );
  const rest = json<{ steps: Array<{ version: number }> }>(await cli(["up", "--url", server.url]));
  assert.deepEqual(
    rest.steps.map((step) => step.version),
    [2, 3],
  );
  assert.deepEqual(await appliedVersions(reader(t, project, server.url)), [1, 2, 3]);
});

test("a URL the libsql-client driver cannot use, --db, and --schema are USAGE (exit 2), naming the source, never the URL's text", async (t) => {
  const { project, cli } = await libsqlProject(t);
  const secret = "s3cr3t-Pa55";
  const cases: Array<[readonly string[], Record<string, string | undefined>]> = [
    [["--url", `postgres://app:${secret}@localhost/db`, "status"], {}],
    [["status"], { DATABASE_URL: `mysql://app:${secret}@localhost/db` }],
    [["--url", `libsql://app:${secret}@db.example`, "status"], {}],
    [["--url", "file:", "status"], {}],
    [["--db", "app.db", "status"], {}],
    [["--url", "file:app.db", "--schema", "app", "status"], {}],
    [["status"], {}],
  ];
  for (const [args, env] of cases) {
    const result = await cli([...args, "--json"], env);
    assert.equal(refusal(result, 2).code, "USAGE", args.join(" "));
    assert.ok(!(result.stdout + result.stderr).includes(secret), `the password was printed:\n${result.stdout}${result.stderr}`);
  }
  assert.equal(existsSync(path.join(project.root, "app.db")), false);
});

test("a libSQL URL whose query or fragment the client would quote (an encoded authToken key, a fragment, another key, a bad tls) is USAGE (exit 2) naming the source, and no secret is printed, --verbose included", async (t) => {
  const { project, cli } = await libsqlProject(t);
  const cases: Array<{ args: readonly string[]; env?: Record<string, string>; secrets: readonly string[]; names: string }> = [
    // @libsql/client percent-decodes query keys: auth%54oken= is the token.
    { args: ["--url", "http://h/?auth%54oken=SECRETQ1", "--url", "http://h/?auth%54oken=SECRETQ2", "status"], secrets: ["SECRETQ1", "SECRETQ2"], names: "--url" },
    { args: ["--url", "http://h/?AUTHTOKEN=SECRETQ3", "--url", "http://h/?authtoken=SECRETQ4", "status"], secrets: ["SECRETQ3", "SECRETQ4"], names: "--url" },
    { args: ["--url", "libsql://127.0.0.1:1/#SECRETA3", "status"], secrets: ["SECRETA3"], names: "--url" },
    { args: ["--url", "libsql://127.0.0.1:1/?tls=SECRETA6", "status"], secrets: ["SECRETA6"], names: "--url" },
    { args: ["--url", "libsql://127.0.0.1:1/?SECRETA7=1", "status"], secrets: ["SECRETA7"], names: "--url" },
    { args: ["--url", "libsql://127.0.0.1:1/?auth%54oken=SECRETA8&SECRETA9", "status"], secrets: ["SECRETA8", "SECRETA9"], names: "--url" },
    { args: ["status"], env: { DATABASE_URL: "libsql://127.0.0.1:1/?x=SECRETB1#SECRETB2" }, secrets: ["SECRETB1", "SECRETB2"], names: "DATABASE_URL" },
    // Shapes only the client refuses (URL_INVALID): USAGE without the client's error as a cause.
    { args: ["--url", "libsql://127.0.0.1/?tls=0", "status"], secrets: [], names: "URL" },
    { args: ["--url", "libsql://127.0.0.1:1/%zzSECRETC1", "status"], secrets: ["SECRETC1"], names: "URL" },
  ];
  for (const { args, env = {}, secrets, names } of cases) {
    const refused = refusal(await cli([...args, "--json"], env), 2);
    assert.equal(refused.code, "USAGE", args.join(" "));
    assert.ok(String(refused.message).includes(names), String(refused.message));
    const verbose = await cli([...args, "--verbose"], env);
    assert.equal(verbose.code, 2, verbose.stderr);
    assert.ok(!verbose.stderr.includes("Caused by"), verbose.stderr);
    for (const printed of [JSON.stringify(refused), verbose.stdout + verbose.stderr]) {
      for (const secret of secrets) assert.ok(!printed.includes(secret), `${secret} was printed:\n${printed}`);
    }
  }
  assert.equal(existsSync(path.join(project.root, "h")), false);
});

test("gen --check replays on an in-memory database of the libsql-client driver: bodies written for its client replay, and a failing one is REPLAY_FAILED at its line", async (t) => {
  const { project, cli } = await libsqlProject(t);
  const check = await cli(["gen", "--check", "--no-cache"]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /Replayed 3 migrations on an empty in-memory libsql-client database/);
  project.writeMigration(
    "004_broken.ts",
    `import { defineMigration } from "stepwise-migrate/libsql-client";\nexport default defineMigration({\n  async up(db) {\n    await db.execute("CREAT TABLE x (id INTEGER)");\n  },\n});\n`,
  );
  await cli(["gen"]);
  const broken = await cli(["gen", "--check", "--no-cache", "--json"]);
  assert.equal(broken.code, 1, broken.stderr);
  const problems = (JSON.parse(broken.stdout) as { problems: Array<{ code: string; file: string; line: number }> }).problems;
  assert.deepEqual(
    problems.map((problem) => [problem.code, problem.file, problem.line]),
    [["REPLAY_FAILED", "migrations/004_broken.ts", 4]],
  );
});

/**
 * Secrets stay secret, and nothing else is touched: a password or token is hidden where stepwise
 * prints the URL that holds it (the password component, a secret query parameter in any case or
 * encoding, a libpq `key=value` string), never by searching the output for its text. So `--json`
 * stays valid JSON with every key intact whatever the password is (`test`, `a`, `postgres`...), a
 * path or a scheme that happens to contain it is printed as it is, and what commander echoes, what
 * `--db` is given and what a driver's error says are redacted where the URL is known. Through the
 * in-process CLI, against the real PostgreSQL server (which trusts local logins, so any password is
 * accepted and the commands run to their output) and libsql-client on a `file:` URL.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import type { DatabaseOpener, DriverLoaders } from "../src/cli/open-database.js";
import type { MigrationRegistry } from "../src/core/types.js";
import { jsonError, jsonOutput, runInProcess, type InProcessRun } from "./support/in-process-cli.js";
import { makeTempDir } from "./support/project.js";
import { createTestDatabase } from "./support/postgres-server.js";
import { sqlEntry } from "./support/registry-builders.js";

const SQLITE_REGISTRY: MigrationRegistry = [sqlEntry(1, "CREATE TABLE items (id INTEGER PRIMARY KEY)")];
const PG_REGISTRY: MigrationRegistry = SQLITE_REGISTRY.map((entry) => ({ ...entry, dialect: "postgres" as const }));

/** Passwords that are also pieces of the output around them: of a JSON key, a scheme, a path, a word. */
const COMMON_WORDS = ["test", "a", "postgres", "n", "Version", "migrations", "e"];

/** The keys `status --json` prints, every one of which must survive; on PostgreSQL `schema` follows `database`. */
const STATUS_KEYS = ["database", "exists", "currentVersion", "latestVersion", "pendingCount", "migrations", "unknownAppliedVersions", "problem"];
const PG_STATUS_KEYS = ["database", "schema", ...STATUS_KEYS.slice(1)];

/** How a redacted secret is printed. */
const REDACTED_FORM = "****";

/** `url` with `password` as its password component. */
function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.href;
}

/** Asserts no form of `secret` (as given, percent-encoded, JSON-escaped) is anywhere in the output. */
function assertAbsent(run: InProcessRun, secret: string, what: string): void {
  const output = run.stdout + run.stderr;
  for (const form of new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]))
    assert.ok(!output.includes(form), `${what}: the output holds ${JSON.stringify(form)}:\n${output}`);
}

describe("pg: the password is hidden in the URL stepwise prints, and nothing else is touched", () => {
  test("status --json stays valid JSON with its keys intact and its URL redacted, whatever the password", async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    for (const password of COMMON_WORDS) {
      const url = withPassword(database.url, password);
      const run = await runInProcess({ migrations: PG_REGISTRY }, ["--driver", "pg", "--url", url, "status", "--json"]);
      const status = jsonOutput<Record<string, unknown>>(run);
      assert.deepEqual(Object.keys(status), PG_STATUS_KEYS, `password ${JSON.stringify(password)}`);
      assert.equal(status.schema, "public");
      const shown = new URL(String(status.database));
      assert.equal(shown.password, "****", String(status.database));
      assert.equal(`${shown.protocol}//${shown.username}@${shown.host}${shown.pathname}`, `postgres://postgres@${new URL(database.url).host}/${database.name}`);
      // Only the password was replaced: the rest of the output is the output.
      assert.equal(run.stdout.split("****").length, 2, run.stdout);
      // PGPASSWORD is never printed, and never searched for: the same output, untouched.
      const fromEnv = await runInProcess({ migrations: PG_REGISTRY }, ["--driver", "pg", "--url", database.url, "status", "--json"], { PGPASSWORD: password });
      assert.deepEqual(Object.keys(jsonOutput<Record<string, unknown>>(fromEnv)), PG_STATUS_KEYS);
      assert.ok(!fromEnv.stdout.includes("****"), fromEnv.stdout);
    }
  });

  test("a secret in the query (password=, sslpassword=, an encoded key) is hidden whole, the other parameters shown as given", async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const separator = database.url.includes("?") ? "&" : "?";
    for (const [query, shown] of [
      ["password=te'st%20x&application_name=app", "password=****&application_name=app"],
      ["pass%77ord=a+b&application_name=app", "pass%77ord=****&application_name=app"],
      ["application_name=app&SSLPassword=x%2By", "application_name=app&SSLPassword=****"],
    ] as const) {
      const run = await runInProcess({ migrations: PG_REGISTRY }, ["--driver", "pg", "--url", `${database.url}${separator}${query}`, "status", "--json"]);
      const status = jsonOutput<{ database: string }>(run);
      assert.equal(status.database, `${database.url}${separator}${shown}`, query);
    }
  });

  test("a driver's error that quotes the URL is redacted where the URL is known, in --json and --verbose alike", async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const password = "a";
    const url = withPassword(database.url, password);
    // An app's own connector (the drivers prop) whose client quotes the URL it was given, as some do.
    const echoing: DatabaseOpener = {
      async open(options) {
        throw new Error(`could not reach ${options.url}`, { cause: new Error(`dial ${options.url} refused`) });
      },
    };
    const drivers: DriverLoaders = { pg: async () => echoing };
    for (const args of [
      ["status", "--json"],
      ["status", "--verbose"],
    ]) {
      const run = await runInProcess({ migrations: PG_REGISTRY, drivers }, ["--driver", "pg", "--url", url, ...args]);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.ok(!(run.stdout + run.stderr).includes(`:${password}@`), `the password is shown:\n${run.stdout}${run.stderr}`);
      const shown = `could not reach ${withPassword(database.url, REDACTED_FORM)}`;
      assert.ok((run.stdout + run.stderr).includes(shown), `expected ${shown} in:\n${run.stdout}${run.stderr}`);
      // Nothing translated it: a stack on stderr, and the code UNEXPECTED in the JSON.
      if (args.includes("--json")) assert.equal((JSON.parse(run.stdout) as { error: { code: string } }).error.code, "UNEXPECTED");
    }
  });
});

describe("SQLite drivers: nothing that is not a secret is redacted", () => {
  test("a path, a scheme and a message that contain a secret's text are printed as they are", async (t) => {
    const dir = makeTempDir(t);
    const file = path.join(dir, "stepwise.db");
    // Environment secrets of drivers not in use: never printed, so never searched for.
    const env = { PGPASSWORD: "wise", LIBSQL_AUTH_TOKEN: "test" };
    const status = await runInProcess({ migrations: SQLITE_REGISTRY }, ["--db", file, "status", "--json"], env);
    assert.equal(jsonOutput<{ database: string }>(status).database, file);
    assert.deepEqual(Object.keys(jsonOutput<Record<string, unknown>>(status)), STATUS_KEYS);
    // DATABASE_URL of another database, refused by its shape: the scheme is named, the password is not.
    const refused = await runInProcess({ migrations: SQLITE_REGISTRY }, ["status", "--json"], { DATABASE_URL: "postgres://postgres:postgres@db.example/app" });
    const error = jsonError(refused, 2);
    assert.equal(error.code, "DATABASE_PATH_INVALID");
    assert.match(error.message, /postgres:\/\/…/);
    assert.ok(!(refused.stdout + refused.stderr).includes("postgres:postgres"), refused.stdout + refused.stderr);
  });

  test("libsql-client: LIBSQL_AUTH_TOKEN is never printed, and the output is left whole", async (t) => {
    const file = path.join(makeTempDir(t), "app.db");
    for (const token of ["test", "a", "e"]) {
      const run = await runInProcess({ migrations: SQLITE_REGISTRY }, ["--driver", "libsql-client", "--url", `file:${file}`, "status", "--json"], { LIBSQL_AUTH_TOKEN: token });
      assert.deepEqual(Object.keys(jsonOutput<Record<string, unknown>>(run)), STATUS_KEYS);
      assert.ok(!run.stdout.includes("****"), run.stdout);
    }
  });
});

describe("what commander echoes and what --db is given: the URL's secrets hidden, structurally", () => {
  test("an unknown option or command that carries a URL echoes it with its password and token hidden", async () => {
    for (const [args, secret, shown] of [
      [["--urll=postgres://app:s3cr3t-1@db.example/prod", "status", "--json"], "s3cr3t-1", "postgres://app:****@db.example/prod"],
      [["postgres://app:s3cr3t-2@db.example/prod"], "s3cr3t-2", "postgres://app:****@db.example/prod"],
      [["--urll=libsql://db.example?authToken=tok+en%2F3", "status", "--json"], "tok+en%2F3", "libsql://db.example?authToken=****"],
      [["--urll=host=db.example password=s3cr3t-4 dbname=prod", "status", "--json"], "s3cr3t-4", "host=db.example password=**** dbname=prod"],
    ] as const) {
      const run = await runInProcess({ migrations: SQLITE_REGISTRY }, args);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assertAbsent(run, secret, args.join(" "));
      assert.ok((run.stdout + run.stderr).includes(shown), `${args.join(" ")}:\n${run.stdout}${run.stderr}`);
      if ((args as readonly string[]).includes("--json")) assert.equal(jsonError(run, 2).code, "USAGE");
    }
  });

  test("--url given twice names both URLs, their secrets hidden", async () => {
    for (const [first, second, secrets] of [
      ["libsql://h.example?authToken=ab+cd", "libsql://h.example?auth%54oken=ef%2Bgh", ["ab+cd", "ab cd", "ef%2Bgh", "ef+gh"]],
      ["postgres://app:one-Secret@h.example/db", "postgres://app:two-Secret@h.example/db", ["one-Secret", "two-Secret"]],
    ] as const) {
      const run = await runInProcess({ migrations: SQLITE_REGISTRY }, ["--driver", "pg", "--url", first, "--url", second, "status", "--json"]);
      assert.equal(jsonError(run, 2).code, "USAGE");
      for (const secret of secrets) assertAbsent(run, secret, `${first} ${second}`);
    }
  });

  test("--db (and the config's database) given a URL or a connection string is refused by its shape, naming no secret", async (t) => {
    const dir = makeTempDir(t);
    for (const [value, secret] of [
      ["libsql://db.example?authToken=tok-5", "tok-5"],
      ["https://db.example/app.db?token=x&authToken=tok-6", "tok-6"],
      ["host=db.example password=s3cr3t-7", "s3cr3t-7"],
      ["file:app.db?auth%54oken=tok-8", "tok-8"],
    ] as const) {
      for (const props of [{}, { database: value }]) {
        const args = "database" in props ? ["status", "--json"] : ["--db", value, "status", "--json"];
        const run = await runInProcess({ migrations: SQLITE_REGISTRY, cwd: dir, ...props }, args);
        assert.equal(jsonError(run, 2).code, "DATABASE_PATH_INVALID", value);
        assertAbsent(run, secret, value);
      }
    }
  });
});

/**
 * Options that take one value refuse two different ones: commander keeps the last silently, so a
 * script that appends `--db` or `--driver` to a command line that already had one would act on
 * another database, or through another library, than the one it named first. The same value twice
 * (or two spellings of one driver) passes. Driver names from the config are read case- and
 * space-insensitively, as `--driver` reads them.
 */
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createCli } from "../src/cli/create-cli.js";
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import { readConfig } from "../codegen/config.js";
import { createTestProject, makeTempDir, runCli } from "./support/project.js";

/** The runtime CLI in this process, on an empty registry, with every driver the bin offers. */
function cliIn(dir: string) {
  let stdout = "";
  const cli = createCli({
    migrations: [],
    database: path.join(dir, "default.db"),
    cwd: dir,
    drivers: ALL_DRIVER_LOADERS,
    io: { stdout: (text) => void (stdout += text), stderr: () => {}, env: {}, isTTY: false },
  });
  return {
    async run(args: readonly string[]) {
      stdout = "";
      const code = await cli.run([...args, "--json"]);
      return { code, stdout };
    },
  };
}

const TWICE: ReadonlyArray<{ args: readonly string[]; values: readonly [string, string] }> = [
  { args: ["--db", "a.db", "--db", "b.db", "status"], values: ["a.db", "b.db"] },
  { args: ["--db", "a.db", "status", "--db", "b.db"], values: ["a.db", "b.db"] },
  { args: ["--table", "history_one", "--table", "history_two", "status"], values: ["history_one", "history_two"] },
  { args: ["--busy-timeout", "10", "--busy-timeout", "20", "status"], values: ["10", "20"] },
  { args: ["--driver", "sql-js", "--driver", "libsql", "up"], values: ["sql-js", "libsql"] },
  { args: ["up", "--to", "1", "--to", "2"], values: ["1", "2"] },
  { args: ["up", "--backup", "one", "--backup", "two"], values: ["one", "two"] },
  { args: ["up", "--backup", "--backup", "two"], values: ["true", "two"] },
  { args: ["up", "--backup", "one", "--backup"], values: ["one", "the default"] },
  { args: ["up", "--backup", "--keep-backups", "1", "--keep-backups", "2"], values: ["1", "2"] },
  { args: ["down", "--steps", "1", "--steps", "2"], values: ["1", "2"] },
  { args: ["down", "--to", "0", "--to", "1"], values: ["0", "1"] },
  { args: ["repair", "--applied", "1", "--applied", "2", "--yes"], values: ["1", "2"] },
  { args: ["repair", "--forget", "1", "--forget", "2", "--yes"], values: ["1", "2"] },
];

test("every single-valued runtime option given twice with different values is USAGE (exit 2) naming both, and nothing is created", async (t) => {
  const dir = makeTempDir(t);
  const cli = cliIn(dir);
  for (const { args, values } of TWICE) {
    const { code, stdout } = await cli.run(args);
    assert.equal(code, 2, `${args.join(" ")}: ${stdout}`);
    const { error } = JSON.parse(stdout) as { error: { code: string; message: string } };
    assert.equal(error.code, "USAGE", args.join(" "));
    const named = /given twice with different values \((.+) and (.+)\)/.exec(error.message);
    assert.deepEqual(
      named?.slice(1).map((value) => value.replaceAll('"', "")),
      values,
      `${args.join(" ")}: ${error.message}`,
    );
    for (const file of ["a.db", "b.db", "default.db", "one", "two"]) assert.equal(existsSync(path.join(dir, file)), false, `${args.join(" ")} created ${file}`);
  }
});

test("the same value twice, or two spellings of one driver, is accepted", async (t) => {
  const dir = makeTempDir(t);
  const cli = cliIn(dir);
  for (const args of [
    ["--db", "a.db", "--db", "a.db", "status"],
    ["--driver", "sql.js", "--driver", "sql-js", "status"],
    ["--table", "h", "--table", "h", "status"],
    ["--busy-timeout", "5", "--busy-timeout", "5", "status"],
  ]) {
    const { code, stdout } = await cli.run(args);
    assert.equal(code, 0, `${args.join(" ")}: ${stdout}`);
  }
});

test("gen and create refuse --dir or --out given twice with different values (USAGE, exit 2), writing nothing", async (t) => {
  const project = createTestProject(t, { fixture: "runtime/side-effects" });
  for (const args of [
    ["gen", "--dir", "migrations", "--dir", "other"],
    ["gen", "--out", "a.ts", "--out", "b.ts"],
    ["create", "x", "--dir", "migrations", "--dir", "other"],
  ]) {
    const result = await runCli([...args, "--json"], { cwd: project.root });
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, "USAGE");
  }
  for (const file of ["generated", "other", "a.ts", "b.ts"]) assert.equal(existsSync(path.join(project.root, file)), false, `${file} was written`);
});

test('a config "driver" is read case- and space-insensitively, stored by its canonical name; an unknown one is DRIVER_UNKNOWN naming the file', (t) => {
  const dir = makeTempDir(t);
  for (const [written, canonical] of [
    ["LibSQL", "libsql"],
    [" libsql ", "libsql"],
    ["SQL.JS", "sql-js"],
    ["Node:SQLite", "node-sqlite"],
  ] as const) {
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ stepwise: { driver: written } }));
    assert.equal(readConfig(dir).driver, canonical, written);
  }
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ stepwise: { driver: "lib sql" } }));
  assert.throws(
    () => readConfig(dir),
    (error: { code?: string; details?: { source?: string } }) => error.code === "DRIVER_UNKNOWN" && String(error.details?.source).includes("package.json"),
  );
});

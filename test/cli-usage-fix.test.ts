/**
 * A usage error whose message names the next step carries it as `--json`'s `fix` too (docs/cli.md:
 * "filled for every code whose message names one"): a script can show it without parsing the message.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createTestProject, runCli } from "./support/project.js";

test("USAGE errors that say what to do fill fix: config, flags that go together, unknown values, URLs", async (t) => {
  const project = createTestProject(t, { packageJson: { stepwise: { database: "data/app.db" } } });
  project.writeMigration("001_init.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n");
  await project.generateAsBin();
  const packageFile = path.join(project.root, "package.json");
  const configFile = path.join(project.root, "stepwise.config.json");
  const withConfig = (stepwise: object) => {
    rmSync(configFile, { force: true });
    writeFileSync(packageFile, JSON.stringify({ name: "test-app", private: true, type: "module", stepwise }));
  };

  const cases: { args: string[]; setup?: () => void; fix: RegExp; env?: Record<string, string | undefined> }[] = [
    { args: ["status", "--json"], setup: () => writeFileSync(configFile, "{}"), fix: /^keep one config: remove .*stepwise\.config\.json, or the "stepwise" key of .*package\.json$/ },
    { args: ["repair", "--json"], setup: () => withConfig({ database: "data/app.db" }), fix: /^pass --applied <version>, --forget <version> or --checksums \[version\]/ },
    { args: ["repair", "--applied", "1", "--by", "me", "--json"], fix: /^add --checksums, or leave out --by$/ },
    { args: ["up", "--keep-backups", "3", "--json"], fix: /^add --backup, or leave out --keep-backups$/ },
    { args: ["up", "--dangerously-skip-integrity-check", "--json"], fix: /^add --backup, or leave out --dangerously-skip-integrity-check$/ },
    { args: ["import", "nope", "dir", "--json"], fix: /^name one of the tools import reads: diesel, .*umzug/ },
    { args: ["import", "dbmate", "dir", "--glob", "*.sql", "--json"], fix: /^leave out --glob$/ },
    { args: ["gen", "--base", "main", "--json"], fix: /^add --check, or leave out --base$/ },
    { args: ["status", "--json"], setup: () => withConfig({ database: 5 }), fix: /^make "database" in the "stepwise" key of package\.json a non-empty string, or remove it/ },
    { args: ["status", "--json"], setup: () => withConfig({ database: "data/app.db", target: "d2" }), fix: /^set "target" to "d1"/ },
    { args: ["status", "--json"], setup: () => withConfig({ url: "postgres://u:pw@h/db" }), fix: /^write "url": "\$\{DATABASE_URL\}" in .*package\.json/ },
    { args: ["status", "--json"], setup: () => withConfig({ driver: "pg", url: "${APP_PG_URL}" }), fix: /^set APP_PG_URL, or pass --url$/, env: { APP_PG_URL: undefined } },
    {
      args: ["--driver", "libsql-client", "--url", "libsql://db.example?foo=1", "status", "--json"],
      setup: () => withConfig({}),
      fix: /^remove every query parameter but authToken and tls from --url/,
    },
    { args: ["--driver", "pg", "--url", "mysql://h/db", "status", "--json"], fix: /^give --url a PostgreSQL URL such as postgres:/ },
  ];
  for (const { args, setup, fix, env } of cases) {
    setup?.();
    const result = await runCli(args, { cwd: project.root, env });
    const label = `${args.join(" ")}: ${result.stdout}`;
    assert.equal(result.code, 2, label);
    const { error } = JSON.parse(result.stdout) as { error: { code: string; fix: unknown } };
    assert.equal(error.code, "USAGE", label);
    assert.match(String(error.fix), fix, label);
  }
});

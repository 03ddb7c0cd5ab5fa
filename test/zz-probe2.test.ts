import { test } from "node:test";
import { mkdirSync, writeFileSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createTestProject, runCli } from "./support/project.js";
const DBMATE = (table: string) => `-- migrate:up\nCREATE TABLE ${table} (id INTEGER);\n-- migrate:down\nDROP TABLE ${table};\n`;
for (const name of ["1_a\rb.sql", "1_a\nb.sql", "1_a\u2028b.sql", "1_a\x1b[2Jb.sql", "1_a */ b.sql", "1_a -- migrate:down.sql"]) test(JSON.stringify(name), async (t) => {
  const project = createTestProject(t);
  mkdirSync(path.join(project.root, "dbm"));
  writeFileSync(path.join(project.root, "dbm", name), DBMATE("a"));
  writeFileSync(path.join(project.root, "dbm", "2_b.sql"), DBMATE("b"));
  const run = await runCli(["import", "dbmate", "dbm", "--yes"], { cwd: project.root });
  console.log("import", run.code, run.stdout.slice(0, 300), run.stderr.slice(0, 500));
  if (run.code !== 0) return;
  for (const f of readdirSync(project.migrationsDir)) console.log(f, JSON.stringify(readFileSync(path.join(project.migrationsDir, f), "utf8").slice(0, 120)));
  const gen = await runCli(["gen"], { cwd: project.root });
  console.log("gen", gen.code, gen.stderr.slice(0, 500));
});

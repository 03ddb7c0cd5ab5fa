/**
 * Property-based fuzzing of `stepwise gen` over random and mutated migration folders. Whatever the
 * folder holds, gen either writes a complete, parseable registry or reports problems (exit 1) and
 * leaves the previous registry byte for byte; it never throws, never prints a stack trace, and never
 * leaves a temporary file behind. Failures print fast-check's seed; STEPWISE_SEED replays one.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { ts } from "ts-morph";
import { findRegistryProblems } from "../src/core/planner.js";
import { createTestProject, runCli, type TestProject } from "./support/project.js";

const SENTINEL = "// the previous registry: a failed gen must leave these bytes\n";

const VALID_SQL = `-- description: Add a table
-- migrate:up
CREATE TABLE widgets (id INTEGER PRIMARY KEY, label TEXT NOT NULL DEFAULT 'x');
INSERT INTO widgets (label) VALUES ('a \`quoted\` \${label} \\\\ back');
-- migrate:down
DROP TABLE widgets;
`;
const VALID_TS = `import { defineMigration } from "stepwise";

export default defineMigration({
  description: "Seed widgets",
  transaction: true,
  up(db) {
    db.exec("CREATE TABLE IF NOT EXISTS gadgets (id INTEGER PRIMARY KEY)");
  },
  down(db) {
    db.exec("DROP TABLE gadgets");
  },
});
`;
const SNIPPETS = [
  "async ", "-- migrate:up", "-- migrate:down", "-- migrate:up transaction:false", "-- migrate:up foreign_keys:off", "PRAGMA foreign_keys = OFF;",
  "export default ", "defineMigration(", "}", "{", ")", "`", "${", "\u0000", "\uFEFF", "\r\n", "\n", "/*", "*/", "//", "'", '"', "transaction: false,",
  "disableForeignKeys: true,", "description: `x`,", "up: 5,", "down(db) {},", "export default 1;", "\u2028", "🦆",
];

/** A file name: mostly migration-shaped, sometimes anything. */
const fileName = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 0, max: 6 }), fc.constantFrom("add_widgets", "seed", "x", "rebuild_table_2"), fc.constantFrom(".sql", ".ts")).map(([v, n, e]) => `${String(v).padStart(3, "0")}_${n}${e}`) },
  { weight: 1, arbitrary: fc.constantFrom("99999999999999999999_huge.sql", "1_short.ts", "001-dash.sql", "001_Upper.sql", "001_ spaced.ts", "001_x.d.ts", "README.md", "001_.sql", "0001_ok.SQL", "001_émoji.ts", "_001_x.sql") },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/[/\\\0]/.test(s) && s !== "." && s !== "..") },
);

/** Applies random edits to a valid file: deletions, insertions of risky snippets, duplications. */
const mutated = (base: string) =>
  fc.array(fc.tuple(fc.nat(), fc.nat({ max: 40 }), fc.constantFrom(...SNIPPETS), fc.constantFrom("delete", "insert", "duplicate")), { maxLength: 4 }).map((edits) => {
    let text = base;
    for (const [at, length, snippet, kind] of edits) {
      const i = at % (text.length + 1);
      if (kind === "delete") text = text.slice(0, i) + text.slice(i + length);
      else if (kind === "insert") text = text.slice(0, i) + snippet + text.slice(i);
      else text = text.slice(0, i) + text.slice(i, i + length) + text.slice(i);
    }
    return text;
  });

const content = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(VALID_SQL, VALID_TS) },
  { weight: 5, arbitrary: fc.constantFrom(VALID_SQL, VALID_TS).chain(mutated) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
);

interface FolderEntry {
  readonly name: string;
  readonly content: string | Buffer;
  /** Make it a folder instead of a file. */
  readonly directory: boolean;
}
const folder = fc.uniqueArray(
  fc.record({ name: fileName, content, directory: fc.integer({ min: 0, max: 19 }).map((n) => n === 0) }),
  { maxLength: 7, selector: (entry) => entry.name },
);

function materialize(project: TestProject, entries: readonly FolderEntry[]): void {
  rmSync(project.migrationsDir, { recursive: true, force: true });
  mkdirSync(project.migrationsDir, { recursive: true });
  mkdirSync(path.dirname(project.registryFile), { recursive: true });
  writeFileSync(project.registryFile, SENTINEL);
  for (const entry of entries) {
    const target = path.join(project.migrationsDir, entry.name);
    if (entry.directory) mkdirSync(target, { recursive: true });
    else writeFileSync(target, entry.content);
  }
}

function assertNoTemporaryFiles(project: TestProject): void {
  assert.deepEqual(readdirSync(path.dirname(project.registryFile)).filter((name) => name !== path.basename(project.registryFile)), []);
}

/** A complete registry: parses as TypeScript and its entries follow the version rules. */
function assertCompleteRegistry(text: string, migrationCount: number): void {
  const source = ts.createSourceFile("registry.ts", text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const diagnostics = (source as unknown as { parseDiagnostics: unknown[] }).parseDiagnostics;
  assert.deepEqual(diagnostics, [], "the registry does not parse");
  const versions = [...text.matchAll(/\bversion: (\d+),/g)].map((match) => Number(match[1]));
  assert.deepEqual(versions, Array.from({ length: migrationCount }, (_, i) => i + 1));
  assert.match(text, new RegExp(`export const latestVersion = ${migrationCount};\\n$`));
  // The runtime refuses a registry whose entry disables foreign keys outside a transaction
  // (findRegistryProblems), so gen must never write one.
  for (const entry of text.split(/\bversion: /).slice(1)) {
    assert.ok(!(/\btransaction: false\b/.test(entry) && /\bdisableForeignKeys: true\b/.test(entry)), `gen wrote an entry the runtime refuses:\n${entry.slice(0, 400)}`);
  }
}

const seed = process.env.STEPWISE_SEED ? Number(process.env.STEPWISE_SEED) : undefined;

test("gen on random and mutated folders: a complete registry or problems, never a throw or a partial file", { timeout: 10 * 60_000 }, async (t) => {
  const project = createTestProject(t);
  let written = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(folder, async (entries) => {
      materialize(project, entries);
      const result = await project.generate();
      assertNoTemporaryFiles(project);
      const after = readFileSync(project.registryFile, "utf8");
      if (result.ok) {
        written++;
        assert.equal(result.status, "written");
        assert.deepEqual(result.problems, []);
        assertCompleteRegistry(after, result.migrationCount);
      } else {
        refused++;
        assert.equal(result.status, "invalid");
        assert.ok(result.problems.length > 0);
        for (const problem of result.problems) {
          assert.ok(typeof problem.code === "string" && problem.line >= 1 && problem.column >= 1 && problem.message.length > 0, JSON.stringify(problem));
        }
        assert.equal(after, SENTINEL, "a failed gen changed the registry");
      }
    }),
    { numRuns: process.env.STEPWISE_SOAK ? 1000 : 80, seed },
  );
  t.diagnostic(`${written} folders written, ${refused} refused`);
  assert.ok(written > 0 && refused > 0, "the generator should produce both outcomes");
});

test("registries gen writes from valid folders load and satisfy the runtime's rules", { timeout: 5 * 60_000 }, async (t) => {
  const project = createTestProject(t);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom(VALID_SQL, VALID_TS), { minLength: 1, maxLength: 5 }), async (contents) => {
      materialize(project, contents.map((text, i) => ({ name: `${String(i + 1).padStart(3, "0")}_step.${text === VALID_SQL ? "sql" : "ts"}`, content: text, directory: false })));
      const migrations = await project.load();
      assert.equal(migrations.length, contents.length);
      assert.deepEqual(findRegistryProblems(migrations), []);
    }),
    { numRuns: 5, seed },
  );
});

test("the real bin on random folders exits 0 or 1 and never prints a stack trace", { timeout: 5 * 60_000 }, async (t) => {
  const project = createTestProject(t);
  for (const entries of fc.sample(folder, { numRuns: 3, seed: seed ?? Date.now() })) {
    materialize(project, entries);
    const result = await runCli(["gen"], { cwd: project.root });
    const context = JSON.stringify(entries.map((entry) => entry.name));
    assert.ok(result.code === 0 || result.code === 1, `${context}: exit ${result.code}\n${result.stderr}`);
    assert.doesNotMatch(result.stderr, /unexpected error|^\s+at /m, context);
    if (result.code === 1) assert.equal(readFileSync(project.registryFile, "utf8"), SENTINEL, context);
    assertNoTemporaryFiles(project);
  }
});

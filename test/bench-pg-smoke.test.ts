import assert from "node:assert/strict";
import { test } from "node:test";
import { runPgBench } from "../bench/measure-pg.js";
import { evaluatePgNoOp, evaluatePgTargets, judgeInterval, renderPgMarkdown, summarizePgTargets } from "../bench/pg-report.js";
import { INTERLEAVED_APPLY_COMPARISONS } from "../bench/pg-apply-interleaved.js";
import { createPgSides } from "../bench/pg-sides.js";
import { benchTableName, createPgWorkload } from "../bench/pg-workload.js";
import { connectFreshWithUrl } from "./support/pg-client.js";
import { makeTempDir } from "./support/project.js";

const SIZE = 4;
const SIDES = ["stepwise", "stepwise-all", "hand", "hand-all", "node-pg-migrate", "kysely", "knex"];

// Runs the PostgreSQL half of `npm run bench` once on a tiny workload against the embedded server, so
// it cannot rot. Times are only checked to be numbers: speed is the bench's business, not the suite's.
test("the pg bench runs every side on the same workload, and every side leaves the same schema and rolls it all back", { timeout: 300_000 }, async (t) => {
  const result = await runPgBench({
    size: SIZE,
    rounds: 1,
    noopRuns: 1,
    noopInterleaved: 3,
    applyInterleaved: { size: SIZE, pairs: 2 },
    warmupRounds: 0,
    workDir: makeTempDir(t, "stepwise-bench-pg-smoke-"),
  });
  assert.deepEqual(
    result.sides.map((side) => side.id),
    SIDES,
  );

  const expectedTables = Array.from({ length: SIZE }, (_, index) => benchTableName(index + 1));
  const reference = result.sides[0]!.schema;
  // Five columns and two indexes (the primary key's and the name index) per workload table.
  assert.equal(reference.length, SIZE * 7);
  for (const table of expectedTables) {
    assert.ok(
      reference.some((line) => line.startsWith(`index idx_${table}_name on ${table}:`)),
      `${table}'s index`,
    );
  }
  for (const side of result.sides) {
    await t.test(side.id, () => {
      assert.deepEqual(side.schema, reference, `${side.id} left another schema than stepwise`);
      assert.deepEqual(side.leftAfterRollback, [], `${side.id} left workload tables after rolling back`);
      for (const summary of [side.apply, side.noopStart, side.rollbackAll]) {
        assert.equal(summary.samples.length, 1);
        assert.ok(Number.isFinite(summary.median) && summary.median > 0, `${side.id}: ${summary.median}`);
      }
    });
  }

  const verdicts = evaluatePgTargets(result);
  assert.ok(verdicts.length > 0 && verdicts.every((verdict) => Number.isFinite(verdict.ratio)));
  // Both stepwise modes are judged on every figure, each against the hand loop of its own grouping
  // and every peer; only the one-transaction mode is like for like against the peers.
  for (const [stepwise, hand] of [
    ["stepwise", "hand"],
    ["stepwise-all", "hand-all"],
  ]) {
    for (const figure of ["apply", "rollbackAll"]) {
      assert.deepEqual(
        verdicts.filter((verdict) => verdict.stepwise === stepwise && verdict.figure === figure).map((verdict) => [verdict.against, verdict.likeForLike]),
        [[hand, true], ...["node-pg-migrate", "kysely", "knex"].map((peer) => [peer, stepwise === "stepwise-all"])],
        `${stepwise} ${figure}`,
      );
      assert.deepEqual(
        summarizePgTargets(result)
          .filter((target) => target.stepwise === stepwise && target.figure === figure)
          .map((target) => target.target),
        ["within 1.10× of the hand loop", "ahead of every peer"],
      );
    }
  }
  // The no-op start runs the same `up()` in both modes: judged once, and like for like.
  assert.deepEqual(
    verdicts.filter((verdict) => verdict.figure === "noopStart").map((verdict) => [verdict.stepwise, verdict.against, verdict.likeForLike]),
    ["hand", "node-pg-migrate", "kysely", "knex"].map((against) => ["stepwise", against, true]),
  );
  const markdown = renderPgMarkdown(result);
  assert.equal(markdown.split("\n").filter((line) => line.startsWith("| ") && line.includes(" | one ")).length, SIDES.length);
  // The no-op start's verdict, measured start by start: against the hand loop (≤ 1.10×) and Kysely (< 1).
  assert.equal(result.noopInterleaved?.samples, 3);
  for (const summary of Object.values(result.noopInterleaved!.starts)) assert.equal(summary.samples.length, 3);
  const noop = evaluatePgNoOp(result);
  assert.deepEqual(
    noop.map((verdict) => [verdict.against, verdict.limit, verdict.outcome === judgeInterval(verdict.ratio, verdict.limit, verdict.against === "hand")]),
    [
      ["hand", 1.1, true],
      ["kysely", 1, true],
    ],
  );
  for (const verdict of noop) assert.ok(Number.isFinite(verdict.ratio.estimate) && verdict.ratio.low <= verdict.ratio.high, JSON.stringify(verdict.ratio));
  assert.equal(markdown.split("\n").filter((line) => /^- no-op start against (the hand loop|Kysely): .* over the whole interval: \*\*(met|not met|undecided)\*\*/.test(line)).length, 2);

  // Fresh apply and roll-back-all, measured apply by apply: every side twice, each figure judged by
  // its interval for each stepwise mode against its own hand loop and stepwise-all against each peer.
  const phase = result.applyInterleaved!;
  assert.equal(phase.size, SIZE);
  assert.equal(phase.pairs, 2);
  assert.deepEqual(Object.keys(phase.times), SIDES);
  for (const figures of Object.values(phase.times)) for (const summary of [figures.apply, figures.rollbackAll]) assert.equal(summary.samples.length, 2);
  assert.deepEqual(
    phase.verdicts.map((verdict) => [verdict.figure, verdict.stepwise, verdict.against, verdict.target, verdict.limit]),
    ["apply", "rollbackAll"].flatMap((figure) => INTERLEAVED_APPLY_COMPARISONS.map((comparison) => [figure, comparison.stepwise, comparison.against, comparison.target, comparison.limit])),
  );
  for (const verdict of phase.verdicts) {
    assert.ok(Number.isFinite(verdict.ratio.estimate) && verdict.ratio.low <= verdict.ratio.high, JSON.stringify(verdict.ratio));
    assert.equal(verdict.verdict, judgeInterval(verdict.ratio, verdict.limit, verdict.target === "within"));
  }
  const applyLines = markdown
    .split("\n")
    .filter((line) => /^- (fresh apply|roll back all), .+ against .+: \d+\.\d\d× \(95% \d+\.\d\d–\d+\.\d\d\); target (≤ 1\.10|< 1\.00)× .*: \*\*(met|not met|undecided)\*\*$/.test(line));
  assert.equal(applyLines.length, 2 * INTERLEAVED_APPLY_COMPARISONS.length, markdown);
});

// The one-transaction side rolls back with down({ to: 0, transaction: "all" }) (one transaction: counted
// in test/pg-whole-run-round-trips.test.ts) and must leave nothing: no workload table and no history row.
// Checked on its own database, outside the timed run, whose databases are dropped after each side.
test("the bench's stepwise-all side rolls everything back: no workload table and no history row are left", { timeout: 120_000 }, async (t) => {
  const workload = await createPgWorkload(SIZE, makeTempDir(t, "stepwise-bench-pg-all-"));
  const side = createPgSides(workload).find((candidate) => candidate.id === "stepwise-all")!;
  const { client, url } = await connectFreshWithUrl(t);
  await side.apply(url);
  assert.equal(Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM schema_migrations")).rows[0]!.n), SIZE);
  await side.rollbackAll(url);
  const { rows: left } = await client.query<{ relname: string }>("SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY($1)", [
    Array.from({ length: SIZE }, (_, index) => benchTableName(index + 1)),
  ]);
  assert.deepEqual(left, []);
  assert.deepEqual((await client.query("SELECT version FROM schema_migrations")).rows, []);
});

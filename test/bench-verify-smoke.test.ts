/**
 * `npm run bench -- --only verify` runs: the start-up verify figures (status, cold verify, verify on
 * the stored expected schema) on a small seed, one round. No timing is asserted; the bench reports it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { measureVerify, renderVerifyMarkdown } from "../bench/measure-verify.js";

test("the verify bench measures status, a cold verify and a cached one, and renders their ratios", () => {
  const result = measureVerify({ seedRows: 50, rounds: 1 });
  assert.equal(result.seedRows, 50);
  for (const side of ["status", "verifyCold", "verifyCached"] as const) {
    assert.equal(result.samplesMs[side].length, 1);
    assert.ok(Number.isFinite(result.medianMs[side]) && result.medianMs[side] >= 0);
  }
  assert.ok(Number.isFinite(result.ratios.coldToCached));
  assert.match(renderVerifyMarkdown(result), /ratio to `status`/);
});

/**
 * `assert.throws` / `assert.rejects` validation for a {@link StepwiseError}: `expected` reads like
 * the object form node's assert takes (`{ code: "MIGRATION_FAILED", version: 2 }`), with the error's
 * own properties (`code`, `message`, `name`, `nativeCode`, `nativeKind`) checked on the error and
 * every other key on its `details`, each by deep strict equality (a RegExp `message` is matched).
 */
import assert from "node:assert/strict";
import { StepwiseError } from "../../src/core/errors.js";

const OWN_KEYS = new Set(["code", "message", "name", "nativeCode", "nativeKind"]);

/** The validation function for `assert.throws(fn, stepwiseFailure({ code, ...details }))`. */
export function stepwiseFailure(expected: { readonly code: string } & Readonly<Record<string, unknown>>): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof StepwiseError, `expected a StepwiseError ${expected.code}, got ${String(error)}`);
    for (const [key, value] of Object.entries(expected)) {
      const actual: unknown = OWN_KEYS.has(key) ? (error as unknown as Record<string, unknown>)[key] : (error.details as Record<string, unknown>)[key];
      if (value instanceof RegExp && typeof actual === "string") assert.match(actual, value, key);
      else assert.deepStrictEqual(actual, value, `${key} of ${error.code}`);
    }
    return true;
  };
}

/**
 * What a test reads of a thrown value: a {@link StepwiseError}'s `details` as fields over the error
 * itself (so `code`, `message`, `nativeCode`, `cause` and `instanceof` still answer), and any other
 * thrown value as it is.
 */
export function factsOf(error: unknown): Record<string, unknown> {
  if (error instanceof StepwiseError) return Object.assign(Object.create(error) as object, error.details) as Record<string, unknown>;
  return error as Record<string, unknown>;
}

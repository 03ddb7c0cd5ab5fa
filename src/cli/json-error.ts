/**
 * A {@link StepwiseError} as plain JSON for `--json` output: its `code`, `message` and every
 * structured field, so a script branches on data as a program catching the error would.
 */
import type { StepwiseError } from "../core/errors.js";

/** The error's `name`, `code`, `message` and own fields; `cause` and `stack` are left out. */
export function errorToJson(error: StepwiseError): Record<string, unknown> {
  const fields: Record<string, unknown> = { name: error.name, code: error.code, message: error.message };
  for (const [key, value] of Object.entries(error)) {
    if (key === "cause" || key === "stack" || key in fields) continue;
    fields[key] = toPlain(value);
  }
  return fields;
}

/** JSON-safe: bigints as strings (history values may be), nested errors as name, code and message. */
function toPlain(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, code: (value as { code?: unknown }).code ?? null, message: value.message };
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toPlain(inner)]));
  return value;
}

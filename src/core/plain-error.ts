/**
 * A {@link StepwiseError} as plain data: its `code`, `message` and the facts it carries as fields,
 * JSON-safe. `status()` reports why `up` would refuse this way, and the CLI's `--json` errors are
 * built on it, so a refusal reads the same wherever it is shown.
 */
import type { StepwiseError, StepwiseErrorCode, StepwiseErrorDetails } from "./errors.js";
import { copyTexts } from "./option-text.js";

/** Why `up` would refuse, as `status()` reports it: the refusal's code, message and fields. */
export interface StatusProblem {
  /** The code `up` would throw with. */
  readonly code: StepwiseErrorCode;
  readonly message: string;
  /** CHECKSUM_MISMATCH's ways out (the other refusals say theirs in `message`). */
  readonly fix?: StepwiseErrorDetails["CHECKSUM_MISMATCH"]["fix"];
  /** The refusal's facts, as its error carries them: `version`, `file`, `tables`, `unknownVersions`... */
  readonly [field: string]: unknown;
}

/**
 * `error`'s code, message, `nativeCode`, `nativeKind` and details, side by side, each made
 * JSON-safe: a bigint as its decimal text, a nested error as its name, code and message.
 */
export function toPlainError(error: StepwiseError): StatusProblem {
  const plain: Record<string, unknown> = { code: error.code, message: error.message, nativeCode: error.nativeCode, nativeKind: error.nativeKind };
  for (const [key, value] of Object.entries(error.details)) {
    if (key in plain) continue;
    plain[key] = toPlain(value);
  }
  // The CLI spells the message and fix with its flags (see option-text.ts).
  copyTexts(error, plain);
  return plain as StatusProblem;
}

/** JSON-safe: bigints as strings (history values may be), nested errors as name, code and message. */
function toPlain(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, code: (value as { code?: unknown }).code ?? null, message: value.message };
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toPlain(inner)]));
  return value;
}

/**
 * Records on a stepwise error what its driver read from the library error it wraps (`nativeCode`,
 * `nativeKind`). Kept out of `errors.ts`, whose every export is public API: apps read the fields,
 * only the runtime sets them.
 */
import type { ErrorClassification } from "./driver.js";
import type { ErrorKind } from "./error-kind.js";
import { StepwiseError } from "./errors.js";
import { isInstanceSafely } from "./thrown-value.js";

/**
 * Records a driver's reading of the library error `error` wraps as its `nativeCode` and
 * `nativeKind`. The first reading wins, and a reading without a code records nothing.
 */
export function recordNativeError<E extends StepwiseError>(error: E, classification: ErrorClassification): E {
  if (error.nativeCode !== null || classification.nativeCode === null) return error;
  // The fields are read-only to everyone else; they are set once, here, right after construction.
  const fields = error as { nativeCode: string | null; nativeKind: ErrorKind | null };
  fields.nativeCode = classification.nativeCode;
  fields.nativeKind = classification.kind;
  return error;
}

/** The library error a stepwise error wraps: the first cause down its chain that is not a stepwise error, or `undefined`. */
export function nativeCauseOf(error: StepwiseError): unknown {
  let cause: unknown = error.cause;
  // Bounded: a cause chain is data, and a cyclic one must not hang error handling.
  for (let depth = 0; depth < 8 && isInstanceSafely(cause, StepwiseError); depth++) cause = cause.cause;
  return isInstanceSafely(cause, StepwiseError) ? undefined : cause;
}

/** What a reading that cannot be made reports: no code, kind `other`. */
const UNREADABLE: ErrorClassification = { kind: "other", nativeCode: null };

/**
 * `classify(error)`, or no code when the classifier throws. A migration body can throw any value
 * (`null`, a frozen object, a Proxy whose getters throw), and a driver's classifier, the app's own
 * included, must never turn that migration's failure into a `TypeError` of its own.
 */
export function classifySafely(classify: (error: unknown) => ErrorClassification, error: unknown): ErrorClassification {
  try {
    return classify(error) ?? UNREADABLE;
  } catch {
    return UNREADABLE;
  }
}

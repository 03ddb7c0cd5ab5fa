/** The errors only codegen and the bin throw: a registry that will not load, a file that could not be written. The same `StepwiseError`, its codes and details defined in the core. */
import path from "node:path";
import { describeThrownValue, isFull } from "../src/core/error-factories.js";
import { StepwiseError, type StepwiseErrorDetails } from "../src/core/errors.js";

/** `REGISTRY_LOAD_FAILED`: the registry module could not be imported. */
export function registryLoadError({ file, location, cause }: StepwiseErrorDetails["REGISTRY_LOAD_FAILED"] & { cause: unknown }) {
  const advice = commonJsAdvice(cause, location) ?? `If a migration throws when it is imported, fix it there; if the registry itself is broken, run "stepwise gen" to rewrite it.`;
  const message = `Could not load ${file}${location ? ` (at ${location})` : ""}: ${describeThrownValue(cause)}\n${advice}`;
  return new StepwiseError("REGISTRY_LOAD_FAILED", message, { file, location }, { cause });
}

/**
 * The fix when a CommonJS file (an imported tool's migration, which `import` left as it was) failed because its package is `"type": "module"`: a `package.json` of its own
 * folder says otherwise. `null` for any other failure.
 */
export function commonJsAdvice(cause: unknown, location: string | null): string | null {
  const used = /\b(exports|require|module|__dirname|__filename) is not defined in ES module scope/.exec(describeThrownValue(cause))?.[1];
  if (used === undefined) return null;
  const folder = location === null ? "its folder" : path.dirname(location.replace(/:\d+:\d+$/, "")) || ".";
  return `The file is CommonJS (it uses ${used}) in a package whose package.json says "type": "module": write a package.json reading {"type": "commonjs"} in ${folder}.`;
}

/** `FILE_WRITE_FAILED`: `gen` or `create` could not write a file; the target is as it was and the temporary copy is gone. */
export function fileWriteError(fields: StepwiseErrorDetails["FILE_WRITE_FAILED"] & { cause: unknown }) {
  const { file, step, systemCode, bytesWritten, bytesExpected } = fields;
  const fix = isFull(systemCode) ? "Free disk space (or raise the quota or file size limit) and run it again." : "Check that the folder is writable and on a healthy disk, then run it again.";
  const message = `Could not write ${file} (${systemCode ?? "error"} during ${step}${step === "write" ? ` after ${bytesWritten} of ${bytesExpected} bytes` : ""}). Nothing was replaced: the file is as it was before, and the temporary copy was removed. ${fix}`;
  return new StepwiseError("FILE_WRITE_FAILED", message, { file, step, systemCode, bytesWritten, bytesExpected }, { cause: fields.cause });
}

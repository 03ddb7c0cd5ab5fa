/** The errors only codegen and the bin throw: a registry that will not load, a file that could not be written. The same `StepwiseError`, its codes and details defined in the core. */
import path from "node:path";
import { describeThrownValue, isFull } from "../src/core/error-factories.js";
import { StepwiseError, type StepwiseErrorDetails } from "../src/core/errors.js";

/** `REGISTRY_LOAD_FAILED`: the registry module could not be imported; `conflicted` when a merge left its conflict markers in it. */
export function registryLoadError({ file, location, cause, conflicted = false }: StepwiseErrorDetails["REGISTRY_LOAD_FAILED"] & { cause: unknown; conflicted?: boolean }) {
  // gen cannot rewrite it while the merged folder holds two migrations of one version, and rolling one of them back needs a registry that loads: one side's.
  const mergeAdvice = `A merge left conflict markers in it. To run it as one branch wrote it (to roll back, with STEPWISE_SKIP_REGISTRY_CHECK=1, what that branch applied before "stepwise rebase"), take that branch's registry: git checkout <branch> -- ${file}; else finish merging the migrations folder and run "stepwise gen".`;
  const advice = conflicted
    ? mergeAdvice
    : (commonJsAdvice(cause, location) ?? `If a migration throws when it is imported, fix it there; if the registry itself is broken, run "stepwise gen" to rewrite it.`);
  const message = `Could not load ${file}${location ? ` (at ${location})` : ""}: ${describeThrownValue(cause)}\n${advice}`;
  return new StepwiseError("REGISTRY_LOAD_FAILED", message, { file, location }, { cause });
}

/**
 * The fix when a file failed for a CommonJS name Node does not define in an ES module: a CommonJS `.js` file (an imported tool's migration, which `import` left as it was)
 * needs a `package.json` of its own folder saying so; a TypeScript migration, the ES module ways to the same. `null` for any other failure.
 */
export function commonJsAdvice(cause: unknown, location: string | null): string | null {
  const used = /\b(exports|require|module|__dirname|__filename) is not defined in ES module scope/.exec(describeThrownValue(cause))?.[1];
  if (used === undefined) return null;
  const file = location?.replace(/:\d+:\d+$/, "") ?? null;
  // A TypeScript migration is an ES module wherever it sits: it reaches for CommonJS's names by mistake.
  if (file === null || /\.[mc]?ts$|\.mjs$/.test(file)) {
    return `${file ?? "A file it loads"} is an ES module, where ${used} is not defined: use import.meta.dirname or fileURLToPath(import.meta.url) for __dirname and __filename, createRequire(import.meta.url) for require, and export for exports.`;
  }
  return `The file is CommonJS (it uses ${used}) in a package whose package.json says "type": "module": write a package.json reading {"type": "commonjs"} in ${path.dirname(file) || "."}.`;
}

/** `FILE_WRITE_FAILED`: `gen` or `create` could not write a file; the target is as it was and the temporary copy is gone. */
export function fileWriteError(fields: StepwiseErrorDetails["FILE_WRITE_FAILED"] & { cause: unknown }) {
  const { file, step, systemCode, bytesWritten, bytesExpected } = fields;
  const fix = isFull(systemCode) ? "Free disk space (or raise the quota or file size limit) and run it again." : "Check that the folder is writable and on a healthy disk, then run it again.";
  const message = `Could not write ${file} (${systemCode ?? "error"} during ${step}${step === "write" ? ` after ${bytesWritten} of ${bytesExpected} bytes` : ""}). Nothing was replaced: the file is as it was before, and the temporary copy was removed. ${fix}`;
  return new StepwiseError("FILE_WRITE_FAILED", message, { file, step, systemCode, bytesWritten, bytesExpected }, { cause: fields.cause });
}

/**
 * A Node 20 shard's entry (`scripts/run-node-tests.mjs` writes one per shard process): it takes the
 * suite's files one at a time from a queue every shard of the run shares, runs that file's tests to
 * their end, then takes the next. A shard that drew quick files takes more of them, so the shards end
 * together however far the weights are off, instead of one holding the run open while the others are done.
 *
 * A file is taken by creating its folder in the queue (`mkdir` succeeds for one process only), in the
 * order the runner listed them (longest first). Its tests have ended when every promise that its
 * top-level `test()` and `describe()` calls returned has settled: both functions are wrapped for
 * that (node:test's exports are replaced, and `syncBuiltinESMExports` updates the bindings files
 * import). Nothing of a file loads while another file's tests run.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import path from "node:path";
import { setInterval, clearInterval } from "node:timers";
import { pathToFileURL } from "node:url";

/** Runs files from `queue` (their absolute paths, in order) until none is left; `name` is logged with each. */
export async function runFromQueue(queueDir, files, name) {
  const pending = [];
  const nodeTest = createRequire(import.meta.url)("node:test");
  for (const key of ["test", "describe"]) {
    const original = nodeTest[key];
    const tracked = (...args) => track(original(...args));
    for (const variant of ["skip", "todo", "only"]) tracked[variant] = (...args) => track(original[variant](...args));
    nodeTest[key] = tracked;
  }
  syncBuiltinESMExports();
  function track(promise) {
    pending.push(promise);
    return promise;
  }
  // An empty event loop while a test waits ends the root test (that test fails as pending): the
  // files after it would find their parent finished, so they are left to the other shards.
  let rootEnded = false;
  process.once("beforeExit", () => (rootEnded = true));
  for (const [index, file] of files.entries()) {
    if (rootEnded) break;
    try {
      mkdirSync(path.join(queueDir, String(index)));
    } catch (error) {
      if (error.code === "EEXIST") continue;
      throw error;
    }
    appendFileSync(path.join(queueDir, "taken"), `${name}\t${file}\n`);
    // While a file loads, nothing else may hold the event loop open (a top-level await on a
    // WebAssembly compile holds nothing): empty, it would end the shard's root test, as it ends a
    // process's, and the file's tests would find their parent finished.
    const loading = setInterval(() => {}, 60_000);
    try {
      await import(pathToFileURL(file).href);
    } finally {
      clearInterval(loading);
    }
    // A test's own subtests may call test() while it runs: wait for those too.
    while (pending.length > 0) await Promise.allSettled(pending.splice(0));
  }
}

/**
 * Test support: code run under V8's sampling profiler, as production profilers run it. Each sample
 * signals the thread, which cuts short any sleep in progress: SQLite's busy handler, which counts its
 * sleeps rather than the time, then gives up long before its timeout.
 */
import { Session } from "node:inspector";

/** Runs `body` under the sampling profiler, a sample every 0.1 ms (production profilers take one every 1 to 10 ms). */
export async function underSamplingProfiler<T>(body: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<void>((resolve, reject) => session.post(method, params, (error) => (error ? reject(error) : resolve())));
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 100 });
  await post("Profiler.start");
  try {
    return await body();
  } finally {
    await post("Profiler.stop");
    session.disconnect();
  }
}

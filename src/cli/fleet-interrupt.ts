/** Ctrl-C during `stepwise fleet`: the run stops starting databases and reports what it did, rather than dying with no report. */

/** The signals that stop a fleet run: Ctrl-C, and what a CI runner or a deploy sends before it kills. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Listens for SIGINT and SIGTERM while a fleet run lasts. The first aborts `signal`: no new database
 * is started, those running finish, and the report says which finished. A second ends the process
 * as the signal would have. `dispose` stops listening.
 */
export function listenForStop(): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (!controller.signal.aborted) return controller.abort();
    dispose();
    process.kill(process.pid, name);
  };
  const dispose = () => {
    for (const name of STOP_SIGNALS) process.off(name, onSignal);
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  return { signal: controller.signal, dispose };
}

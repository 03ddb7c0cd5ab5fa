/** A `stepwise fleet` worker thread of the bin: the registry loaded as the bin loads it, every driver the bin offers. */
import { ALL_DRIVER_LOADERS } from "../src/cli/driver-loaders.js";
import { serveFleetWorker } from "../src/cli/fleet-workers.js";
import { loadRegistry, type FleetWorkerData } from "./bin-cli.js";
import { sendConsoleToStderr } from "./console-to-stderr.js";

sendConsoleToStderr();
serveFleetWorker(ALL_DRIVER_LOADERS, (data) => {
  const { projectRoot, env, target } = data as FleetWorkerData;
  return loadRegistry({ projectRoot, env }, target);
});

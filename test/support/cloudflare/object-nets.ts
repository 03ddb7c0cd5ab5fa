/**
 * The safety nets the async suites call, each the same function as stepwise's own, except that a
 * manager standing for one in a Durable Object (the suite's Durable Objects line, `object-suite.ts`)
 * has the net run in the object, on its real manager, with the same arguments: so a test calls a net
 * the same way on every driver, and on Durable Objects gets what an object calling it would get.
 */
import { baselineDatabase as baselineLocal } from "../../../src/safety/baseline.js";
import { listChecksumRepairs as listLocal, repairChecksums as repairLocal } from "../../../src/safety/checksum-repair.js";
import { rehearseUpAsync as rehearseLocal } from "../../../src/safety/rehearsal.js";
import { verifySchema as verifyLocal } from "../../../src/safety/verify.js";
import { runNet } from "./object-suite.js";

/** stepwise's `verifySchema` on a manager whose methods return promises, run where the manager is. */
export const verifySchemaAsync = ((manager: never, ...args: never[]) => runNet("verifySchemaAsync", verifyLocal as never, manager, ...args)) as typeof verifyLocal;
/** stepwise's `baselineDatabase` on a manager whose methods return promises, run where the manager is. */
export const baselineDatabaseAsync = ((manager: never, ...args: never[]) => runNet("baselineDatabaseAsync", baselineLocal as never, manager, ...args)) as typeof baselineLocal;
/** stepwise's `rehearseUpAsync`, run where the manager is. */
export const rehearseUpAsync = ((manager: never, ...args: never[]) => runNet("rehearseUpAsync", rehearseLocal as never, manager, ...args)) as typeof rehearseLocal;
/** stepwise's `repairChecksums` on a manager whose methods return promises, run where the manager is. */
export const repairChecksumsAsync = ((manager: never, ...args: never[]) => runNet("repairChecksumsAsync", repairLocal as never, manager, ...args)) as unknown as typeof repairLocal;
/** stepwise's `listChecksumRepairs` (either form), run where the manager is. */
export const listChecksumRepairs = ((manager: never) => runNet("listChecksumRepairs", listLocal as never, manager)) as unknown as typeof listLocal;

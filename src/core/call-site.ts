/**
 * Where a migration body made the driver call that failed. A driver's error made outside the call (pg's, in its socket handler once the server answers) has no frame of the body in
 * its stack, so a driver that passes a body's calls on notes each call's stack, and a failure is located there when no stack of its own names the migration's file.
 */

/** The stack of one call, captured when it was made; V8 formats it only when read. */
export type CallSite = { readonly stack?: string };

/** Each failure's call, or `null` where two calls failed with the same value (a session's end, given to every later query): no one line is its. */
const callSites = new WeakMap<object, CallSite | null>();

/** The stack here, the caller's frames below this one: a driver calls it as it receives a body's call, before any of its own code runs asynchronously (pg runs on Node and Bun, both V8-style). */
export function captureCallSite(): CallSite {
  const site: { stack?: string } = {};
  Error.captureStackTrace(site, captureCallSite);
  return site;
}

/** Whether `value` can key a WeakMap: a thrown value may be anything. */
const isKey = (value: unknown): value is object => (typeof value === "object" && value !== null) || typeof value === "function";

/** Notes that the call made at `site` failed with `error`; an error noted from a second call keeps neither, so it is never located at the wrong one. */
export function recordCallSite(error: unknown, site: CallSite): void {
  if (!isKey(error)) return;
  const known = callSites.get(error);
  if (known === undefined) callSites.set(error, site);
  else if (known !== site) callSites.set(error, null);
}

/** The stack of the one call that failed with `error`, or `undefined`: not a call a driver noted, or more than one. */
export function callSiteStack(error: unknown): string | undefined {
  return isKey(error) ? callSites.get(error)?.stack : undefined;
}

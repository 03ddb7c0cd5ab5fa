/**
 * TypeScript imported afresh through tsx, with one loader registration per process.
 *
 * tsx's `tsImport` registers new loader hooks (ES module and CommonJS) on every call, under a new
 * namespace that makes the module and every ES module it imports fresh, and Node keeps each hook for
 * the life of the process: every later import passes through all of them. A process that loads
 * registries run after run (the bin's CLI embedded, as the tests run it) slowed with each load: 300
 * registrations made one test file's imports take 5 times the CPU. Here tsx's hooks are registered
 * once, under one namespace, and a small resolve hook gives each load a number that every module it
 * imports under that namespace carries too, so each load is as fresh as `tsImport`'s (CommonJS
 * modules, which `require` caches by path, are shared in both).
 */
import { randomUUID } from "node:crypto";
import { register } from "node:module";

type ScopedImport = (specifier: string, parent: string) => Promise<unknown>;

const LOAD_PARAMETER = "stepwise-load";

let scoped: Promise<ScopedImport> | null = null;
let loads = 0;

/** The resolve hook: a module tsx resolved under `namespace` for a module of load N is of load N too. */
function propagateLoadHook(namespace: string): string {
  return `
const NAMESPACE = ${JSON.stringify(`tsx-namespace=${namespace}`)};
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (context.parentURL === undefined || !result.url.includes(NAMESPACE)) return result;
  const load = new URL(context.parentURL).searchParams.get(${JSON.stringify(LOAD_PARAMETER)});
  if (load === null) return result;
  const url = new URL(result.url);
  if (url.searchParams.has(${JSON.stringify(LOAD_PARAMETER)})) return result;
  url.searchParams.set(${JSON.stringify(LOAD_PARAMETER)}, load);
  return { ...result, url: url.href };
}
`;
}

/** Imports the module at `url` (TypeScript allowed) afresh, resolving from `parent`, as tsx's `tsImport(url, parent)` does. */
export async function importTypeScript(url: string, parent: string): Promise<unknown> {
  scoped ??= (async () => {
    const namespace = randomUUID();
    const [cjs, esm] = await Promise.all([import("tsx/cjs/api"), import("tsx/esm/api")]);
    cjs.register({ namespace });
    const { import: scopedImport } = esm.register({ namespace });
    // Registered after tsx's, so it runs first and sees what tsx resolved.
    register(`data:text/javascript,${encodeURIComponent(propagateLoadHook(namespace))}`);
    return scopedImport;
  })();
  const load = await scoped;
  const separator = url.includes("?") ? "&" : "?";
  return load(`${url}${separator}${LOAD_PARAMETER}=${++loads}`, parent);
}

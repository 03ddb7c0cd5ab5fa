/**
 * TypeScript imported afresh through tsx, with one loader registration per process.
 *
 * tsx's `tsImport` registers new loader hooks (ES module and CommonJS) on every call, under a new
 * namespace that makes the module and every ES module it imports fresh, and Node keeps each hook for
 * the life of the process: every later import passes through all of them. A process that loads
 * registries run after run (the bin's CLI embedded, as the tests run it) slowed with each load: 300
 * registrations made one test file's imports take 5 times the CPU. Here tsx's hooks are registered
 * once, under one namespace, and a small resolve hook gives each load a number that every module it
 * imports under that namespace carries too: the project's own modules are as fresh as `tsImport`
 * makes them, while installed packages are loaded once, as `require` loads CommonJS ones.
 */
import { randomUUID } from "node:crypto";
import module, { register } from "node:module";

type ScopedImport = (specifier: string, parent: string) => Promise<unknown>;

const LOAD_PARAMETER = "stepwise-load";

let scoped: Promise<ScopedImport> | null = null;
let loads = 0;

/**
 * `resolved` as of the load of the module that imported it, when tsx resolved it under `namespace` for a module of a load.
 * An installed package, one `node_modules` folder deeper than the module importing it (a workspace package resolves to its
 * real path outside), keeps one copy for every load, as `require` keeps a CommonJS one: an ES module is never freed, so a
 * process that runs the CLI many times kept every package, stepwise's own library included, once more per load.
 */
function ofParentLoad(resolved: string, parentURL: string | undefined, namespace: string): string {
  if (parentURL === undefined || !resolved.includes(`tsx-namespace=${namespace}`)) return resolved;
  const parent = new URL(parentURL);
  const url = new URL(resolved);
  const load = parent.searchParams.get(LOAD_PARAMETER);
  // Written out twice: this function's source is the loader thread's hook too, where a helper (or the name esbuild gives one) is missing.
  const deeperInNodeModules = url.pathname.split("/node_modules/").length > parent.pathname.split("/node_modules/").length;
  if (load === null || url.searchParams.has(LOAD_PARAMETER) || deeperInNodeModules) return resolved;
  url.searchParams.set(LOAD_PARAMETER, load);
  return url.href;
}

/** The same resolve hook for `module.register`, which runs it on the loader's thread: only its source travels. */
function asyncHookSource(namespace: string): string {
  return `const LOAD_PARAMETER = ${JSON.stringify(LOAD_PARAMETER)};
const ofParentLoad = ${ofParentLoad.toString()};
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  return { ...result, url: ofParentLoad(result.url, context.parentURL, ${JSON.stringify(namespace)}) };
}
`;
}

interface ResolveResult {
  readonly url: string;
}
type RegisterHooks = (hooks: { resolve(specifier: string, context: { parentURL?: string }, nextResolve: (specifier: string, context: unknown) => ResolveResult): ResolveResult }) => unknown;

/** Imports the module at `url` (TypeScript allowed) afresh, resolving from `parent`, as tsx's `tsImport(url, parent)` does, but for installed packages (see {@link ofParentLoad}). */
export async function importTypeScript(url: string, parent: string): Promise<unknown> {
  scoped ??= (async () => {
    const namespace = randomUUID();
    const [cjs, esm] = await Promise.all([import("tsx/cjs/api"), import("tsx/esm/api")]);
    cjs.register({ namespace });
    const { import: scopedImport } = esm.register({ namespace });
    // Registered after tsx's, so they run first and see what tsx resolved: tsx uses module.registerHooks
    // (on this thread) where Node has it and module.register (the loader's thread) elsewhere, so both.
    register(`data:text/javascript,${encodeURIComponent(asyncHookSource(namespace))}`);
    const registerHooks = (module as { registerHooks?: RegisterHooks }).registerHooks;
    registerHooks?.({
      resolve(specifier, context, nextResolve) {
        const result = nextResolve(specifier, context);
        return { ...result, url: ofParentLoad(result.url, context.parentURL, namespace) };
      },
    });
    return scopedImport;
  })();
  const load = await scoped;
  const separator = url.includes("?") ? "&" : "?";
  return load(`${url}${separator}${LOAD_PARAMETER}=${++loads}`, parent);
}

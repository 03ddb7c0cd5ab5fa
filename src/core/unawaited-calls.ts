/** What a migration body started on an async connection and did not await: a missing `await` would otherwise let the migration be recorded while its statement still runs or failed. */
import { firstLineOf } from "./error-factories.js";
import { captureCallSite, recordCallSite, type CallSite } from "./call-site.js";
import { isThenable } from "./step.js";

/** A call's promise that notes whether anything awaited it or chained on it (`await` calls `then` on a subclass). */
export class ObservedPromise<T> extends Promise<T> {
  observed = false;
  static override get [Symbol.species]() {
    return Promise;
  }
  override then<A = T, B = never>(onFulfilled?: ((value: T) => A | PromiseLike<A>) | null, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    this.observed = true;
    return super.then(onFulfilled, onRejected);
  }
}

/** How `promise` settled, read without marking it observed. */
export const settled = (promise: Promise<unknown>): Promise<{ error: unknown } | null> =>
  Promise.prototype.then.call(
    promise,
    () => null,
    (error: unknown) => ({ error }),
  ) as Promise<{ error: unknown } | null>;

/** A library error's own `code`, when it is text. */
const codeOfError = (error: unknown): string | null => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : null;
};

/**
 * Waits for every promise in `started`, then throws the first failure nothing awaited as the body's own, with the library's code (`codeOf`: a SQLSTATE on PostgreSQL) kept, so it reads as that
 * failure's kind.
 */
export async function failUnawaited(started: readonly ObservedPromise<unknown>[], codeOf = codeOfError): Promise<void> {
  for (const promise of started) {
    const outcome = await settled(promise);
    if (outcome === null || promise.observed) continue;
    const message = `a query it started without await failed (await every query of the migration): ${firstLineOf(outcome.error)}`;
    throw Object.assign(new Error(message, { cause: outcome.error }), { code: codeOf(outcome.error) ?? undefined });
  }
}

/**
 * `connection` as a body is given it: each promise a call on it returns, or a call on an object such a call returns (a prepared statement, a bound one), is noted in `started`. Methods run on
 * the real objects (a binding's private fields), and those objects, passed back as arguments (statements to `batch`), are unwrapped.
 */
export function observingCalls<T extends object>(connection: T): { readonly connection: T; readonly started: ObservedPromise<unknown>[] } {
  const started: ObservedPromise<unknown>[] = [];
  const targets = new WeakMap<object, object>();
  const unwrap = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(unwrap);
    return (typeof value === "object" && value !== null ? targets.get(value) : undefined) ?? value;
  };
  const observe = (value: unknown, site: CallSite): unknown => {
    if (isThenable(value)) {
      // The tracked promise breaks the async stack a failure would name the body's line by, so the call's own stack is noted for it.
      const tracked = new ObservedPromise((resolve, reject) => void value.then(resolve, (error: unknown) => reject((recordCallSite(error, site), error))));
      void settled(tracked);
      started.push(tracked);
      return tracked;
    }
    return typeof value === "object" && value !== null && !Array.isArray(value) ? wrap(value) : value;
  };
  const wrap = <O extends object>(target: O): O => {
    const proxy = new Proxy(target, {
      get(object, key) {
        const value: unknown = Reflect.get(object, key, object);
        return typeof value === "function" && key !== "constructor" ? (...args: unknown[]) => observe(Reflect.apply(value, object, args.map(unwrap)), captureCallSite()) : value;
      },
    });
    targets.set(proxy, target);
    return proxy;
  };
  return { connection: wrap(connection), started };
}

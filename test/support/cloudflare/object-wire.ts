/**
 * What crosses between a test process and the Durable Object that runs the suite
 * (`object-suite-worker.ts`, reached through `object-suite.ts`): values as JSON, with the three
 * things JSON drops kept by a tag. An Error keeps its class name, message and every own field (its
 * `cause` too, as an Error), so the test process rebuilds it as the same class with the same fields;
 * a bigint stays a bigint; a migration body crosses as its source, rebuilt in the object. Imported
 * by both sides, so it uses nothing of Node's.
 */

/** A value as JSON can hold it; see {@link encodeValue}. */
export type Wire = unknown;

/** An Error as data: class, name, message and every own field, encoded. */
export interface WireError {
  readonly className: string;
  readonly name: string;
  readonly message: string;
  readonly fields: Record<string, Wire>;
}

/** `value` with every Error, bigint and `undefined` array slot made JSON-safe; {@link decodeValue} undoes it. */
export function encodeValue(value: unknown): Wire {
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value instanceof Error) return { $error: encodeError(value) };
  if (Array.isArray(value)) return value.map(encodeValue);
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return { $bytes: Array.from(new Uint8Array(value instanceof ArrayBuffer ? value : value.buffer)) };
  if (value !== null && typeof value === "object") {
    const out: Record<string, Wire> = {};
    for (const [key, field] of Object.entries(value)) if (typeof field !== "function") out[key] = encodeValue(field);
    return out;
  }
  return value;
}

function encodeError(error: Error): WireError {
  const fields: Record<string, Wire> = {};
  for (const [key, field] of Object.entries(error)) fields[key] = encodeValue(field);
  // `cause` is an own field when set by `super(message, { cause })` too, but not enumerable.
  if ("cause" in error && !("cause" in fields)) fields.cause = encodeValue(error.cause);
  return { className: error.constructor.name, name: error.name, message: error.message, fields };
}

/** Undoes {@link encodeValue}; `rebuildError` makes an Error of the named class. */
export function decodeValue(value: Wire, rebuildError: (error: WireError, fields: Record<string, unknown>) => Error): unknown {
  if (Array.isArray(value)) return value.map((item) => decodeValue(item, rebuildError));
  if (value !== null && typeof value === "object") {
    const tagged = value as { $bigint?: string; $error?: WireError; $bytes?: number[] };
    if (typeof tagged.$bigint === "string") return BigInt(tagged.$bigint);
    if (Array.isArray(tagged.$bytes)) return new Uint8Array(tagged.$bytes);
    if (tagged.$error !== undefined) {
      const fields: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(tagged.$error.fields)) fields[key] = decodeValue(field, rebuildError);
      return rebuildError(tagged.$error, fields);
    }
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = decodeValue(field, rebuildError);
    return out;
  }
  return value;
}

/** A TypeScript entry's module as it crosses: its data fields, and each function by its source. */
export interface WireModule {
  readonly $functions: Record<string, string>;
  readonly data: Record<string, Wire>;
}

/**
 * `fn`'s source as a function expression. A method (`up(db) { … }`, `async up(db) { … }`) prints
 * as one, which is no expression: it becomes the same function with the keyword put in (a
 * generator method, `*up() { … }`, too).
 */
export function functionSource(fn: (...args: never[]) => unknown): string {
  const text = fn.toString().trim();
  if (/^(async\s+)?function\b/.test(text) || /^(async\s*)?(\(|[\w$]+\s*=>)/.test(text)) return text;
  // `async` then a space or a generator's `*`: a transform may print `async*up(){}` with no space.
  const asyncPrefix = /^async(?:\s+|(?=\*))/.exec(text)?.[0] ?? "";
  return `${asyncPrefix === "" ? "" : "async "}function ${text.slice(asyncPrefix.length)}`;
}

/** One call to the object; see `object-suite-worker.ts`. */
export type ObjectCall =
  | { readonly op: "describe" }
  | { readonly op: "query"; readonly sql: string; readonly params: readonly Wire[] }
  | {
      readonly op: "manager";
      readonly registry: readonly Wire[];
      readonly props: Record<string, Wire>;
      readonly collectEvents: boolean;
      readonly method: string;
      readonly args: readonly Wire[];
    }
  | { readonly op: "migrate"; readonly registry: readonly Wire[]; readonly options: Record<string, Wire>; readonly collectEvents: boolean }
  | { readonly op: "net"; readonly name: string; readonly registry: readonly Wire[]; readonly props: Record<string, Wire>; readonly collectEvents: boolean; readonly args: readonly Wire[] };

/** The object's answer: a result or an error, with the events its manager emitted meanwhile. */
export interface ObjectAnswer {
  readonly result?: Wire;
  readonly error?: Wire;
  readonly events: readonly Wire[];
}

/**
 * A file of its own so that errors.ts (whose StepwiseError carries a kind) and driver.ts (whose
 * classifyError returns one) both take it without importing each other.
 */
/**
 * What a driver error means to stepwise; `lost` is a server's session that ended while in use (a
 * connection that cannot be opened at all is `cantopen`).
 */
export type ErrorKind = "locked" | "full" | "readonly" | "notadb" | "corrupt" | "cantopen" | "lost" | "other";

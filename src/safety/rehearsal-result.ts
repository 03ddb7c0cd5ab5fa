/**
 * What a rehearsal reports, whichever way it ran (a private copy on SQLite, a transaction rolled back
 * on PostgreSQL): the result types and the two functions that build them. Apart from `rehearsal.ts`
 * so the PostgreSQL rehearsal can build the same report without importing the SQLite one.
 */
import { StepwiseError } from "../core/errors.js";
import type { MigrationPlan } from "../core/planner.js";
import type { MigrationEntry } from "../core/types.js";
import { diffSchemas, type SchemaDifference, type SchemaSnapshot } from "./schema-snapshot.js";

/** How one planned migration fared in the rehearsal. */
export interface RehearsalStep {
  readonly version: number;
  readonly name: string;
  readonly file: string;
  /** `not-run` for those after a failure, which the real run would not reach either. */
  readonly status: "applied" | "failed" | "not-run";
  /** Wall-clock time on the in-memory copy; a file on disk is usually slower. `null` unless applied. */
  readonly durationMs: number | null;
}

/** Rows in one table before and after the rehearsal; `null` where the table does not exist. */
export interface RowCountChange {
  readonly table: string;
  readonly before: number | null;
  readonly after: number | null;
}

/** The error the real run would throw, as plain data. */
export interface RehearsalFailure {
  /** The {@link StepwiseError} code, or `null` for an error stepwise does not know. */
  readonly code: string | null;
  readonly name: string;
  readonly message: string;
  /** The error's own fields (`version`, `file`, `direction`, `rolledBack`...). */
  readonly fields: Readonly<Record<string, unknown>>;
  /** What the migration threw, when that is what failed. */
  readonly cause: { readonly name: string; readonly message: string; readonly code: string | null } | null;
}

/** What rehearsing `up` found. Plain data, so `--json` is `JSON.stringify`. */
export interface Rehearsal {
  /** True when every planned migration applied. */
  readonly ok: boolean;
  readonly fromVersion: number;
  /** The version `up` was asked to reach. */
  readonly targetVersion: number;
  /** The version the copy reached; below the target after a failure. */
  readonly reachedVersion: number;
  readonly steps: readonly RehearsalStep[];
  /** From the schema before to the schema after (what committed, when something failed). */
  readonly schemaChanges: readonly SchemaDifference[];
  /** Every table present before or after, by name. */
  readonly rowCounts: readonly RowCountChange[];
  readonly failure: RehearsalFailure | null;
}

/** Options for {@link rehearseUp}. */
export interface RehearseOptions<V extends number = number> {
  /** Stop after this version. Default: the latest. */
  readonly to?: V;
}

/** A plan together with its rehearsal: what {@link rehearseUp} returns. */
export type RehearsedPlan<E extends MigrationEntry = MigrationEntry> = MigrationPlan<E> & { readonly rehearsal: Rehearsal };

/** What a rehearsal observed, wherever it ran: on a private copy (SQLite) or in a transaction rolled back after (PostgreSQL). */
export interface RehearsalObservations {
  readonly plan: MigrationPlan;
  /** Each applied version's duration, from its `migrated` event. */
  readonly durations: ReadonlyMap<number, number>;
  readonly failure: RehearsalFailure | null;
  readonly reachedVersion: number;
  readonly schemaBefore: SchemaSnapshot;
  readonly schemaAfter: SchemaSnapshot;
  readonly rowsBefore: Readonly<Record<string, number>>;
  readonly rowsAfter: Readonly<Record<string, number>>;
}

/** The {@link Rehearsal} report of what a rehearsal observed: one shape for every driver. */
export function composeRehearsal(observed: RehearsalObservations): Rehearsal {
  const { plan, durations, failure, rowsBefore, rowsAfter } = observed;
  const failedVersion = typeof failure?.fields.version === "number" ? failure.fields.version : null;
  const steps = plan.steps.map((entry): RehearsalStep => {
    const durationMs = durations.get(entry.version) ?? null;
    const status = durationMs !== null ? "applied" : entry.version === failedVersion ? "failed" : "not-run";
    return { version: entry.version, name: entry.name, file: entry.file, status, durationMs };
  });
  const tables = [...new Set([...Object.keys(rowsBefore), ...Object.keys(rowsAfter)])].sort();
  return {
    ok: failure === null,
    fromVersion: plan.fromVersion,
    targetVersion: plan.toVersion,
    reachedVersion: observed.reachedVersion,
    steps,
    schemaChanges: diffSchemas(observed.schemaBefore, observed.schemaAfter),
    rowCounts: tables.map((table) => ({ table, before: rowsBefore[table] ?? null, after: rowsAfter[table] ?? null })),
    failure,
  };
}

/** The error a rehearsed run met, as the plain data of {@link RehearsalFailure}. */
export function describeFailure(error: unknown): RehearsalFailure {
  if (!(error instanceof Error)) return { code: null, name: "Error", message: String(error), fields: {}, cause: null };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key !== "code" && key !== "name" && key !== "message" && key !== "stack" && key !== "details") fields[key] = value;
  }
  if (error instanceof StepwiseError) Object.assign(fields, error.details);
  return { code: error instanceof StepwiseError ? error.code : null, name: error.name, message: error.message, fields, cause: describeCause(error.cause) };
}

/** What the migration threw, as data; `null` when it is no `Error` or cannot be read (a Proxy whose getters throw). */
function describeCause(cause: unknown): RehearsalFailure["cause"] {
  try {
    if (!(cause instanceof Error)) return null;
    const code = (cause as Error & { code?: unknown }).code;
    return { name: String(cause.name), message: String(cause.message), code: typeof code === "string" ? code : null };
  } catch {
    return null;
  }
}

/** The pure planner, `(registry, applied rows, target) -> plan`, which `up`, `down`, `status` and every dry run share. */
import type { HistoryRowProblem, RegistryProblem, StatusProblem, StepwiseError } from "./errors.js";
import { DEFAULT_DIALECT, type MigrationDirection, type MigrationEntry, type MigrationRegistry, type ModuleMigrationEntry } from "./types.js";
import type { DownOptions } from "./options.js";
import { runCall, text } from "./option-text.js";
import {
  checksumMismatchError,
  describeThrownValue,
  describeOption,
  databaseAheadError,
  databaseInsideSquashError,
  downBelowSquashError,
  describeStoredValue,
  historyOutOfOrderError,
  historyRowInvalidError,
  incompleteMigrationError,
  invalidStepsError,
  invalidTargetError,
  irreversibleMigrationError,
  registryDialectMismatchError,
  registryInvalidError,
  toPlainError,
  usageError,
} from "./error-factories.js";

/** What the history table knows about one migration. */
export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  /** ISO 8601 UTC; for a `started` row, when it started. */
  readonly appliedAt: string;
  /** `null` while the migration is `started`. */
  readonly durationMs: number | null;
  /** `started`: a `transaction: false` migration that has not recorded its end (running elsewhere, or crashed). */
  readonly state: "applied" | "started";
}

/** The part of a history row the planner needs. */
export interface AppliedMigrationKey {
  readonly version: number;
  readonly checksum: string;
  /** Set only while the row is `started`. */
  readonly startedAt: string | null;
  /** The name recorded with it, where the read gave one: another name than the registry's version has is another migration under that number (it was renumbered or replaced). */
  readonly name?: string;
}

/** An ordered list of migrations to run in one direction. */
export interface MigrationPlan<E extends MigrationEntry = MigrationEntry> {
  readonly direction: MigrationDirection;
  /** The schema version before the plan runs. */
  readonly fromVersion: number;
  /** The schema version after it has run. */
  readonly toVersion: number;
  /** In execution order: ascending for up, descending for down. */
  readonly steps: readonly E[];
}

/** Lists every way a registry breaks the version rules (versions must be positive integers, unique, ascending, and start at 1 with no gaps) or an entry is not one the runtime can read (a checksum, boolean flags that match its body, a known kind). Empty means valid. */
export function findRegistryProblems(registry: MigrationRegistry): RegistryProblem[] {
  const problems: RegistryProblem[] = [];
  for (let index = 0; index < registry.length; index++) {
    try {
      const problem = findEntryProblem(registry, index);
      if (problem !== null) problems.push(problem);
    } catch (error) {
      // An entry whose fields throw when read (a Proxy, a getter) is a hand-made one the runtime cannot use either.
      problems.push({ version: null, file: null, message: `entry ${index} cannot be read: ${describeThrownValue(error)}` });
    }
  }
  return problems;
}

/** What is wrong with the entry at `index`, or `null`. */
function findEntryProblem(registry: MigrationRegistry, index: number): RegistryProblem | null {
  const entry = registry[index];
  const expected = index + 1;
  let message: string | null;
  const valid = entry !== undefined && entry !== null && Number.isSafeInteger(entry.version) && entry.version >= 1;
  if (!valid) {
    message = `entry ${index} has no valid version`;
  } else if (entry.version !== expected) {
    const previous = registry[index - 1];
    message =
      previous && previous.version === entry.version
        ? `version ${entry.version} appears twice (${previous.file} and ${entry.file})`
        : `expected version ${expected} at position ${index + 1} but found ${entry.version} (${entry.file}): versions must start at 1 and have no gaps`;
  } else if (typeof entry.checksum !== "string" || entry.checksum === "") {
    message = `migration ${entry.version} has no checksum`;
  } else {
    // A hand-written or hand-edited entry: a missing flag would otherwise be read as false (no transaction) or as a change of settings on every step.
    message = findEntryShapeProblem(entry) ?? findSquashProblem(registry, entry);
    if (message === null && entry.disableForeignKeys && !entry.transaction) {
      message = `migration ${entry.version} disables foreign keys but runs without a transaction, so violations could not be rolled back`;
    } else if (message === null && entry.reversible !== hasDown(entry)) {
      message = `migration ${entry.version} says reversible=${entry.reversible}, which does not match its down`;
    }
  }
  return message === null ? null : { version: valid ? entry.version : null, file: typeof entry?.file === "string" ? entry.file : null, message };
}

const isText = (value: unknown) => typeof value === "string";
const isLine = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 1;
/** The boolean flags, read as they are (never behind a getter). */
const FLAGS = ["reversible", "transaction", "disableForeignKeys"];

/** Each field the runtime reads as it is, with what it must hold: a name it writes to the history, a checksum list it splits, SQL it runs, lines it reports. */
const FIELD_SHAPES: readonly (readonly [field: string, fits: (value: unknown) => boolean, wanted: string])[] = [
  ...FLAGS.map((flag) => [flag, (value: unknown) => typeof value === "boolean", "true or false"] as const),
  ["name", isText, "text"],
  ["file", isText, "text"],
  ["description", (value) => value == null || isText(value), "text, null, or left out"],
  ["legacyChecksum", (value) => value === undefined || isText(value), "text, or left out"],
  // SQLite stops reading a script at a NUL, so what follows one would be skipped and the migration recorded as applied.
  ["upSql", (value) => isText(value) && !(value as string).includes("\0"), "text without a NUL character"],
  ["downSql", (value) => value === null || (isText(value) && !(value as string).includes("\0")), "text without a NUL character, or null"],
  [
    "sqlLines",
    (value) => value === undefined || (Array.isArray(value) && value.length === 2 && isLine(value[0]) && (value[1] === null || isLine(value[1]))),
    "[up line, down line or null], or left out",
  ],
];

const SQL_FIELDS = new Set(["upSql", "downSql", "sqlLines"]);

/** What makes an entry unusable as the runtime reads it (a field of the wrong type, an unknown kind, a body missing), or `null`; SQL behind a generated getter is not built to check it. */
function findEntryShapeProblem(entry: MigrationEntry): string | null {
  const { version, kind } = entry as { version: number; kind: unknown };
  for (const [field, fits, wanted] of FIELD_SHAPES) {
    // upSql, downSql and sqlLines belong to SQL entries; a generated getter (of a text field, in an older gen's registries) builds its SQL when read. Flags are read as they are.
    if ((SQL_FIELDS.has(field) && kind !== "sql") || (!FLAGS.includes(field) && Object.getOwnPropertyDescriptor(entry, field)?.get !== undefined)) continue;
    const value = (entry as unknown as Record<string, unknown>)[field];
    if (!fits(value)) return `migration ${version} has ${field} = ${showValue(value)}, but it must be ${wanted}`;
  }
  if (kind === "sql") return null;
  if (kind === "ts") return typeof (entry as ModuleMigrationEntry).module?.up === "function" ? null : `migration ${version} is a TypeScript migration whose module has no up function`;
  return `migration ${version} has kind = ${showValue(kind)}, but it must be "sql" or "ts"`;
}

/**
 * What is wrong with `entry.squashedInto`, or `null`: it must name a squash (an entry whose `squashedInto` is its own version) at or after `entry`, and every version before a squash is one it
 * replaced. Any other value would have `up` skip the migration, neither run nor recorded.
 */
function findSquashProblem(registry: MigrationRegistry, entry: MigrationEntry): string | null {
  const { version, squashedInto: squash } = entry;
  if (squash === undefined) return null;
  const names = Number.isSafeInteger(squash) && squash >= version && registry[squash - 1]?.squashedInto === squash;
  if (names && (version === 1 || registry[version - 2]?.squashedInto === squash)) return null;
  return `migration ${version} has squashedInto = ${showValue(squash)}, but it must be the version of the squash that replaced it (one at or after it, whose own squashedInto is its version, replacing every version before it)`;
}

function showValue(value: unknown): string {
  return String(JSON.stringify(value) ?? value);
}

/** Whether an entry has a down; a generated registry's SQL is behind a getter, built when read, so such an entry is taken at its `reversible` flag. */
function hasDown(entry: MigrationEntry): boolean {
  if (entry.kind !== "sql") return typeof entry.module?.down === "function";
  return typeof Object.getOwnPropertyDescriptor(entry, "downSql")?.get === "function" ? entry.reversible : entry.downSql !== null;
}

/**
 * Throws what a manager refuses at construction: `REGISTRY_DIALECT_MISMATCH` for an entry generated for another dialect than the driver's (checked first: a registry for another database
 * is the wrong file, whatever else is wrong with it), then `REGISTRY_INVALID` for a registry that breaks the version rules. A malformed entry (null, not an object) is the validator's.
 * @internal
 */
export function assertRegistryForDriver(registry: MigrationRegistry, driverDialect: string, driverName: string): void {
  for (const entry of registry as readonly unknown[]) {
    if (entry === null || typeof entry !== "object") continue;
    // One that cannot be read is REGISTRY_INVALID's to report.
    let read: Pick<MigrationEntry, "dialect" | "version" | "file">;
    try {
      read = { dialect: (entry as MigrationEntry).dialect, version: (entry as MigrationEntry).version, file: (entry as MigrationEntry).file };
    } catch {
      continue;
    }
    const { dialect, version, file } = read;
    const entryDialect = dialect ?? DEFAULT_DIALECT;
    if (entryDialect !== driverDialect) throw registryDialectMismatchError({ registryDialect: entryDialect, driverDialect, driver: driverName, version, file });
  }
  const problems = findRegistryProblems(registry);
  if (problems.length > 0) throw registryInvalidError(problems);
}

/** What is wrong with one history row as read, or `null`; `previous` is the version of the row before it. */
export function findRowProblem(version: unknown, previous: unknown, checksum: unknown = "", state: unknown = "applied"): { problem: HistoryRowProblem; detail: string } | null {
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    // Digits only: an integer past 2^53 the history read gave as text.
    const shown = typeof version === "string" && /^-?\d+$/.test(version) ? version : describeStoredValue(version);
    return { problem: "version-not-positive-integer", detail: `its version is ${shown}, but versions are whole numbers from 1` };
  }
  if (version === previous) return { problem: "duplicate-version", detail: `version ${version} is recorded more than once` };
  if (typeof checksum !== "string") return { problem: "checksum-not-text", detail: `its checksum is ${describeStoredValue(checksum)}, not text` };
  if (state !== "applied" && state !== "started") return { problem: "unknown-state", detail: `its state is ${describeStoredValue(state)}, but it can only be 'applied' or 'started'` };
  return null;
}

/** Checks the history (ascending) against a valid registry and returns the current version; throws a malformed row, the database ahead, an interrupted migration, a changed checksum, a gap. */
export function verifyHistoryOrThrow(registry: MigrationRegistry, applied: readonly AppliedMigrationKey[]): number {
  const problem = findHistoryProblem(registry, applied);
  if (problem) throw problem;
  return highestRecordedVersion(applied);
}

/** Like {@link verifyHistoryOrThrow}, but returns the error instead of throwing it. */
export function findHistoryProblem(registry: MigrationRegistry, applied: readonly AppliedMigrationKey[]): StepwiseError | null {
  const latest = registry.length;
  for (let i = 0; i < applied.length; i++) {
    const found = findRowProblem(applied[i]!.version, i === 0 ? null : applied[i - 1]!.version);
    if (found) return historyRowInvalidError({ table: null, rowid: null, version: applied[i]!.version, ...found });
  }
  const mismatchOf = (row: AppliedMigrationKey) => {
    const entry = registry[row.version - 1]!;
    if (matchesRecordedChecksum(entry, row.checksum)) return null;
    const recordedName = row.name ?? null;
    const replaced = recordedName !== null && !matchesRecordedName(entry, recordedName, row.checksum);
    const moved = replaced ? registry.find((other) => other.name === recordedName) : undefined;
    const renumberedTo = moved ? { version: moved.version, file: moved.file } : null;
    return checksumMismatchError({ version: row.version, file: entry.file, registryChecksum: entry.checksum, databaseChecksum: row.checksum, recordedName, replaced, renumberedTo });
  };
  // Another migration under a version the registry has (another app's database, another branch's registry) goes first: the versions beside it would read as a newer build's.
  const replacing = applied.find((row) => row.version <= latest && row.startedAt === null && mismatchOf(row)?.details.replaced);
  if (replacing) return mismatchOf(replacing);
  const unknown = applied.filter((row) => row.version > latest).map((row) => row.version);
  if (unknown.length > 0) return databaseAheadError(unknown, latest);
  for (const row of applied) {
    if (row.startedAt !== null) return incompleteMigrationError({ version: row.version, file: registry[row.version - 1]!.file, startedAt: row.startedAt });
    const mismatch = mismatchOf(row);
    if (mismatch) return mismatch;
  }
  const highest = highestRecordedVersion(applied);
  // The next version is one a squash replaced (or the squash itself): the versions that led there are gone.
  const squash = highest > 0 ? registry[highest]?.squashedInto : undefined;
  if (squash !== undefined) return databaseInsideSquashError(highest, squash, registry[squash - 1]!.file);
  if (applied.length !== highest) {
    const present = new Set(applied.map((row) => row.version));
    const missing: number[] = [];
    // A fresh database records a squash alone: the versions it replaced have no rows of their own.
    for (let version = 1; version < highest; version++) {
      const entry = registry[version - 1]!;
      if (!present.has(version) && !(isReplacedBySquash(entry) && present.has(entry.squashedInto!))) missing.push(version);
    }
    if (missing.length > 0) return historyOutOfOrderError(missing, highest);
  }
  return null;
}

/** `USAGE` for a `to` or `steps` that is not a number (from JavaScript, or parsed JSON): `"2"` would read as a migration 2 that does not exist. */
function refuseNonNumber(option: "to" | "steps", value: unknown): void {
  if (value !== undefined && typeof value !== "number")
    throw usageError(`${option} must be a number, such as { ${option}: 2 }; got ${typeof value === "string" ? `the string ${JSON.stringify(value)}` : describeOption(value)}.`);
}

/** Whether `entry` is one of the versions a squash replaced (not the squash itself). */
const isReplacedBySquash = (entry: MigrationEntry): boolean => entry.squashedInto !== undefined && entry.squashedInto !== entry.version;

/** Plans applying pending migrations up to `options.to` (default: the latest); `INVALID_TARGET` when `to` is not a version above the current one. */
export function planUp<E extends MigrationEntry>(registry: readonly E[], applied: readonly AppliedMigrationKey[], options: { readonly to?: number } = {}): MigrationPlan<E> {
  refuseNonNumber("to", options.to);
  const current = verifyHistoryOrThrow(registry, applied);
  const latest = registry.length;
  const target = options.to ?? latest;
  if (!Number.isSafeInteger(target) || target < 0 || target > latest) throw invalidTargetError(target, `There is no migration ${target}; the versions go from 1 to ${latest}.`);
  if (target < current) {
    const blocker = findDownBlocker(registry, target, current);
    const why = blocker
      ? `The database is already at version ${current}, past ${target}, and cannot go back there: migration ${blocker.version} (${blocker.file}) ${blocker.squashedInto === undefined ? "has no down" : "is a squash, which has no down"}.`
      : text`The database is already at version ${current}, past ${target}. To go back, run ${runCall("down", { to: target })}.`;
    throw invalidTargetError(target, why);
  }
  const squash = registry[target - 1]?.squashedInto;
  if (squash !== undefined && squash !== target)
    throw invalidTargetError(target, `Version ${target} is one of the migrations squashed into version ${squash} (${registry[squash - 1]!.file}): migrate to ${squash} or beyond.`);
  // The versions a squash replaced run nothing and record nothing: the squash builds them.
  const steps = registry.slice(current, target).filter((entry) => !isReplacedBySquash(entry));
  return { direction: "up", fromVersion: current, toVersion: target, steps };
}

/** The newest migration between `target` and `current` that `down` cannot pass (a squash, or one without a down), or `undefined` when `down` reaches `target`. */
function findDownBlocker<E extends MigrationEntry>(registry: readonly E[], target: number, current: number): E | undefined {
  const steps = registry.slice(target, current).reverse();
  const squashed = steps.find((entry) => entry.squashedInto !== undefined);
  if (squashed) return registry[squashed.squashedInto! - 1]!;
  return steps.find((entry) => !entry.reversible);
}

/** Why `down --to target` above the current version is refused, with `up --to` only when `up` would take it (a version the registry has, outside a squash). */
function describeTargetAbove(registry: readonly MigrationEntry[], target: number, current: number) {
  const latest = registry.length;
  if (target > latest) return `There is no migration ${target}; the versions go from 1 to ${latest}, and the database is at version ${current}.`;
  const squash = registry[target - 1]?.squashedInto;
  const forward = squash !== undefined && squash !== target ? squash : target;
  return text`The database is at version ${current}, below ${target}. To go forward, run ${runCall("up", { to: forward })}.`;
}

/**
 * Plans reverting `steps` migrations (default 1), or all above version `to`; `IRREVERSIBLE_MIGRATION` when a step has no down, `INVALID_TARGET` out of range. With neither given and
 * nothing applied, an empty plan: nothing to revert is not a failure, as nothing pending is not one for `up`.
 */
export function planDown<E extends MigrationEntry>(registry: readonly E[], applied: readonly AppliedMigrationKey[], options: DownOptions = {}): MigrationPlan<E> {
  // From JavaScript both can arrive; `to` alone would revert more than `steps` asked for.
  const { steps: askedSteps, to: askedTo } = options as { steps?: unknown; to?: unknown };
  if (askedTo !== undefined && askedSteps !== undefined) throw usageError(`down takes steps or to, not both; got steps ${String(askedSteps)} and to ${String(askedTo)}.`);
  refuseNonNumber("to", askedTo);
  refuseNonNumber("steps", askedSteps);
  const current = verifyHistoryOrThrow(registry, applied);
  let target: number;
  if (options.to !== undefined) {
    target = options.to;
    if (!Number.isSafeInteger(target) || target < 0 || target > current) {
      const above = target > current && Number.isSafeInteger(target);
      throw invalidTargetError(target, above ? describeTargetAbove(registry, target, current) : `Invalid target ${target}: use a version from 0 to ${current}.`);
    }
  } else if (options.steps === undefined && current === 0) {
    target = 0;
  } else {
    const steps = options.steps ?? 1;
    if (!Number.isSafeInteger(steps) || steps < 1 || steps > current) throw invalidStepsError(steps, current);
    target = current - steps;
  }
  const blocker = findDownBlocker(registry, target, current);
  if (blocker?.squashedInto !== undefined) throw downBelowSquashError(blocker.version, blocker.file, target, current);
  if (blocker) throw irreversibleMigrationError(blocker.version, blocker.file, current);
  return { direction: "down", fromVersion: current, toVersion: target, steps: registry.slice(target, current).reverse() };
}

/** How one migration stands in {@link MigrationStatus}. */
export type MigrationState = "applied" | "pending" | "changed" | "incomplete";

/** One row of {@link MigrationStatus}. */
export interface MigrationStatusRow {
  readonly version: number;
  readonly name: string;
  readonly file: string;
  readonly description: string | null;
  readonly state: MigrationState;
  readonly reversible: boolean;
  readonly transaction: boolean;
  readonly appliedAt: string | null;
  readonly durationMs: number | null;
}

/** Plain data describing where the database stands against the registry. */
export interface MigrationStatus {
  readonly currentVersion: number;
  readonly latestVersion: number;
  /** Migrations not applied yet: the pending ones, and one recorded as started but not finished (still running, or interrupted), which `problem` then names. */
  readonly pendingCount: number;
  /** A row per migration, except the versions a squash replaced where the database recorded none of them: `up` builds those with the squash, so the pending rows are what it runs. */
  readonly migrations: readonly MigrationStatusRow[];
  /** Applied versions the registry does not know (a newer app's). */
  readonly unknownAppliedVersions: readonly number[];
  /** Why `up` would refuse before running anything (its code, message and fields), or `null` when it would run. */
  readonly problem: StatusProblem | null;
}

/** The database against the registry, for `status`, with the refusals the history alone shows. */
export function describeStatus(registry: MigrationRegistry, applied: readonly AppliedMigration[]): MigrationStatus {
  const byVersion = new Map(applied.map((row) => [row.version, row]));
  const migrations = registry.map((entry): MigrationStatusRow => {
    // A version a squash replaced stands as the squash does where it has no row of its own.
    const own = byVersion.get(entry.version);
    const squash = own === undefined && entry.squashedInto !== undefined ? byVersion.get(entry.squashedInto) : undefined;
    const row = own ?? squash;
    const recordedFor = squash ? registry[entry.squashedInto! - 1]! : entry;
    const state: MigrationState = !row ? "pending" : row.state === "started" ? "incomplete" : !matchesRecordedChecksum(recordedFor, row.checksum) ? "changed" : "applied";
    const { version, name, file, description, reversible, transaction } = entry;
    return { version, name, file, description, state, reversible, transaction, appliedAt: row?.appliedAt ?? null, durationMs: squash ? null : (row?.durationMs ?? null) };
  });
  const keys = applied.map((row) => ({ version: row.version, checksum: row.checksum, startedAt: row.state === "started" ? (row.appliedAt ?? "") : null, name: row.name }));
  const problem = findHistoryProblem(registry, keys);
  const currentVersion = highestAppliedVersion(applied);
  // A version a squash replaced is built by the squash, not run: where nothing of 1..squash is recorded, `up` runs only the squash, so the rows list what it runs.
  const builtBySquash = (entry: MigrationEntry) => isReplacedBySquash(entry) && !applied.some((row) => row.version <= entry.squashedInto!);
  const listed = migrations.filter((_, index) => !builtBySquash(registry[index]!));
  return {
    currentVersion,
    latestVersion: registry.length,
    // A started migration is not applied either: counted, so a report without the rows (fleet status) does not lose it.
    pendingCount: migrations.filter((row, index) => (row.state === "pending" || row.state === "incomplete") && !isReplacedBySquash(registry[index]!)).length,
    migrations: listed,
    unknownAppliedVersions: applied.filter((row) => row.version > registry.length).map((row) => row.version),
    problem: problem ? toPlainError(problem) : null,
  };
}

/**
 * Whether a history row named `name` with `checksum` records `entry` rather than another migration under its number: its name, or, on a version a squash replaced or took (a squash
 * again later renames the earlier squash's), another name with a checksum the squash records (the registry keeps that checksum, not the name).
 */
export function matchesRecordedName(entry: MigrationEntry, name: string, checksum: string): boolean {
  return name === entry.name || (entry.squashedInto !== undefined && checksum !== entry.checksum && matchesRecordedChecksum(entry, checksum));
}

/** Whether a recorded checksum is `entry` as it is now, or as an earlier release of gen computed it. */
export function matchesRecordedChecksum(entry: MigrationEntry, recorded: string): boolean {
  return recorded === entry.checksum || (entry.legacyChecksum !== undefined && entry.legacyChecksum.split(" ").includes(recorded));
}

/** The newest version with a history row of any state (rows ascending); 0 when none. */
export function highestRecordedVersion(rows: readonly Pick<AppliedMigrationKey, "version">[]): number {
  return rows.length === 0 ? 0 : rows[rows.length - 1]!.version;
}

/** The newest version whose row is `applied`; 0 when none. */
export function highestAppliedVersion(rows: readonly Pick<AppliedMigration, "version" | "state">[]): number {
  return rows.reduce((max, row) => (row.state === "applied" ? Math.max(max, row.version) : max), 0);
}

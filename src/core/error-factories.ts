/** The constructors of stepwise's errors, each wording its code's message once, and the readings they rest on: a thrown value, a library error's native code, SQLite's codes. A factory per code, not
 * one table of messages, so a bundle holds only the messages of the errors it can throw. Internal: a program catches a `StepwiseError` and reads `code`. */
import type { MigrationDirection } from "./types.js";
import { copyTexts, keepText, option, rewordText, runCall, CALLS, text, type Text } from "./option-text.js";
import { StepwiseError } from "./errors.js";
import type * as E from "./errors.js";
import type { ErrorClassification } from "./driver.js";

/** The migration a message is about, and the direction it ran. */
type Run = { version: number; file: string; direction: MigrationDirection };
/** One code's details, which a factory takes as they are where it can. */
type D<C extends E.StepwiseErrorCode> = E.StepwiseErrorDetails[C];

/** The sentence a refusal that changed nothing says so with. */
export const NOTHING_CHANGED = "Nothing was changed.";
const ROLLED_BACK = "The transaction was rolled back; nothing of it was kept.";
const label = (version: number | null, file: string | null) => `Migration ${version} (${file})`;
/** Whether a system error code says the disk, a quota or the file size limit ran out. */
export const isFull = (systemCode: string | null) => /^(ENOSPC|EDQUOT|EFBIG)$/.test(systemCode ?? "");
/**
 * `error`, thrown by a call after it committed what `committed` says (`"applied migration 1, which stays applied"`), with its "Nothing was changed" (which speaks of the step
 * that failed) made true of the call.
 */
export function afterCommitted(error: unknown, committed: string): unknown {
  if (!isInstanceSafely(error, StepwiseError) || !error.message.includes(NOTHING_CHANGED)) return error;
  const edit = (plain: string) => plain.replace(NOTHING_CHANGED, `Nothing more was changed: before this, the call ${committed}.`);
  error.message = edit(error.message);
  rewordText(error, "message", (kept) => kept.map((part) => (typeof part === "string" ? edit(part) : part)));
  return error;
}

/** `error`, a walk's options refused in a migration whose transaction was then rolled back, saying so: it was made before anyone knew. */
export function rolledBackAfter(error: StepwiseError): StepwiseError {
  error.message = `${error.message} ${ROLLED_BACK}`;
  rewordText(error, "message", (kept) => [...kept, ` ${ROLLED_BACK}`]);
  return error;
}

/** What a run committed, as {@link afterCommitted} says it: `"applied migrations 1 to 3, which stay applied"`; `null` for nothing. */
export function describeCommittedSteps(direction: MigrationDirection, ran: readonly { readonly version: number }[]): string | null {
  const done = direction === "up" ? "applied" : "reverted";
  if (ran.length === 0) return null;
  return ran.length === 1 ? `${done} migration ${ran[0]!.version}, which stays ${done}` : `${done} migrations ${ran[0]!.version} to ${ran[ran.length - 1]!.version}, which stay ${done}`;
}

/** `lines` as a message's bulleted list, each on its own line. */
export const formatList = (lines: readonly string[]) => lines.map((line) => `\n  - ${line}`).join("");

// A body may throw anything (`null`, a frozen object, a Proxy whose traps throw): reporting it must never fail in turn.

/** The thrown value's message as a report shows it; never throws. */
export function describeThrownValue(value: unknown): string {
  try {
    // A plain object thrown as an error ({ code, message }, as some libraries reject with) is read by its message, not as "[object Object]".
    const message = typeof value === "object" && value !== null ? (value as { message?: unknown }).message : undefined;
    return value instanceof Error || typeof message === "string" ? String(message) : String(value);
  } catch {
    return "a thrown value that cannot be read as text";
  }
}

/** The first line of a thrown value's message, trimmed; never throws. */
export function firstLineOf(value: unknown): string {
  return describeThrownValue(value).split("\n")[0]!.trim();
}

/** `value instanceof type`, false where asking throws (a Proxy's `getPrototypeOf` trap). */
export function isInstanceSafely<T>(value: unknown, type: abstract new (...args: never[]) => T): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** The first candidate nearest to `name` (a misspelt option's, and at build time a config key's or a migration property's), within Levenshtein distance 2 (case aside). */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  const ranked = candidates.map((candidate) => ({ candidate, distance: distance(name.toLowerCase(), candidate.toLowerCase()) })).sort((x, y) => x.distance - y.distance);
  return ranked[0] && ranked[0].distance < 3 ? ranked[0].candidate : undefined;
}

/** `value` as JSON, or as {@link describeOption} words it where it has no JSON (a bigint, a cycle). */
const tryJson = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? describeOption(value);
  } catch {
    return describeOption(value);
  }
};

/** An option's value as a message quotes it. */
export const describeOption = (value: unknown): string =>
  typeof value === "object" && value !== null ? "an object" : typeof value === "string" ? JSON.stringify(value) : typeof value === "bigint" ? `${value}n` : String(value);

/** A stored value as SQL would show it, for messages: text quoted, NULL spelled out. */
export function describeStoredValue(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "string") return `'${value}'`;
  return value instanceof Uint8Array ? `a ${value.length}-byte blob` : String(value);
}

/** Records a driver's reading of the library error `error` wraps as its `nativeCode` and `nativeKind`; the first reading with a code wins. */
export function recordNativeError<E extends StepwiseError>(error: E, classification: ErrorClassification): E {
  if (error.nativeCode === null && classification.nativeCode !== null) Object.assign(error, { nativeCode: classification.nativeCode, nativeKind: classification.kind });
  return error;
}

/** The library error a stepwise error wraps: the first cause down its chain that is not a stepwise error, or `undefined`. */
export function nativeCauseOf(error: StepwiseError): unknown {
  let cause: unknown = error.cause;
  // Bounded: a cyclic cause chain must not hang error handling.
  for (let depth = 0; depth < 8 && isInstanceSafely(cause, StepwiseError); depth++) cause = cause.cause;
  return isInstanceSafely(cause, StepwiseError) ? undefined : cause;
}

/** `classify(error)`, or no code when the classifier throws: an app's classifier must not turn a migration's failure into its own `TypeError`. */
export function classifySafely(classify: (error: unknown) => ErrorClassification, error: unknown): ErrorClassification {
  try {
    return classify(error) ?? { kind: "other", nativeCode: null };
  } catch {
    return { kind: "other", nativeCode: null };
  }
}

/** `error` as plain data for `status()` and the CLI's `--json`: code, message, native reading and details, JSON-safe. */
export function toPlainError(error: StepwiseError): E.StatusProblem {
  const plain: Record<string, unknown> = { code: error.code, message: error.message, nativeCode: error.nativeCode, nativeKind: error.nativeKind };
  for (const [key, value] of Object.entries(error.details)) if (!(key in plain)) plain[key] = toPlain(value);
  copyTexts(error, plain);
  return plain as E.StatusProblem;
}

/** JSON-safe: bigints as strings (history values and walked keys may be), nested errors as name, code and message. */
export function toPlain(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, code: (value as { code?: unknown }).code ?? null, message: value.message };
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toPlain(inner)]));
  return value;
}

/** How long each failed operation ran before its library error came back, by that error. */
const elapsedByError = new WeakMap<object, number>();

/** Records that the operation which threw `error` ran `ms`, so a lock error states the wait measured; the innermost runner's record wins. */
export function recordElapsed(error: unknown, ms: number): void {
  if (Object(error) === error && !elapsedByError.has(error as object)) elapsedByError.set(error as object, Math.round(ms));
}

const ESCAPED_COMMIT_ADVICE: Readonly<Record<E.EscapedCommit, string>> = {
  yes: "What it ran before ending the transaction was COMMITTED: undo it by hand (or restore a backup) before running it again.",
  unknown:
    "What it ran after ending the transaction may be COMMITTED (outside a transaction each statement commits on its own): check, and undo it by hand (or restore a backup) before running it again.",
  no: "Nothing it did was committed: the database is as it was.",
};

// The registry and the history table

/** `REGISTRY_INVALID`: the registry breaks the version rules. */
export function registryInvalidError(problems: readonly E.RegistryProblem[]) {
  const message = `The migration registry is invalid:${formatList(problems.map((p) => p.message))}\nRegenerate it with "stepwise gen" instead of editing it by hand.`;
  return new StepwiseError("REGISTRY_INVALID", message, { problems });
}

/** `CHECKSUM_MISMATCH`: an applied migration was edited; `fix` names calls, so it is kept as texts for the CLI's spelling. */
export function checksumMismatchError(details: Omit<D<"CHECKSUM_MISMATCH">, "fix">) {
  const { version, file, registryChecksum, databaseChecksum, recordedName, replaced, renumberedTo } = details;
  const texts = {};
  if (replaced && recordedName !== null) {
    // Not an edit: repair --checksums would record another migration's checksum for the one the database ran, and refuses to.
    const where = renumberedTo ? `, which is now migration ${renumberedTo.version} (${renumberedTo.file})` : ", which this registry does not have";
    const accidental = renumberedTo ? text`give the migrations back the numbers the database applied them under` : text`if ${file} is "${recordedName}" renamed, give it its old name back`;
    const deliberate = text`roll the database back to version ${version - 1} with the build that applied "${recordedName}" (${runCall("down", { to: version - 1 })} there), then run ${runCall("up")} with this one; on a development database, ${CALLS.reset} starts over`;
    const fix = keepText(texts, "fix", { accidental, deliberate, command: text`stepwise down --to ${version - 1}` });
    const message = text`${label(version, file)} is not the migration the database applied as version ${version}: the history records "${recordedName}" there${where}. ${renumberedTo ? "The migrations were renumbered after it was applied; it was not edited." : "The file was renamed (and then changed) or replaced after it was applied."}\n  applied:  ${recordedName} ${databaseChecksum}\n  registry: ${file} ${registryChecksum}\nIf that was an accident: ${accidental}.\nIf it was deliberate: ${deliberate}.`;
    return copyTexts(texts, new StepwiseError("CHECKSUM_MISMATCH", message, { ...details, fix }));
  }
  // A TypeScript migration's checksum covers the project files it imports: the edit may be in a helper the file itself does not show.
  const imported = /\.[cm]?ts$/.test(file) ? " (or the project files it imports, which its checksum covers)" : "";
  const accidental = text`restore ${file}${imported} and put the change in a new migration ("stepwise create")`;
  const deliberate = text`if the database already has what the file now says, ${CALLS.repairChecksums(version)} shows what it would record and ${CALLS.applyChecksumRepair} records it; on a development database, ${CALLS.reset} starts over with the edit`;
  const fix = keepText(texts, "fix", { accidental, deliberate, command: text`stepwise repair --checksums ${version}` });
  const message = text`${label(version, file)} was changed after it was applied.\n  applied:  ${databaseChecksum}\n  registry: ${registryChecksum}\nIf the edit was an accident: ${accidental}.\nIf it was deliberate: ${deliberate}.`;
  return copyTexts(texts, new StepwiseError("CHECKSUM_MISMATCH", message, { ...details, fix }));
}

/** `DATABASE_AHEAD`: the database was migrated by a newer app. */
export function databaseAheadError(unknownVersions: readonly number[], latestKnownVersion: number) {
  const message = `The database is newer than this app: it has migration${unknownVersions.length === 1 ? "" : "s"} ${unknownVersions.join(", ")} applied; this app knows up to ${latestKnownVersion}.\nRun a newer build, or roll back with the build that applied them.`;
  return new StepwiseError("DATABASE_AHEAD", message, { unknownVersions, latestKnownVersion });
}

/** `HISTORY_OUT_OF_ORDER`: the history skips versions below the newest applied one. */
export function historyOutOfOrderError(missingVersions: readonly number[], highestAppliedVersion: number) {
  const message = `The history records migration ${highestAppliedVersion} but not ${missingVersions.join(", ")}, which come before it: a row was deleted by hand, or a migration renumbered after it ran. Restore the rows or the numbering.`;
  return new StepwiseError("HISTORY_OUT_OF_ORDER", message, { missingVersions, highestAppliedVersion });
}

/**
 * `HISTORY_TABLE_INVALID`: the history table lacks the columns stepwise needs. `adoptedInto`: the tables `stepwise adopt` put this database's history in, which the advice then names; without
 * one, a table another tool owns is either one to move from (`stepwise adopt`) or one to keep clear of.
 */
export function historyTableInvalidError(table: string, missingColumns: readonly string[], detail?: string, adoptedInto: readonly string[] = []) {
  const shape = `The history table "${table}" has an unexpected shape${missingColumns.length > 0 ? `: it lacks ${missingColumns.join(", ")}` : ""}${detail ? ` (${detail})` : ""}.`;
  const [adopted] = adoptedInto;
  const fix =
    adopted !== undefined
      ? text`stepwise adopt put this database's history in "${adopted}"${adoptedInto.length > 1 ? ` (or ${adoptedInto.slice(1).join(", ")})` : ""}: pass ${option("tableName", adopted)} (or set "tableName": "${adopted}" in the config).`
      : text`If another tool owns it: to move this database from that tool, import its migrations ("stepwise import") and run "stepwise adopt" with a history table of stepwise's own (${option("tableName", "<name>")}), or, for a tool import does not read, port them and run ${CALLS.baseline} with that history table and the tool's table named in ${option("oldTables")}; to leave it to that tool, give stepwise a history table of its own: ${option("tableName", "<name>")}.`;
  return new StepwiseError("HISTORY_TABLE_INVALID", text`${shape}\n${fix}`, { table, missingColumns, adoptedInto });
}

/** `HISTORY_TABLE_INVALID` for one row holding what stepwise never writes: no plan can be trusted until it is fixed. */
export function historyRowInvalidError(fields: { table: string | null; rowid: number | null; version: unknown; problem: E.HistoryRowProblem; detail: string }) {
  const { table, rowid, version, problem, detail } = fields;
  const message = `The history table${table === null ? "" : ` "${table}"`} has a row stepwise never writes (${rowid === null ? `version ${describeStoredValue(version)}` : `rowid ${rowid}`}): ${detail}.\n${NOTHING_CHANGED} Fix or delete that row, or restore a backup.`;
  return new StepwiseError("HISTORY_TABLE_INVALID", message, { table, rowid, version, problem });
}

/** What to change for each way the history table refuses stepwise's rows: one line, for the message and the CLI's `fix`. */
export function historyWriteFix(fields: { table: string; problem: E.HistoryWriteProblem; column: string | null; constraint: string | null }): string {
  const { table, problem, column, constraint } = fields;
  const named = (what: string, name: string | null) => (name === null ? `the ${what}` : `the ${what} "${name}"`);
  switch (problem) {
    case "not-null-column":
      return column !== null && !WRITTEN_HISTORY_COLUMNS.has(column)
        ? `give column "${column}" of "${table}" a default (ALTER TABLE ... ALTER COLUMN ... SET DEFAULT on PostgreSQL; on SQLite, rebuild the table with one), or drop it (ALTER TABLE "${table}" DROP COLUMN "${column}")`
        : `let ${column === null ? "the column" : `column "${column}"`} of "${table}" hold NULL, as stepwise writes it there (drop its NOT NULL), or give it a default`;
    case "unique-constraint":
      return `drop ${named("UNIQUE constraint or index", constraint ?? column)} from "${table}": only version is unique in stepwise's history`;
    case "foreign-key":
      return `drop ${named("foreign key", constraint ?? column)} from "${table}": stepwise's history refers to no other table`;
    case "column-type":
      return `give ${column === null ? "the column" : `column "${column}"`} of "${table}" the type stepwise writes (integers for version and duration_ms, text for the others)`;
    case "trigger":
      return `drop the trigger (or rule) on "${table}" that refuses the row${constraint === null ? "" : ` (it said: ${constraint})`}`;
    case "row-security":
      return `turn row-level security off on "${table}" (ALTER TABLE ... DISABLE ROW LEVEL SECURITY, or NO FORCE ROW LEVEL SECURITY when stepwise's role owns it), or run stepwise as its owner or a role with BYPASSRLS`;
    default:
      return `drop ${named(problem === "check-constraint" ? "CHECK constraint" : "constraint", constraint)} from "${table}", or make it accept the rows stepwise writes`;
  }
}

/** The history columns stepwise writes a value (or `NULL`) into: any other column it leaves to its default, so an extra `NOT NULL` one without a default is one it never fills. */
export const WRITTEN_HISTORY_COLUMNS: ReadonlySet<string> = new Set(["version", "name", "checksum", "applied_at", "duration_ms", "state", "owner"]);

/**
 * `HISTORY_TABLE_INVALID` for a history table that refuses the rows stepwise writes: before anything ran (`version` `null`), or as `version`'s history write failed (`cause`), whose
 * transaction was rolled back with the migration's changes.
 */
export function historyWriteRefusedError(fields: { table: string; problem: E.HistoryWriteProblem; column: string | null; constraint: string | null; version: number | null; cause?: unknown }) {
  const { table, problem, column, constraint, version, cause } = fields;
  const what =
    problem === "not-null-column" && column !== null && !WRITTEN_HISTORY_COLUMNS.has(column)
      ? `has a column stepwise never fills, "${column}", that is NOT NULL with no default`
      : problem === "row-security"
        ? "has row-level security that applies to this role: stepwise would read only the rows its policies let through (applied migrations as pending, to run again) and write only those they accept"
        : `refuses the rows stepwise writes (${problem.replace(/-/g, " ")}${column === null ? "" : `, column "${column}"`}${constraint === null || problem === "trigger" ? "" : `, "${constraint}"`})`;
  const outcome =
    version === null
      ? `Every row stepwise writes there would be refused, so nothing runs. ${NOTHING_CHANGED}`
      : `It refused the row recording migration ${version}${cause === undefined ? "" : ` (${firstLineOf(cause)})`}; the migration is not at fault. The transaction was rolled back with the migration's changes: the database is as it was before it.`;
  const message = `The history table "${table}" ${what}. ${outcome}\nFix: ${historyWriteFix(fields)}, then run the command again.`;
  return new StepwiseError("HISTORY_TABLE_INVALID", message, { table, problem, column, constraint, version }, { cause });
}

/** `INVALID_TABLE_NAME`: refused before any SQL ran. */
export function invalidTableNameError(tableName: string, maxLength?: number) {
  const most = maxLength === undefined ? "" : `at most ${maxLength} `;
  const message = `"${tableName}" cannot be the history table's name: use ${most}letters, digits and underscores, not starting with a digit${/^sqlite_/i.test(tableName) ? ", nor with sqlite_ (SQLite's own tables)" : ""}.`;
  return new StepwiseError("INVALID_TABLE_NAME", message, { tableName });
}

/** `INCOMPLETE_MIGRATION`: a `transaction: false` migration started and never recorded its end. */
export function incompleteMigrationError({ version, file, startedAt }: D<"INCOMPLETE_MIGRATION">) {
  const message = text`${label(version, file)} runs outside a transaction and was interrupted (started ${startedAt}), so it may be partly applied, or partly reverted by a down.\nCheck the database, then ${CALLS.repair(version, "applied")} if its changes are all there, or ${CALLS.repair(version, "forget")} if none are (up then runs it again).`;
  return new StepwiseError("INCOMPLETE_MIGRATION", message, { version, file, startedAt });
}

/** `HISTORY_ROW_MISSING`: a history write of a running migration changed no row (another process removed it, or a trigger or rule discarded the write; the count cannot tell which). What became of the
 * changes is known once `file` is named. */
export function historyRowMissingError(
  fields: Pick<D<"HISTORY_ROW_MISSING">, "table" | "version" | "operation"> & Partial<Pick<D<"HISTORY_ROW_MISSING">, "file" | "direction" | "restoredStartedRow">>,
) {
  const { table, version, operation, file = null, restoredStartedRow = false } = fields;
  const direction = fields.direction ?? (operation === "delete" ? "down" : "up");
  const write = operation === "delete" ? "DELETE" : "UPDATE";
  const next =
    direction === "down"
      ? "Check that the revert is complete."
      : restoredStartedRow
        ? text`It is recorded as interrupted again: check the database, then ${CALLS.repair(version, "applied")} if its changes are all there.`
        : text`It could not be recorded as interrupted: check the database before ${runCall("up")}, which would run it again.`;
  const message = text`${file ? label(version, file) : `Migration ${version}`}: the ${write} of its row in the history table "${table}" changed no row while it ran ${direction}: another process removed the row (a repair that forgot the attempt, or a DELETE), or a trigger or rule on it discarded the ${write} (drop it).${file ? text`\nIts changes are in the database; it was not run again.\n${next}` : ""}`;
  return new StepwiseError("HISTORY_ROW_MISSING", message, { table, version, operation, file, direction: fields.direction ?? null, rolledBack: false, restoredStartedRow });
}

/**
 * `UNMANAGED_DATABASE`: the database has tables but no history; `throughCopy`: the driver has no scratch database (D1, Durable Objects), so it is adopted through a copy;
 * `operation`: `reset`, which then says how to empty such a database on purpose.
 */
export function unmanagedDatabaseError(tables: readonly string[], throughCopy = false, operation?: "reset") {
  const listed = `${tables.slice(0, 5).join(", ")}${tables.length > 5 ? ", \u2026" : ""}`;
  const adopted = adoptedHistoryIn(tables);
  const usual = adopted === null ? defaultHistoryIn(tables) : null;
  const adopt = throughCopy
    ? 'This storage has no scratch database to check a schema in (libsql-client: give the manager a scratchClient, then adopt or baseline in place). If another tool migrated it, import its migrations, adopt an exported copy with "stepwise adopt --db <copy> --write-sql <file>", then run that file here, all or nothing (see docs/adopting.md); a database no tool recorded cannot be adopted here.'
    : text`Adopt it with ${CALLS.baseline}, naming the last migration its schema already contains.`;
  const message = adopted
    ? text`The database has tables (${listed}) but no migration history in the history table this run reads. ${adopted} holds the history "stepwise adopt" recorded (its record, ${adopted}_${ADOPTED_SUFFIX}, is beside it): name it with ${option("tableName", adopted)}.`
    : usual
      ? text`The database has tables (${listed}) but no migration history in the history table this run reads. ${usual}, the default name of stepwise's history table, may hold it: name it with ${option("tableName", usual)}. ${throughCopy ? `If it is another tool's: ${adopt}` : text`If it is another tool's, adopt the database with ${CALLS.baseline}, naming the last migration its schema already contains.`}`
      : text`The database has tables (${listed}) but no migration history.\n${adopt}`;
  const reset =
    operation === "reset"
      ? text`\n${NOTHING_CHANGED} reset empties only a database stepwise manages: if this is the database to empty, delete its file or drop its schema's objects by hand, or adopt it with ${CALLS.baseline} first.`
      : "";
  return new StepwiseError("UNMANAGED_DATABASE", text`${message}${reset}`, { tables, throughCopy });
}

/** The suffix of the table `stepwise adopt` records the adopted tool in, beside the history. */
export const ADOPTED_SUFFIX = "adopted";

/** The table among `tables` that holds a history `stepwise adopt` recorded: the one with its record beside it (`<name>_adopted`); `null` when there is none. */
export function adoptedHistoryIn(tables: readonly string[]): string | null {
  const names = new Set(tables.map((table) => table.toLowerCase()));
  return tables.find((table) => names.has(`${table.toLowerCase()}_${ADOPTED_SUFFIX}`)) ?? null;
}

/** Of `tables`, one with the history table's default name: a run reading another `tableName` may have missed it. */
export function defaultHistoryIn(tables: readonly string[]): string | null {
  return tables.find((table) => table.toLowerCase() === "schema_migrations") ?? null;
}

// Running migrations

/** `BATCH_OPTIONS_INVALID`: refused before the first batch (a `$n` in `where` would share numbers with the walk's own). */
export function batchOptionsInvalidError(fields: D<"BATCH_OPTIONS_INVALID"> & { unknown?: { known: readonly string[]; meant: string | undefined } }) {
  const { option, value, version, file, unknown } = fields;
  const must: Record<string, string> = {
    options: 'they must be an object, such as { table: "items" }',
    where: 'it must be an SQL condition as a string, such as "phone IS NOT NULL" (leave it out to walk every row)',
    params: "it must be an array of the values for the ? placeholders of where, in order",
    columns: "it must be an array of column names",
    batchSize: `it must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}; pass, for example, batchSize: 500`,
  };
  const shown = Array.isArray(value) ? tryJson(value) : describeOption(value);
  const problem = unknown
    ? `forEachBatch has no option ${JSON.stringify(option)}${unknown.meant === undefined ? "." : `; did you mean ${JSON.stringify(unknown.meant)}?`} Its options are ${unknown.known.join(", ")}. Nothing was walked.`
    : option === "where" && typeof value === "string" && value.trim() !== ""
      ? `forEachBatch cannot use the where ${describeStoredValue(value)}: its $n placeholders would share numbers with the walk's own. Nothing was walked. Write ? for each value, and pass the values in params, in order.`
      : `forEachBatch cannot use ${option === "options" ? "the options" : option} ${shown}: ${must[option]}. Nothing was walked.`;
  return new StepwiseError("BATCH_OPTIONS_INVALID", `${label(version, file)}: ${problem}`, { option, value, version, file });
}

/** `BATCH_KEY_INVALID`: a keyset walk by this key could stop early or skip rows. */
export function batchKeyError(fields: { table: string; key: string; problem: E.BatchKeyProblem; detail: string; columns?: readonly string[]; value?: unknown; version: number; file: string }) {
  const { table, key, problem, columns = [], value = null, version, file } = fields;
  const message = `${label(version, file)}: forEachBatch cannot walk "${table}" by key "${key}": ${fields.detail}. A keyset walk by it could stop early or skip rows, so it stopped instead (in a transaction, everything rolls back). Pass key: a unique, non-NULL column (the INTEGER PRIMARY KEY, or "rowid" where the table has one)${columns.length > 0 ? `; the table has ${columns.join(", ")}` : ""}.`;
  return new StepwiseError("BATCH_KEY_INVALID", message, { table, key, problem, columns, value, version, file });
}

/**
 * `IRREVERSIBLE_MIGRATION`: `down` would have to pass a migration without a down. `current` is the database's version: when the migration is that one, no target above it exists, so the
 * advice is the one way on (a down added to an applied migration changes its checksum, which `repair --checksums` then records).
 */
export function irreversibleMigrationError(version: number, file: string, current: number) {
  const addDown = text`add a down to ${file}, run "stepwise gen", then ${CALLS.repairChecksums(version)} shows the new checksum and ${CALLS.applyChecksumRepair} records it (its up is unchanged, so the database already has what the file says; every other database that applied it refuses to start with CHECKSUM_MISMATCH until it is recorded there too)`;
  // The message ends with the fix, word for word (its line starting with a capital), so `--json`'s fix and the message never disagree.
  const fix = version === current ? text`to make it reversible, ${addDown}` : text`${runCall("down", { to: version })} rolls back the migrations above it; to go further, ${addDown}`;
  const message =
    version === current
      ? text`Cannot roll back migration ${version} (${file}), the newest applied: it has no down. Nothing was changed.\nTo make it reversible, ${addDown}.`
      : text`Cannot roll back past migration ${version} (${file}): it has no down. Nothing was changed.\n${fix}.`;
  const texts = {};
  return copyTexts(texts, new StepwiseError("IRREVERSIBLE_MIGRATION", message, { version, file, fix: keepText(texts, "fix", fix) }));
}

/** `DATABASE_INSIDE_SQUASH`: the database stopped part way through the versions a squash replaced. */
export function databaseInsideSquashError(version: number, squashVersion: number, file: string) {
  const message = `The database is at version ${version}, inside migrations 1 to ${squashVersion}, which ${file} replaces since they were squashed; the migrations between are gone, so nothing can bring it to version ${squashVersion}. Nothing was run.\nDeploy a release from before the squash to migrate it to ${squashVersion} or beyond first; then this release runs it as it is.`;
  return new StepwiseError("DATABASE_INSIDE_SQUASH", message, { version, squashVersion, file });
}

/** `DOWN_BELOW_SQUASH`: `down` would pass a squashed migration; `current`, the database's version, tells whether any target above the squash is left to name. */
export function downBelowSquashError(version: number, file: string, target: number, current: number) {
  const above = version === current ? text`It is the newest applied migration, so nothing above it is left to roll back` : text`${runCall("down", { to: version })} rolls back the migrations above it`;
  const message = text`Cannot roll back below version ${version} (${file}): it is a squash of migrations 1 to ${version}, which builds their schema at once and has no down. Nothing was changed.\n${above}; to go back further, restore the database from a backup.`;
  return new StepwiseError("DOWN_BELOW_SQUASH", message, { version, file, target });
}

/** `INVALID_TARGET`: a requested version does not exist or points the wrong way. */
export const invalidTargetError = (target: number, message: string | Text) => new StepwiseError("INVALID_TARGET", message, { target });

/** `INVALID_TARGET` for a `down` by a count: not a whole number of at least 1, or more than `current` are applied. No version was asked for, so `target` is `null`, not one below 0. */
export function invalidStepsError(steps: number, current: number) {
  const all = current === 0 ? text`.` : text`; to revert ${current === 1 ? "it" : `all ${current}`}, run ${runCall("down", { to: 0 })}.`;
  const message =
    !Number.isSafeInteger(steps) || steps < 1
      ? `Invalid step count ${steps}: use a whole number of at least 1.`
      : text`Cannot roll back ${steps} migration${steps === 1 ? "" : "s"}: ${current === 0 ? "nothing is" : `only ${current} ${current === 1 ? "is" : "are"}`} applied. Nothing was changed${all}`;
  return new StepwiseError("INVALID_TARGET", message, { target: null, steps, currentVersion: current });
}

/** `MIGRATION_FAILED`; `notes` are the lines the dialect read of the failure (PostgreSQL's DETAIL, HINT, invalid indexes). */
export function migrationFailedError(fields: Run & Partial<E.StepwiseErrorDetails["MIGRATION_FAILED"]> & { cause: unknown; rolledBack: boolean; notes?: string }): StepwiseError<"MIGRATION_FAILED"> {
  const { version, file, direction, rolledBack, backupPath = null, foreignKeyRebuild: rebuild = null, afterReset = null, atCommit = null, connectionClosed = false, cause, notes } = fields;
  const { replayed = false, sequencesSet = [] } = fields;
  const refs = rebuild?.referencedBy ?? [];
  const fk = rebuild ? `It drops or renames table ${rebuild.table}, which ${refs.join(", ")} reference${refs.length === 1 ? "s" : ""} with foreign keys enforced. Fix: ${rebuild.fix}.\n` : "";
  // Not ROLLED_BACK: only under transaction "all" is the database as it was before the run.
  const together = atCommit !== null && atCommit.versions.length > 1 ? atCommit.versions.join(", ") : null;
  const sequences = sequencesSet.length === 1 ? `sequence ${sequencesSet[0]}` : `sequences ${sequencesSet.join(", ")}`;
  const outcome = replayed
    ? "It failed in the replay of the migrations on a scratch database, which verify, baseline and adopt build to compare schemas with; the database checked was not touched."
    : connectionClosed
      ? "Check the database, and what its history now says (status), before running it again."
      : rolledBack && sequencesSet.length > 0 && !together
        ? `It was rolled back, but for what its setval did to ${sequences}, if the call ran before the failure: PostgreSQL keeps a sequence's changes through a rollback, so set it back by hand.`
        : together
          ? `It failed at the COMMIT of the one transaction that held migrations ${together}: a constraint checked only then (such as a deferred foreign key) may have been broken by any of them, not only this one. All of them were rolled back; nothing of them was kept.`
          : rolledBack
            ? "It was rolled back; nothing of it was kept."
            : "It runs outside a transaction, so some of its changes may remain; check the database.";
  const reached = afterReset?.reachedVersion;
  const reset = afterReset
    ? text`\nBut reset's drops were committed before the migrations ran again, and stay: what the database held before it is gone, and it is ${reached === null ? "at the version before this migration" : `at version ${reached}`}. Once it is fixed, ${runCall("up")} applies the rest.`
    : "";
  const backup = backupPath ? text`\nA backup taken before this run is at ${backupPath}; ${CALLS.restore} puts it back.` : "";
  const message = text`${label(version, file)} failed while running ${direction}: ${describeThrownValue(cause)}\n${notes ? `${notes}\n` : ""}${fk}${outcome}${reset}${backup}`;
  const { location = null, detail = null, hint = null, setting = null, invalidIndexes = [] } = fields;
  const details = {
    version,
    file,
    direction,
    rolledBack,
    backupPath,
    foreignKeyRebuild: rebuild,
    location,
    detail,
    hint,
    setting,
    invalidIndexes,
    afterReset,
    atCommit,
    connectionClosed,
    replayed,
    sequencesSet,
  };
  const error = new StepwiseError("MIGRATION_FAILED", message, details, { cause });
  if (notes) failureNotes.set(error, notes);
  return error;
}

/** The notes of each `MIGRATION_FAILED`, so a copy that adds a field (a location found by a rerun) keeps the server's DETAIL and HINT in its text. */
const failureNotes = new WeakMap<object, string>();

/**
 * The same failure with `fields` added: the backup taken before the run, where in its file it happened (found after it was thrown), `rolledBack` and `replayed` for one met in a scratch database
 * that is dropped after (the replay of `verify`, `baseline` and `adopt`), the sequences a PostgreSQL migration's SQL `setval`s, `afterReset` for one met by `reset` applying the migrations again (its drops stay), or `atCommit` for one met at COMMIT.
 */
export function copyFailure(
  error: StepwiseError<"MIGRATION_FAILED">,
  fields: {
    backupPath?: string;
    location?: E.SqlLocation;
    afterReset?: E.StepwiseErrorDetails["MIGRATION_FAILED"]["afterReset"];
    rolledBack?: true;
    replayed?: true;
    atCommit?: E.StepwiseErrorDetails["MIGRATION_FAILED"]["atCommit"];
    sequencesSet?: readonly string[];
  },
): StepwiseError<"MIGRATION_FAILED"> {
  const copy = Object.assign(migrationFailedError({ ...error.details, cause: error.cause, notes: failureNotes.get(error), ...fields }), { nativeCode: error.nativeCode, nativeKind: error.nativeKind });
  if (closedConnections.has(error)) closedConnections.add(copy);
  return copy;
}

const closedConnections = new WeakSet<StepwiseError>();

/** `MIGRATION_FAILED` for a migration that closed its connection (`db.close()`): SQLite rolled back the open transaction, but what it committed before stays and nothing can be checked, so never
 * "rolled back"; the executor stops at once for it. */
export function connectionClosedError(entry: { readonly version: number; readonly file: string; readonly transaction: boolean }, direction: MigrationDirection): StepwiseError<"MIGRATION_FAILED"> {
  const outcome = entry.transaction
    ? 'which ended the transaction stepwise ran it in: SQLite rolled it back (and, under transaction "all", the migrations before it in the run), but what the migration committed itself before closing stays'
    : "so stepwise could not record it: it is left interrupted, and what it did before closing stays";
  const cause = new Error(`it closed the database connection it was given (db.close()), ${outcome}. Remove the close(): the connection is the app's to close`);
  const error = migrationFailedError({ version: entry.version, file: entry.file, direction, cause, rolledBack: false, connectionClosed: true });
  closedConnections.add(error);
  return error;
}

/** Whether `value` is a failure {@link connectionClosedError} made (by identity: a thrown Proxy may trap `instanceof`). */
export function isConnectionClosedError(value: unknown): boolean {
  return closedConnections.has(value as StepwiseError);
}

/** `HISTORY_CHANGED_BY_MIGRATION`: a migration wrote stepwise's history table and failed before its COMMIT. */
export function historyChangedByMigrationError(fields: D<"HISTORY_CHANGED_BY_MIGRATION"> & { cause?: unknown }) {
  const { version, file, direction, table, change, rolledBack, historyChanged } = fields;
  const history = historyChanged ? `the history table stays as it left it: check it with "stepwise status" and "stepwise history", then "stepwise repair"` : "the history table itself was not changed";
  const outcome = rolledBack ? ROLLED_BACK : `It runs outside a transaction, so its statements before that one stayed; ${history}. It is not recorded as applied.`;
  const message = `${label(version, file)} changed the history table "${table}" while running ${direction} (${change}). That table is stepwise's record of what ran; a migration may not write it. ${outcome} Remove the statement that touches "${table}" from the migration.`;
  return new StepwiseError("HISTORY_CHANGED_BY_MIGRATION", message, { version, file, direction, table, change, rolledBack, historyChanged }, { cause: fields.cause });
}

/** `TRANSACTION_ESCAPED`: a migration ended stepwise's transaction; it is never recorded. */
export function transactionEscapedError({ version, file, direction, committed, cause }: Run & { committed: E.EscapedCommit; cause?: unknown }) {
  const failed = cause === undefined ? "" : ` It then failed: ${describeThrownValue(cause)}.`;
  const message = `${label(version, file)} ended stepwise's transaction (a COMMIT, END or ROLLBACK) while running ${direction}.${failed} It was not recorded: the history says it is ${direction === "up" ? "not " : ""}applied.\n${ESCAPED_COMMIT_ADVICE[committed]}\nRemove that statement (SAVEPOINT ... RELEASE nests safely; transaction: false runs what the database refuses in a transaction), regenerate, and run it again.`;
  return new StepwiseError("TRANSACTION_ESCAPED", message, { version, file, direction, committed }, { cause });
}

/** `FOREIGN_KEY_VIOLATION`: a migration run with foreign keys off left dangling references; rolled back before commit. */
export function foreignKeyViolationError({ version, file, direction, violations }: Run & { violations: readonly E.ForeignKeyViolation[] }) {
  const sample = violations.slice(0, 3).map((v) => `${v.table} row ${v.rowid ?? "?"} \u2192 ${v.parent}`);
  const message = `${label(version, file)} left ${violations.length} foreign key violation${violations.length === 1 ? "" : "s"} while running ${direction} (${sample.join("; ")}). ${ROLLED_BACK} Make the rebuild copy every referenced row, or delete the orphans in the migration.`;
  return new StepwiseError("FOREIGN_KEY_VIOLATION", message, { version, file, direction, violations: violations.slice(0, 100), violationCount: violations.length });
}

/** `RESET_FAILED`: a drop of `reset` failed for a reason of the database's own (not a lock, a full disk or a lost connection, which keep their codes); `nativeCode` picks the advice. */
export function resetFailedError({ table, object, detail, rolledBack, cause, nativeCode }: D<"RESET_FAILED"> & { cause: unknown; nativeCode: string }) {
  const what = object === null ? "an object" : `"${object}"`;
  const outcome = rolledBack ? `${NOTHING_CHANGED} No migration ran.` : "The objects dropped before it stay dropped; no migration ran.";
  const reason = describeThrownValue(cause);
  const advice =
    nativeCode === "2BP01"
      ? "Drop or change what depends on it"
      : /no such module/i.test(reason)
        ? "Load the module the virtual table needs on this connection"
        : "Remove the cause the database names";
  // 3F000: refused before any drop, for the schema the session would create in.
  const failed = nativeCode === "3F000" ? "reset refused to drop anything" : `reset could not drop ${what} of the database`;
  const message = text`${failed}: ${reason}${detail ? ` (${detail})` : ""}. ${outcome} ${advice}, then run ${CALLS.reset} again.`;
  return new StepwiseError("RESET_FAILED", message, { table, object, detail, rolledBack }, { cause });
}

/** `TRANSACTION_OPEN`: refused before anything ran; the app's transaction is still open. */
export function transactionOpenError({ driver, operation, cause }: D<"TRANSACTION_OPEN"> & { cause?: unknown }) {
  const message = `${operation} cannot run while the app's ${driver} connection is inside a transaction. ${NOTHING_CHANGED} Commit or roll back that transaction (still open) first, then call ${operation} again.`;
  return new StepwiseError("TRANSACTION_OPEN", message, { driver, operation }, { cause });
}

// Locks, sessions and concurrency

/** `DATABASE_LOCKED`: another connection held the lock past the busy timeout; `waitedMs` is what a runner measured. */
export function databaseLockedError(busyTimeoutMs: number, cause: unknown, holders: readonly E.LockHolder[] = [], waitedMs: number | null = elapsedByError.get(cause as object) ?? null) {
  const held = holders.length > 0 ? describeLockHolders(holders) : "another app instance migrating, or an open write transaction";
  const message = text`The database was locked by another connection ${describeWait(busyTimeoutMs, waitedMs)} (${held}). ${NOTHING_CHANGED} Retry when it is released, or raise ${option("busyTimeoutMs")}.`;
  return new StepwiseError("DATABASE_LOCKED", message, { busyTimeoutMs, waitedMs, holders }, { cause });
}

/** `DATABASE_LOCKED` for the backup file offered to `restore` (`file`): the remedy is the same, waiting. */
export function backupLockedError(file: string, busyTimeoutMs: number, cause: unknown, holders: readonly E.LockHolder[] = [], waitedMs: number | null = elapsedByError.get(cause as object) ?? null) {
  const message = text`The backup ${file} was locked by another process ${describeWait(busyTimeoutMs, waitedMs)}${holders.length > 0 ? ` (${describeLockHolders(holders)})` : ""}. ${NOTHING_CHANGED} Retry once whatever writes it has finished, or raise ${option("busyTimeoutMs")}.`;
  return new StepwiseError("DATABASE_LOCKED", message, { busyTimeoutMs, waitedMs, holders, file }, { cause });
}

/** `held by process 4242 (node, write), process 4343 (migrator from 10.0.0.5, write)`. */
const describeLockHolders = (holders: readonly E.LockHolder[]) =>
  `held by ${holders.map(({ pid, program, host, lock }) => `process ${pid} (${[[program, host === null ? null : `from ${host}`].filter((part) => part !== null).join(" "), lock].filter(Boolean).join(", ")})`).join(", ")}`;

/** The wait a lock error states: the time measured beside the timeout, never the timeout as if it were waited. */
const describeWait = (busyTimeoutMs: number, waitedMs: number | null) =>
  waitedMs === null ? `(busy timeout ${busyTimeoutMs} ms)` : `and stayed locked while stepwise waited ${waitedMs} ms (busy timeout ${busyTimeoutMs} ms)`;

/** `MIGRATION_IN_PROGRESS`: another process's `transaction: false` migration outlasted the busy timeout. */
export function migrationInProgressError({ version, file, startedAt, owner, waitedMs, serverSession }: D<"MIGRATION_IN_PROGRESS">) {
  // A killed client's statement runs on in its server session: "that process is gone" would send the user to repair a migration still running.
  const session = serverSession === undefined ? "" : ` in server session ${serverSession}, which goes on with it after that process is gone`;
  const gone = serverSession === undefined ? "if that process is gone" : `once that session has ended (with its statement, or by SELECT pg_terminate_backend(${serverSession}))`;
  const message = text`${label(version, file)} runs outside a transaction and is still being applied${owner ? ` by process ${owner.pid} on ${owner.host}` : ""}${session} (started ${startedAt}); waited ${waitedMs} ms. ${NOTHING_CHANGED} Retry when it finishes, or raise ${option("busyTimeoutMs")}; ${gone}, check the database and run ${CALLS.repair(version, "applied")} or ${CALLS.repair(version, "forget")}.`;
  return new StepwiseError("MIGRATION_IN_PROGRESS", message, { version, file, startedAt, owner, waitedMs, ...(serverSession !== undefined && { serverSession }) });
}

/** `session 4242 (application "reporting", in a transaction since ..., its query started ...)`. */
function describeSession({ pid, applicationName, state, transactionStart, queryStart }: E.LockHolderSession): string {
  const facts = [
    applicationName && `application "${applicationName}"`,
    state,
    transactionStart && `in a transaction since ${transactionStart}`,
    queryStart && `its query started ${queryStart}`,
  ].filter(Boolean);
  return `session ${pid}${facts.length > 0 ? ` (${facts.join(", ")})` : ""}`;
}

/** `LOCK_TIMEOUT`: PostgreSQL cancelled a statement that waited past `lock_timeout`; `wait` is what a second session saw. */
export function lockTimeoutError(
  fields: Partial<Run & Pick<D<"LOCK_TIMEOUT">, "invalidIndexes">> & Pick<D<"LOCK_TIMEOUT">, "lockTimeoutMs" | "rolledBack"> & { wait: E.LockWait | null; cause: unknown },
) {
  const { version = null, file = null, direction = null, wait, lockTimeoutMs, rolledBack, invalidIndexes = [], cause } = fields;
  const holders = wait?.holders ?? [];
  const limit = lockTimeoutMs > 0 ? `more than ${lockTimeoutMs} ms (lock_timeout)` : "past the session's lock_timeout";
  const what = wait === null ? "a lock" : `${wait.relation === null ? `a ${wait.lockType} lock` : `a lock on ${wait.relation}`} (${wait.mode})`;
  const held =
    holders.length === 0 ? "held by another session (which one was not seen: the wait began and ran out between two looks at pg_locks)" : `held by ${holders.map(describeSession).join(", ")}`;
  const ending = holders.length === 0 ? "" : ` (or end it: ${holders.map((holder) => `SELECT pg_terminate_backend(${holder.pid});`).join(" ")})`;
  const fix = rolledBack
    ? `wait for ${holders.length > 1 ? "those sessions" : "that session"} to finish${ending}, then ${version === null ? "run the command again" : `run "stepwise ${direction}" again`}; or let it wait longer with --lock-timeout <ms> (lockTimeoutMs)`
    : `remove what it left (${invalidIndexes.length > 0 ? "the invalid indexes above, and " : ""}anything else it applied), run "stepwise repair --forget ${version} --yes", then "stepwise ${direction}" once ${holders.length === 0 ? "the other session" : "that session"} has finished${ending}; or let it wait longer with --lock-timeout <ms>`;
  const outcome = !rolledBack
    ? `It runs outside a transaction, so its statements before this one stay; it stays recorded as started.${invalidIndexes.length > 0 ? `\n${describeInvalidIndexes(invalidIndexes, "It left")}` : " "}`
    : version === null
      ? "Nothing was changed. "
      : "Its transaction was rolled back; nothing of it was kept. ";
  const message = `${version === null ? "A statement of stepwise's" : `Migration ${version} (${file}), running ${direction},`} waited ${limit} for ${what}, ${held}. ${outcome}Fix: ${fix}.`;
  const details = { version, file, direction, lockTimeoutMs, relation: wait?.relation ?? null, lockType: wait?.lockType ?? null, mode: wait?.mode ?? null, holders, rolledBack, invalidIndexes, fix };
  return new StepwiseError("LOCK_TIMEOUT", message, details, { cause });
}

/** `CONNECTION_LOST`: the server ended the session or the network dropped it; `outcome` says what became of the running migration; `remedy`, what to change before running again when a rerun alone would end the same way. */
export function connectionLostError(fields: Partial<Run> & { outcome: E.ConnectionLossOutcome; during?: string; reason: string; remedy?: string; cause: unknown }): StepwiseError<"CONNECTION_LOST"> {
  const { version = null, file = null, outcome, during = null, reason, remedy, cause } = fields;
  const [migration, verb] = [`Migration ${version} (${file})`, fields.direction === "down" ? "down" : "up"];
  const { what, fix: then } = {
    "rolled-back": {
      what: `${migration} was running ${verb} in a transaction, which the server rolled back when the session ended: nothing of that transaction was kept, and it is not recorded.`,
      fix: `run "stepwise ${verb}" again once the server accepts connections`,
    },
    "commit-unknown": {
      what: `${migration} was committing (${verb}): the server may have committed it, with its history row, before the session ended, or rolled it back.`,
      fix: `run "stepwise status" once the server accepts connections: it shows whether ${version} is applied; then run "stepwise ${verb}" for the rest`,
    },
    "partly-applied": {
      what: `${migration} was running ${verb} outside a transaction (transaction: false), so some of its statements may have been applied; it stays recorded as started, and the next run stops at it. A CREATE INDEX CONCURRENTLY it ran may have left an invalid index: "stepwise repair" names each, with the statement that drops it.`,
      fix: `check the database by hand, then run "stepwise repair --applied ${version} --yes" if all of it is there or "stepwise repair --forget ${version} --yes" if none is`,
    },
    "none-running": {
      what: `No migration was running${during ? ` (it was ${during})` : ""}: none was half done, and what this run applied before stays applied.`,
      fix: `run "stepwise ${version === null ? "status" : verb}" again once the server accepts connections`,
    },
  }[outcome];
  const fix = remedy === undefined ? then : `${remedy}; then ${then}`;
  const details = { version, file, direction: fields.direction ?? null, outcome, during, reason, fix };
  return new StepwiseError("CONNECTION_LOST", `The connection to the database server was lost: ${reason}. ${what} Fix: ${fix}.`, details, { cause });
}

// Opening the database

/** `DATABASE_UNUSABLE`: not SQLite, read-only, or otherwise refused by SQLite. */
export const databaseUnusableError = (message: string | Text, sqliteCode: string | null, cause: unknown) => new StepwiseError("DATABASE_UNUSABLE", message, { sqliteCode }, { cause });

/** `DATABASE_UNUSABLE` for a server that could not be connected to; `problem` tells the cases apart. Never quotes the URL. */
export function connectionFailedError(fields: { problem: E.ConnectionProblem; reason: string; fix: string | null; sqlstate: string | null; systemCode: string | null; cause: unknown }) {
  const { problem, reason, fix, sqlstate } = fields;
  const reasonCode = sqlstate ?? fields.systemCode;
  const message = `Cannot connect to the PostgreSQL server: ${reason}${reasonCode && !reason.includes(reasonCode) ? ` (${reasonCode})` : ""}. ${NOTHING_CHANGED}${fix ? ` Fix: ${fix}.` : ""}`;
  return new StepwiseError("DATABASE_UNUSABLE", message, { sqliteCode: null, problem, reason, fix, reasonCode }, { cause: fields.cause });
}

/** `DATABASE_UNUSABLE` for a server that refused stepwise's own statement (a write in a read-only session, a privilege the role lacks): the server's words as `reason`, and what to change. */
export function serverRefusedError(fields: { sqlstate: string; reason: string; fix: string; cause: unknown }) {
  const { sqlstate, reason, fix } = fields;
  const message = `PostgreSQL refused stepwise's statement: ${reason} (SQLSTATE ${sqlstate}). ${NOTHING_CHANGED} Fix: ${fix}.`;
  return new StepwiseError("DATABASE_UNUSABLE", message, { sqliteCode: null, reason, fix, reasonCode: sqlstate }, { cause: fields.cause });
}

/** `DATABASE_NEEDS_RECOVERY`: a crashed writer's journal needs a connection that may write. */
function databaseNeedsRecoveryError(sqliteCode: string, cause: unknown) {
  const message = text`A crashed process left the database mid-write (${sqliteCode}); rolling that back needs write access. ${NOTHING_CHANGED} Run ${runCall("up")} (or anything else that writes) as a user who may write the file and its folder.`;
  return new StepwiseError("DATABASE_NEEDS_RECOVERY", message, { sqliteCode }, { cause });
}

/** `DISK_FULL`: the disk or `max_page_count` ran out; the write was rolled back. A server's (`sqliteCode` a SQLSTATE) has no `max_page_count` to raise. */
export function diskFullError({ version, file, sqliteCode, cause }: D<"DISK_FULL"> & { cause: unknown }) {
  const message = `The database ran out of room (${sqliteCode})${version === null ? "" : ` while running migration ${version} (${file})`}. ${ROLLED_BACK} Free disk space${sqliteCode.startsWith("SQLITE_") ? " (or raise PRAGMA max_page_count)" : " on the server"} and run it again.`;
  return new StepwiseError("DISK_FULL", message, { version, file, sqliteCode }, { cause });
}

/** An error's string `field` (`code`, `message`), or `null`; never throws (a Proxy's trap may). */
export function stringFieldOf(error: unknown, field: "code" | "message"): string | null {
  try {
    const value = (error as Record<string, unknown> | null)?.[field];
    return typeof value === "string" ? value : null;
  } catch {
    return null;
  }
}

/** The `SQLITE_*` code of an error, or `null` when it did not come from SQLite. */
export function sqliteCodeOf(error: unknown): string | null {
  const code = stringFieldOf(error, "code");
  return code?.startsWith("SQLITE_") ? code : null;
}

const KINDS: Record<string, E.ErrorKind> = { BUSY: "locked", LOCKED: "locked", FULL: "full", READONLY: "readonly", PERM: "readonly", NOTADB: "notadb", CORRUPT: "corrupt", CANTOPEN: "cantopen" };

/** Reads an `SQLITE_*` code (extended ones by their primary) as stepwise's kind of failure: what every SQLite driver's `classifyError` reports. */
export function kindOfSqliteCode(code: string): E.ErrorKind {
  return KINDS[/^SQLITE_([A-Z]+)/.exec(code)?.[1] ?? ""] ?? "other";
}

/** A SQLite code that makes a database unusable: what it means, the step that fixes it, and `unchanged: false` where the refusal may not have left the database as it was. */
interface UnusableCode {
  readonly pattern: RegExp;
  readonly problem: (code: string) => string;
  readonly fix: Text;
  readonly unchanged?: false;
}

const UNUSABLE: readonly UnusableCode[] = [
  // Not read-only: the file left its path, and what the run wrote before went with it.
  {
    pattern: /^SQLITE_READONLY_DBMOVED$/,
    problem: (code) =>
      `The database file was deleted, moved or replaced while stepwise had it open (${code}), so SQLite refused this write. What this run applied before went to the file it had opened, not to the one at that path now`,
    fix: text`check the database now at that path (${CALLS.status}), then run again with nothing moving or replacing the file meanwhile`,
    unchanged: false,
  },
  { pattern: /^SQLITE_(NOTADB|CORRUPT)$/, problem: (code) => `The file is not a usable SQLite database (${code})`, fix: ["check the path"] },
  { pattern: /^SQLITE_CANTOPEN/, problem: (code) => `SQLite cannot open the database file (${code})`, fix: ["check that the path names a file this process may open"] },
  {
    pattern: /^SQLITE_(READONLY|PERM)/,
    problem: (code) => `The database cannot be written (${code}): the file or its folder is read-only to this process, or the connection has PRAGMA query_only on`,
    fix: ["make the file and its folder writable to this process, or turn PRAGMA query_only off"],
  },
  { pattern: /^SQLITE_IOERR_(SHORT_)?READ$/, problem: (code) => `The database file could not be read (${code})`, fix: ["check the path and the disk"] },
  // A full disk is SQLITE_FULL; a write, flush, truncation or journal deletion the disk refuses is a quota or file size limit, or a file system gone read-only under the run (remounted after an
  // error, a volume removed).
  {
    pattern: /^SQLITE_IOERR_(WRITE|FSYNC|DIR_FSYNC|TRUNCATE|DELETE)$/,
    problem: (code) => `The disk refused the write (${code}), so nothing was committed`,
    fix: ["check that the database's folder is still writable (not remounted read-only) and a quota or file size limit leaves room, then run again"],
  },
  // The journal's deletion is the commit: gone already, the transaction may have been committed.
  {
    pattern: /^SQLITE_IOERR_DELETE_NOENT$/,
    problem: (code) => `A file SQLite keeps beside the database (its journal) was deleted by something else during the run (${code}), so what this run committed is uncertain`,
    fix: text`check the database (${CALLS.status}), and that nothing else deletes files in its folder while stepwise runs, then run again`,
    unchanged: false,
  },
  { pattern: /^SQLITE_IOERR_NOMEM$/, problem: (code) => `SQLite ran out of memory for its file access (${code})`, fix: ["free memory for this process, then run again"] },
  {
    pattern: /^SQLITE_IOERR_(LOCK|RDLOCK|UNLOCK|CHECKRESERVEDLOCK|SHMLOCK)$/,
    problem: (code) => `The file system refused a file lock (${code}), as a network file system without working locks does`,
    fix: ["keep the database on a local disk (a file system whose locks work), then run again"],
  },
  { pattern: /^SQLITE_IOERR/, problem: (code) => `The disk or file system reported an I/O error (${code})`, fix: ["check the disk and the database's folder, then run again"] },
];

/** The step that fixes a database SQLite's `code` made unusable, as `DATABASE_UNUSABLE`'s message names it; `null` for a code that does not. */
export function unusableSqliteFix(code: string): Text | null {
  return UNUSABLE.find(({ pattern }) => pattern.test(code))?.fix ?? null;
}

/**
 * Whether `error` is SQLite refusing a COMMIT, a savepoint or a VACUUM because a write statement of the same connection is still running (its RETURNING rows left unread, say):
 * an `SQLITE_BUSY` no other connection causes and no wait ends.
 */
export function isStatementRunningRefusal(error: unknown): boolean {
  return stringFieldOf(error, "message")?.includes("SQL statements in progress") === true;
}

/** A migration body's failure when it returned with a write statement still running, as SQLite's `refusal` of stepwise's RELEASE or COMMIT shows. */
export function statementLeftRunningError(refusal: unknown): Error {
  return new Error(
    "it returned while a statement it ran was still running (a write whose RETURNING rows it did not read to the end, an iterator it left early), and SQLite can neither commit nor release a savepoint while a write statement runs: finish or free/reset the statement before the body returns (read it to its end, or call the iterator's return(), or the statement's reset() or free())",
    { cause: refusal },
  );
}

/** The typed error for a SQLite failure a user can act on (locked, not a database, read-only, full); anything else is returned unchanged. `code` is the one the driver's `classifyError` reads, by
 * default the error's `code` property. */
export function translateSqliteError(error: unknown, busyTimeoutMs: number, code: string | null = sqliteCodeOf(error)): unknown {
  if (error instanceof StepwiseError || code === null) return error;
  // Not "locked by another connection": the connection's own statement holds it.
  const kind = isStatementRunningRefusal(error) ? "other" : kindOfSqliteCode(code);
  const unusable = UNUSABLE.find(({ pattern }) => pattern.test(code));
  const translated =
    kind === "locked"
      ? databaseLockedError(busyTimeoutMs, error)
      : kind === "full"
        ? diskFullError({ version: null, file: null, sqliteCode: code, cause: error })
        : // A crashed writer's hot journal (or WAL) on a connection that may not write: a writer must recover it.
          code === "SQLITE_READONLY_ROLLBACK" || code === "SQLITE_READONLY_RECOVERY"
          ? databaseNeedsRecoveryError(code, error)
          : unusable && databaseUnusableError(text`${unusable.problem(code)}: ${unusable.fix}.${unusable.unchanged === false ? "" : ` ${NOTHING_CHANGED}`}`, code, error);
  return translated ? recordNativeError(translated, { kind, nativeCode: code }) : error;
}

// Drivers

/** `REGISTRY_DIALECT_MISMATCH`: thrown when the manager is constructed, before anything touches the database. */
export function registryDialectMismatchError(fields: D<"REGISTRY_DIALECT_MISMATCH">) {
  const { registryDialect, driverDialect, driver, version, file } = fields;
  const message = `The registry was generated for ${registryDialect} (${file}, version ${version}), but the ${driver} driver runs ${driverDialect}. ${NOTHING_CHANGED} Import a registry generated for ${driverDialect} (stepwise gen --dialect ${driverDialect}), or use a ${registryDialect} driver.`;
  return new StepwiseError("REGISTRY_DIALECT_MISMATCH", message, { registryDialect, driverDialect, driver, version, file });
}

// Safety nets

/** `TEMP_FOLDER_UNUSABLE`: the temporary folder cannot hold a safety net's private copy. */
export function tempFolderUnusableError({ folder, systemCode, operation, cause }: D<"TEMP_FOLDER_UNUSABLE"> & { cause?: unknown }) {
  const [state, fix] = isFull(systemCode)
    ? ["has no room for it", "Free space there, or point TMPDIR at a folder with room"]
    : ["cannot be written", "Point TMPDIR at an existing, writable folder (or create this one)"];
  const message = `${operation} needs a private copy of the database in the temporary folder ${folder}, which ${state} (${systemCode ?? "error"}). ${NOTHING_CHANGED} ${fix}, and run it again.`;
  return new StepwiseError("TEMP_FOLDER_UNUSABLE", message, { folder, systemCode, operation }, { cause });
}

// The CLI and its tools

/** `USAGE`: a command or option that cannot work as given; the CLI exits 2. */
export const usageError = (message: string) => new StepwiseError("USAGE", message, {});

/** `USAGE` for a connection the app closed before the call: the library's own error would be a bare `TypeError` (sql.js says "out of memory"). */
export const closedConnectionError = (driver: string, closedBy = "close()") =>
  usageError(`The ${driver} connection is closed: ${closedBy} ran before this call. Nothing was done. Open the database again and pass the new connection.`);

/** The lines that name each of `indexes` with the statement that removes it, after `lead` ("It left", "The database holds"); empty for none. */
export function describeInvalidIndexes(indexes: readonly E.InvalidIndex[], lead: string): string {
  if (indexes.length === 0) return "";
  const one = indexes.length === 1;
  return (
    `${lead} ${one ? "an invalid index" : `${indexes.length} invalid indexes`} (what a CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY that fails part way leaves), ` +
    `which ${one ? "makes" : "make"} the same statement fail with "already exists" when it runs again; remove ${one ? "it" : "each"} first:\n` +
    indexes.map((index) => `  ${index.drop}  -- on ${index.schema}.${index.table}\n`).join("")
  );
}

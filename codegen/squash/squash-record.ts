/**
 * The record `stepwise squash` writes at the top of the migration it makes, in comments (outside its checksum): the versions it replaced with the checksums a database that ran them holds, and
 * a fingerprint of each schema object they built, which `gen --check` compares with what the squash builds, on every run.
 */
import { createHash } from "node:crypto";
import type { SchemaSnapshot } from "../../src/safety/schema-snapshot.js";
import { tryOr } from "../../src/shared/try-or.js";

/** The first line of the record: `-- stepwise:squash <version> record:<hash of the lines below>`. */
export const SQUASH_MARK = "-- stepwise:squash";
const REPLACES_MARK = "-- stepwise:replaces";
const SCHEMA_MARK = "-- stepwise:schema";
/** A line the user must read and delete before `gen` accepts the squash (`SQUASH_REVIEW_PENDING`). */
export const REVIEW_MARK = "-- stepwise:review";

/** One migration the squash replaced: a database that ran it holds one of `checksums` for its version. */
export interface ReplacedMigration {
  readonly version: number;
  readonly name: string;
  /** The checksum gen gave it, then any an earlier release gave it. */
  readonly checksums: readonly string[];
}

/** One schema object of the squashed versions, by kind and name, with a short hash of how the schema reader saw it. */
export interface ObjectPrint {
  readonly kind: string;
  readonly name: string;
  readonly hash: string;
}

/** What a squash migration's header says. */
export interface SquashRecord {
  /** The squash's own version: it replaced 1..`version`. */
  readonly version: number;
  readonly replaced: readonly ReplacedMigration[];
  readonly schema: readonly ObjectPrint[];
  /** The 1-based line of the `-- stepwise:squash` mark. */
  readonly line: number;
  /** The 1-based lines of `-- stepwise:review` marks still in the file. */
  readonly reviewLines: readonly number[];
}

/** The record in `source`: `null` when it holds none, else the record or why it cannot be read (at a 1-based line). */
export function readSquashRecord(source: string): { record: SquashRecord } | { line: number; reason: string } | null {
  const lines = source.replace(/^\uFEFF/, "").split(/\r?\n/);
  const at = lines.findIndex((line) => line.startsWith(`${SQUASH_MARK} `) || line === SQUASH_MARK);
  if (at === -1) return null;
  const head = /^-- stepwise:squash (\d+) record:([0-9a-f]{12})\s*$/.exec(lines[at]!);
  const version = Number(head?.[1]);
  if (!head || !Number.isSafeInteger(version) || version < 2) {
    return { line: at + 1, reason: `"${lines[at]}" should be "${SQUASH_MARK} <version> record:<12 hex digits>", the squash's own version (2 or more) and its record's hash` };
  }
  const replaced: ReplacedMigration[] = [];
  const schema: ObjectPrint[] = [];
  const reviewLines: number[] = [];
  for (const [index, line] of lines.entries()) {
    if (line.startsWith(REVIEW_MARK)) reviewLines.push(index + 1);
    if (line.startsWith(REPLACES_MARK)) {
      const match = /^-- stepwise:replaces (\d+) (\S+)((?: [0-9a-f]+)+)\s*$/.exec(line);
      if (!match) return { line: index + 1, reason: `"${line}" should be "${REPLACES_MARK} <version> <name> <checksum>..."` };
      replaced.push({ version: Number(match[1]), name: match[2]!, checksums: match[3]!.trim().split(" ") });
    } else if (line.startsWith(SCHEMA_MARK)) {
      const match = /^-- stepwise:schema (\w+) ("(?:[^"\\]|\\.)*") ([0-9a-f]{12})\s*$/.exec(line);
      const name = match ? tryOr(() => JSON.parse(match[2]!) as unknown, null) : null;
      if (!match || typeof name !== "string") return { line: index + 1, reason: `"${line}" should be "${SCHEMA_MARK} <kind> "<name>" <12 hex digits>"` };
      schema.push({ kind: match[1]!, name, hash: match[3]! });
    }
  }
  // The checksums are what databases in use are checked against, so an edit of the record is caught here rather than on a server.
  if (hashRecordLines(lines.filter((line) => line.startsWith(REPLACES_MARK) || line.startsWith(SCHEMA_MARK))) !== head[2]) {
    return { line: at + 1, reason: `its "${REPLACES_MARK}" and "${SCHEMA_MARK}" lines were edited since squash wrote them (they no longer match record:${head[2]})` };
  }
  // Compared line by line, never by listing 1 to the version, which the head may give as large as 2^53 - 1.
  if (replaced.length !== version || replaced.some((each, index) => each.version !== index + 1)) {
    return { line: at + 1, reason: `the "${REPLACES_MARK}" lines should list versions 1 to ${version} in order, one each, but list ${replaced.map((each) => each.version).join(", ") || "none"}` };
  }
  return { record: { version, replaced, schema, line: at + 1, reviewLines } };
}

/** Each object of `snapshot` with a hash of what the schema reader read of it, sorted by kind then name. */
export function printSchema(snapshot: SchemaSnapshot): ObjectPrint[] {
  const kinds = { table: snapshot.tables, index: snapshot.indexes, trigger: snapshot.triggers, view: snapshot.views, sequence: snapshot.sequences, function: snapshot.functions, type: snapshot.types };
  const prints = Object.entries(kinds).flatMap(([kind, objects]) =>
    (objects ?? []).map((object): ObjectPrint => ({ kind, name: object.name, hash: createHash("sha256").update(JSON.stringify(object)).digest("hex").slice(0, 12) })),
  );
  return prints.sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind < b.kind ? -1 : 1));
}

/** What differs between the recorded prints and those of the schema built now: one phrase per object, such as `table "contacts" differs`. */
export function compareSchemaPrints(recorded: readonly ObjectPrint[], built: readonly ObjectPrint[]): string[] {
  const key = (print: ObjectPrint) => `${print.kind} ${JSON.stringify(print.name)}`;
  const [before, after] = [recorded, built].map((prints) => new Map(prints.map((print) => [key(print), print.hash])));
  const differences: string[] = [];
  for (const [name, hash] of before!) {
    if (!after!.has(name)) differences.push(`${name} missing`);
    else if (after!.get(name) !== hash) differences.push(`${name} differs`);
  }
  for (const name of after!.keys()) if (!before!.has(name)) differences.push(`${name} added`);
  return differences;
}

/** The record's lines, for the top of the squash migration. */
export function renderSquashRecord(version: number, replaced: readonly ReplacedMigration[], schema: readonly ObjectPrint[]): string[] {
  const lines = [
    ...replaced.map((each) => `${REPLACES_MARK} ${each.version} ${each.name} ${each.checksums.join(" ")}`),
    ...schema.map((print) => `${SCHEMA_MARK} ${print.kind} ${JSON.stringify(print.name)} ${print.hash}`),
  ];
  return [`${SQUASH_MARK} ${version} record:${hashRecordLines(lines)}`, ...lines];
}

function hashRecordLines(lines: readonly string[]): string {
  return createHash("sha256")
    .update(lines.map((line) => line.trimEnd()).join("\n"))
    .digest("hex")
    .slice(0, 12);
}

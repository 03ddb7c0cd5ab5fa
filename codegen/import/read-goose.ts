/**
 * goose (SQL migrations): `<version>_<name>.sql` with `-- +goose Up` and `-- +goose Down`; versions are 64-bit integers in numeric order. `-- +goose NO TRANSACTION` runs the file outside a
 * transaction; `StatementBegin`/`StatementEnd` only tell goose's splitter where a statement ends, and stepwise runs a section as one script, so those lines are dropped, as are `ENVSUB ON`/`OFF`
 * lines around SQL they do not change (see `goose-envsub.ts`).
 */
import { escapeControlCharacters } from "../problems.js";
import { findEnvsubChange } from "./goose-envsub.js";
import { opensOwnTransaction, settleTransaction } from "./own-transaction.js";
import { compareNumeric, endOfLine, lineAt, lineOfSqlBefore, refuse, reportDuplicates, sectionOf, type ForeignMigration, type ForeignTool, type SourceFolder, type SourceSection } from "./source.js";
import type { SqlDialect } from "../../src/shared/sql-dialect.js";

/** A line goose reads as an annotation: one that starts with `--` once trimmed and holds `+goose` anywhere. goose's lines end at a line feed only (a lone carriage return is part of the line). */
const ANNOTATION = /(?<=^|\n)[ \t]*--[^\n]*\+goose[^\n]*/g;
/** goose parses versions as signed 64-bit integers and refuses those below 1. */
const MAX_VERSION = 2n ** 63n - 1n;
const KNOWN = new Map(["up", "down", "statementbegin", "statementend", "no transaction", "envsub on", "envsub off"].map((word) => [word, word]));

const UNMATCHED_BEGIN = "`-- +goose StatementBegin` without its `-- +goose StatementEnd`, which goose refuses";

/** The reader `stepwise import --from goose` uses for goose's migrations folder, read as the comment above says the tool reads it. */
export const goose: ForeignTool = {
  order: "by version as a number (so 9_a runs before 10_b)",
  foreignKeysOff: true,
  historyTable: "goose_db_version",
  noTransactionMark: "it holds a `-- +goose NO TRANSACTION` line",
  read(source: SourceFolder, dialect: SqlDialect): ForeignMigration[] {
    const found = source.list().flatMap((entry): (ForeignMigration & { key: string; file: string })[] => {
      const file = entry.name;
      // goose lists *.sql by name and fails reading a folder so named.
      if (entry.isDirectory() && /^\d+_.*\.sql$/.test(file)) return refuse(source, file, 1, "a folder named like a goose SQL migration, which goose fails to read as one; rename it");
      // goose skips Go test files.
      if (!entry.isFile() || !/^\d+_.*\.(sql|go)$/.test(file) || file.endsWith("_test.go")) return [];
      if (file.endsWith(".go"))
        return refuse(source, file, 1, "a goose Go migration; stepwise imports goose's SQL migrations only, so port this one to a .sql file (or a stepwise TypeScript migration) first");
      const text = source.read(file);
      return typeof text === "string" ? readFile(source, file, text, dialect) : [];
    });
    reportDuplicates(source, found, "version");
    return found.sort((a, b) => compareNumeric(a.key, b.key));
  },
};

/** One goose SQL file as a migration, or a refusal at its line. */
function readFile(source: SourceFolder, file: string, text: string, dialect: SqlDialect): (ForeignMigration & { key: string; file: string })[] {
  const annotations = readAnnotations(text);
  if ("refused" in annotations) return refuse(source, file, annotations.line, annotations.refused);
  const { up, down, transaction, cuts, envsub, unclosed } = annotations;
  const substituted = findEnvsubChange(text, envsub);
  if (substituted !== null) {
    const on = envsub.findLast(([from]) => lineAt(text, from) < substituted)![0];
    return refuse(
      source,
      file,
      lineAt(text, on),
      `"-- +goose ENVSUB ON": goose substitutes environment variables into line ${substituted} when it runs it (a $NAME or \${NAME}, or a $$ or \\$ it makes one $), and stepwise runs SQL as written: write the values in and delete the annotation`,
      { code: "GOOSE_ENVSUB_SUBSTITUTES", relatedLine: substituted },
    );
  }
  if (unclosed !== null) return refuse(source, file, lineAt(text, unclosed), UNMATCHED_BEGIN);
  const unfinished = findUnfinishedUp(text);
  if (unfinished !== null) return refuse(source, file, unfinished, "a statement in the up without a `;` ending its last line, which goose refuses (missing semicolon); end it with `;`");
  const statement = lineOfSqlBefore(text, up);
  if (statement !== null) return refuse(source, file, statement, "SQL above `-- +goose Up`, which goose refuses");
  const version = BigInt(/^\d+/.exec(file)![0]).toString();
  if (BigInt(version) < 1n || BigInt(version) > MAX_VERSION) return refuse(source, file, 1, `version ${version}, which goose refuses (it takes 1 to ${MAX_VERSION}); renumber it`);
  const part = (start: number, end: number) => dropCuts(sectionOf(file, text, start, end), start, cuts);
  const [upSection, downSection] = [part(endOfLine(text, up), down ?? text.length), down === null ? null : part(endOfLine(text, down), text.length)];
  // `NO TRANSACTION` takes the whole file out, so it never splits the directions; a section's own BEGIN can.
  const run = (section: SourceSection) => ({ section, transaction: transaction && !opensOwnTransaction(section.sql, dialect) });
  return [
    {
      key: version,
      file,
      id: file.replace(/\.sql$/, ""),
      name: file.slice(file.indexOf("_") + 1).replace(/\.sql$/, ""),
      ...(up > 0 ? { preamble: part(0, up) } : {}),
      up: upSection,
      down: downSection,
      transaction: settleTransaction(source, run(upSection), downSection && run(downSection), dialect, "goose"),
      sources: [file],
      history: { version_id: version },
    },
  ];
}

/**
 * Reads every annotation line as goose does, refusing the ones goose refuses (with the line): where the file's sections start, whether it runs in a transaction, the annotation lines (`cuts`,
 * which stepwise's markers replace), where ENVSUB is on (from its ON line to its OFF line or the end), and a `StatementBegin` left open at the end (`unclosed`, which goose refuses after an
 * ENVSUB that substitutes, as it reads in that order).
 */
function readAnnotations(text: string) {
  let up: number | null = null;
  let down: number | null = null;
  let transaction = true;
  let statementAt: number | null = null;
  const envsub: [number, number][] = [];
  let envsubAt: number | null = null;
  const cuts: [number, number][] = [];
  for (const match of text.matchAll(ANNOTATION)) {
    // goose's reading: no leading whitespace, every `--` and the first `+goose` removed, the rest compared ignoring case.
    const command = match[0].replaceAll("--", "").replace("+goose", "").trim();
    const word = /^\s/.test(match[0]) || command.includes("+goose") ? undefined : KNOWN.get(command.toLowerCase());
    const line = lineAt(text, match.index);
    const refused = (message: string, at = line) => ({ refused: message, line: at });
    if (word === undefined) return refused(`"${escapeControlCharacters(match[0].trim())}": goose refuses this annotation line (unknown, indented, or a comment that mentions +goose)`);
    if (word === "envsub on") envsubAt ??= match.index;
    if (word === "envsub off" && envsubAt !== null) {
      envsub.push([envsubAt, match.index]);
      envsubAt = null;
    }
    if (word === "up" && up !== null) return refused("a second `-- +goose Up`, which goose refuses");
    if (word === "down" && down !== null) return refused("a second `-- +goose Down`, which goose refuses");
    if (word === "down" && up === null) return refused("`-- +goose Down` before `-- +goose Up`, which goose refuses");
    if (word === "statementbegin" && (up === null || statementAt !== null)) return refused("`-- +goose StatementBegin` outside a section or inside another statement, which goose refuses");
    if (word === "statementend" && statementAt === null) return refused("`-- +goose StatementEnd` without its `-- +goose StatementBegin`, which goose refuses");
    if (word === "down" && statementAt !== null) return refused(UNMATCHED_BEGIN, lineAt(text, statementAt));
    if (word === "statementbegin") statementAt = match.index;
    else if (word === "statementend") statementAt = null;
    if (word === "up") up = match.index;
    else if (word === "down") down = match.index;
    else if (word === "no transaction") transaction = false;
    if (word !== "up" && word !== "down") cuts.push([match.index, endOfLine(text, match.index)]);
  }
  if (up === null) return { refused: "no `-- +goose Up` annotation, which goose requires", line: 1 };
  if (envsubAt !== null) envsub.push([envsubAt, text.length]);
  return { up, down, transaction, cuts, envsub, unclosed: statementAt };
}

/** The section without the annotation lines inside it, with where each stretch after a dropped line starts in the file. */
function dropCuts(section: SourceSection, start: number, cuts: readonly [number, number][]): SourceSection {
  let sql = "";
  let at = start;
  const breaks: { at: number; line: number }[] = [];
  const end = start + section.sql.length;
  const lines = (text: string) => text.split("\n").length - 1;
  for (const [from, to] of cuts) {
    if (to <= start || from >= end) continue;
    sql += section.sql.slice(at - start, from - start);
    at = to;
    breaks.push({ at: lines(sql), line: section.line + lines(section.sql.slice(0, at - start)) });
  }
  return { ...section, sql: sql + section.sql.slice(at - start), breaks };
}

/**
 * The line where the up section leaves a statement unfinished, as goose reads it for `up` (which it refuses: "missing semicolon"), or `null`. Outside StatementBegin/StatementEnd a statement ends at
 * a line whose last word before a `--` word ends with `;`; comment and empty lines before a statement are skipped.
 */
function findUnfinishedUp(text: string): number | null {
  let state: "start" | "up" | "block" = "start";
  let buffer = "";
  let from = 0;
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const trimmed = line.trim();
    if (trimmed.startsWith("--") && line.includes("+goose")) {
      const command = line.replaceAll("--", "").replace("+goose", "").trim().toLowerCase();
      if (command === "down") break;
      if (command === "up" || command === "statementend") [state, buffer] = ["up", ""];
      else if (command === "statementbegin") state = "block";
      continue;
    }
    if (state === "start" || (buffer === "" && (trimmed.startsWith("--") || line === ""))) continue;
    if (buffer === "") from = index + 1;
    buffer += `${line}\n`;
    const words = line.split(/\s+/).filter((word) => word !== "");
    const end = words.findIndex((word) => word.startsWith("--"));
    if (state === "up" && (words.slice(0, end === -1 ? undefined : end).at(-1) ?? "").endsWith(";")) buffer = "";
  }
  return buffer.trim() === "" ? null : from;
}

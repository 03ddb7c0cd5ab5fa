/**
 * Parses a SQL migration file into its sections. Codegen calls it for every `.sql` file; it lives in
 * `src/` because the checksum is computed from what it returns, and both halves must agree on that.
 *
 * ```sql
 * -- description: Track delivery status
 * -- migrate:up transaction:false foreign_keys:off
 * ALTER TABLE messages ADD COLUMN status TEXT;
 * -- migrate:down
 * ALTER TABLE messages DROP COLUMN status;
 * ```
 */
import type { SqlDialect } from "./sql-dialect.js";
import { canonicalizeSql, checksumSqlMigration } from "./checksum.js";
import { classifyComment, type MarkerComment, DOWN_MARKER, EMPTY_MARKER, KNOWN_FLAGS, looksLikeMarker, suggestFlag, TEMPLATE_PLACEHOLDER, UP_MARKER } from "./sql-markers.js";
import { findClientCommandProblems, findTransactionProblems } from "./sql-statement-checks.js";
import { findNulByte } from "./source-text.js";
import { tokenizeSql, type SqlToken } from "./sql-tokens.js";

/** A problem found in a SQL migration, positioned for `file:line:col` output (1-based). */
export interface SqlSourceProblem {
  readonly code: SqlSourceProblemCode;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** Stable codes for what can be wrong in a SQL migration. */
export type SqlSourceProblemCode =
  // Group: Markers, flags and statements
  /** A SQL migration has no `-- migrate:up` marker, so nothing in it would run. Fix: Start the migration's SQL with a line `-- migrate:up`. */
  | "SQL_MISSING_UP"
  /** A second `-- migrate:up` marker. Fix: Keep exactly one. */
  | "SQL_DUPLICATE_UP"
  /** A second `-- migrate:down` marker. Fix: Keep at most one. */
  | "SQL_DUPLICATE_DOWN"
  /** `-- migrate:down` comes before `-- migrate:up`. Fix: Put the up section first. */
  | "SQL_DOWN_BEFORE_UP"
  /**
   * The up section holds no SQL (only comments, whitespace or `;`): almost always a migration not written yet.
   * Fix: Write the change below `-- migrate:up`, or, if the migration deliberately does nothing, say why on a line `-- migrate:empty <reason>`.
   */
  | "SQL_EMPTY_UP"
  /**
   * The down section holds no SQL.
   * Fix: Write the undo below `-- migrate:down`, delete that line to mark the migration irreversible, or say why undoing it does nothing with `-- migrate:empty <reason>`.
   */
  | "SQL_EMPTY_DOWN"
  /** SQL above the `-- migrate:up` marker, which would never run. Fix: Move it below the marker. */
  | "SQL_OUTSIDE_SECTION"
  /** A `-- migrate:<word>` comment whose word is not a marker. Fix: The markers are `-- migrate:up`, `-- migrate:down` and `-- migrate:empty <reason>`; fix the spelling. */
  | "SQL_UNKNOWN_MARKER"
  /** A flag on the up marker line that is not one of the two. Fix: Write the flags exactly, in lowercase: `transaction:false`, `foreign_keys:off`. */
  | "SQL_UNKNOWN_FLAG"
  /** A flag on the `-- migrate:down` line; flags apply to both directions and belong on the up line. Fix: Move it to the `-- migrate:up` line. */
  | "SQL_FLAG_ON_DOWN"
  /**
   * A comment that looks like a marker but is not exact (`-- Migrate:down`, `--migrate:down`, `-- +goose Down`, the marker in a block comment). Read as a plain comment it would run the down
   * section as part of up.
   * Fix: Write it exactly as the marker it means, in lowercase, as a `--` comment on a line of its own.
   */
  | "SQL_MALFORMED_MARKER"
  /** A `-- description:` line below `-- migrate:up`, or a second one; it would be dropped without a word. Fix: Keep one `-- description:` line, above `-- migrate:up`. */
  | "SQL_MISPLACED_DESCRIPTION"
  /** A marker written after SQL on the same line, or inside a block comment, where it is not read as one. Fix: Write the marker on a line of its own. */
  | "SQL_MISPLACED_MARKER"
  /** The same flag twice on the marker line. Fix: Remove one. */
  | "SQL_DUPLICATE_FLAG"
  /** Two flags on the marker line that contradict each other. Fix: Keep only the one you mean. */
  | "SQL_CONFLICTING_FLAGS"
  /** A string, quoted name, block comment or dollar-quoted body that is never closed, so everything after it (markers included) is part of it. Fix: Close it. */
  | "SQL_UNTERMINATED"
  /**
   * A raw NUL byte in a SQL migration: SQLite stops reading the statement there (PostgreSQL refuses it), so the SQL after it would never run.
   * Fix: Delete it; in SQLite, write it in a string as `char(0)`.
   */
  | "SQL_NUL_BYTE"
  /**
   * A transactional migration holds a statement that controls the transaction stepwise runs it in (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`; on PostgreSQL also `START
   * TRANSACTION`, `ABORT`, `PREPARE TRANSACTION`), so a later failure could no longer be rolled back.
   * Fix: Remove it, or add `transaction:false` to the `-- migrate:up` line if the migration must manage transactions itself.
   */
  | "SQL_TRANSACTION_CONTROL"
  /**
   * A transactional migration holds a statement the database refuses inside a transaction: `VACUUM` on SQLite; on PostgreSQL also `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`,
   * `CREATE DATABASE` and the rest listed in docs/migrations.md.
   * Fix: Add `transaction:false` to the `-- migrate:up` line (in TypeScript, `transaction: false`), and keep that migration to the statement that needs it.
   */
  | "SQL_NEEDS_NO_TRANSACTION"
  /**
   * A migration sets `PRAGMA foreign_keys`, which does nothing inside a transaction.
   * Fix: Remove the pragma and put `foreign_keys:off` on the `-- migrate:up` line (`disableForeignKeys: true` in TypeScript): stepwise turns enforcement off around the migration and checks
   * the keys before it commits.
   */
  | "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION"
  /**
   * `foreign_keys:off` (`disableForeignKeys`) together with `transaction:false`: switching foreign keys off needs a transaction, so a violation can be rolled back.
   * Fix: Remove `transaction:false` (or the foreign-key flag).
   */
  | "FOREIGN_KEYS_WITHOUT_TRANSACTION"
  /**
   * `foreign_keys:off` (`disableForeignKeys`) in a PostgreSQL migration: it is SQLite's `PRAGMA foreign_keys`, which PostgreSQL does not have.
   * Fix: Remove it; declare the constraints `DEFERRABLE` and run `SET CONSTRAINTS ALL DEFERRED` in the migration if rows must break them until it commits.
   */
  | "FOREIGN_KEYS_FLAG_UNSUPPORTED"
  /**
   * A PostgreSQL migration holds what only psql can run, as `pg_dump` output does: a meta-command such as `\connect`, or `COPY … FROM STDIN` / `TO STDOUT`. The server cannot run it.
   * Fix: Remove the meta-commands (and the data lines of a `COPY` they end); write the rows as `INSERT … VALUES`, or move them into a TypeScript migration.
   */
  | "SQL_PSQL_ONLY"
  /** `-- migrate:empty` above `-- migrate:up`: it marks a section as deliberately empty, so it goes inside one. Fix: Move it below `-- migrate:up` (or `-- migrate:down`). */
  | "SQL_MISPLACED_EMPTY"
  /** `-- migrate:empty` without a reason. Fix: Say why the section is empty on the same line, such as `-- migrate:empty SQLite integers are already 64-bit`. */
  | "SQL_EMPTY_REASON_MISSING"
  /** A second `-- migrate:empty` in one section. Fix: Keep one. */
  | "SQL_DUPLICATE_EMPTY"
  /** `-- migrate:empty` in a section that holds SQL. Fix: Remove the marker or the SQL. */
  | "SQL_EMPTY_WITH_SQL"
  /**
   * A migration still holds the `stepwise:todo` placeholder `stepwise create` wrote, so it is not written yet and would be applied and recorded as it is.
   * Fix: Write the migration in place of the `stepwise:todo` comments, then run `stepwise gen` again.
   */
  | "TEMPLATE_UNEDITED";

/** How {@link parseSqlMigrationSource} reads a file. */
export interface SqlSourceOptions {
  /** The dialect the SQL is written in: how it is tokenised, checked and hashed. Default `sqlite`. */
  readonly dialect?: SqlDialect;
}

/** A well-formed SQL migration. */
export interface ParsedSqlMigration {
  readonly description: string | null;
  readonly upSql: string;
  readonly downSql: string | null;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  readonly checksum: string;
  /** Why the up section is deliberately empty (its `-- migrate:empty` line), or `null`. */
  readonly emptyUpReason: string | null;
  /** Why the down section is deliberately empty, or `null`. */
  readonly emptyDownReason: string | null;
  /** The file's line (1-based) where `upSql` begins, so a failure at run time can name the file's line. */
  readonly upSqlLine: number;
  /** The file's line where `downSql` begins, or `null` without a down section. */
  readonly downSqlLine: number | null;
}

/** Either the parsed migration or every problem found; never both. */
export type SqlSourceResult = { readonly ok: true; readonly migration: ParsedSqlMigration } | { readonly ok: false; readonly problems: readonly SqlSourceProblem[] };

type Report = (code: SqlSourceProblemCode, line: number, column: number, message: string) => void;
type Section = "up" | "down";

/**
 * Splits a SQL migration into its up and down sections and validates them: exactly one
 * `-- migrate:up`, at most one `-- migrate:down` after it, SQL in the up section, only comments above
 * it; flags (`transaction:false`, `foreign_keys:off`) on the up line. A marker is a `--` comment that
 * starts its line outside any string or block comment; a look-alike of a marker, flag or description
 * is refused, and so is a transactional migration that controls its own transaction.
 */
export function parseSqlMigrationSource(source: string, options: SqlSourceOptions = {}): SqlSourceResult {
  const dialect = options.dialect ?? "sqlite";
  const text = source.replace(/^\uFEFF/, "");
  const tokens = tokenizeSql(text, dialect);
  const problems: SqlSourceProblem[] = [];
  const report: Report = (code, line, column, message) => void problems.push({ code, line, column, message });

  const nul = findNulByte(text);
  if (nul !== null) {
    // SQLite stops reading a statement there, so whatever follows would be hashed but never run.
    const why =
      dialect === "postgres"
        ? "PostgreSQL refuses it in a query, so this migration could never run; delete it"
        : "SQLite stops reading the statement here, so the SQL after it would never run; delete it, or write it in a string as char(0)";
    report("SQL_NUL_BYTE", nul.line, nul.column, `a NUL byte: ${why}`);
  }
  const scan = scanSections(text.split(/\r?\n/), ownLineComments(tokens, dialect, report), dialect, report);
  const { upLine, downLine, transaction, disableForeignKeys, empty } = scan;
  // A misspelled up marker already says what is wrong; these would only repeat it.
  if (scan.upLookalikeLine === -1) {
    reportSqlOutsideSections(tokens, upLine, scan.misplacedDownLine, report);
    if (upLine === -1) report("SQL_MISSING_UP", 1, 1, `no "${UP_MARKER}" marker; start the migration's SQL with a line "${UP_MARKER}"`);
  }
  const upSql = trimBlankLines(scan.lines.up);
  const downSql = downLine === -1 ? null : trimBlankLines(scan.lines.down);
  const isEmpty = { up: upLine !== -1 && holdsNoStatement(upSql, dialect), down: downSql !== null && holdsNoStatement(downSql, dialect) };
  reportEmptySections(scan, isEmpty, reportTemplatePlaceholders(tokens, upLine, downLine, report), report);
  if (upLine !== -1 && problems.length === 0) reportSectionStatements(tokens, scan, dialect, report);
  if (problems.length > 0) return { ok: false, problems: problems.sort((a, b) => a.line - b.line || a.column - b.column) };

  const emptyFlags = { ...(empty.up ? { emptyUp: true } : {}), ...(empty.down ? { emptyDown: true } : {}) };
  const checksum = checksumSqlMigration({ upSql, downSql, transaction, disableForeignKeys, ...emptyFlags, ...(dialect === "postgres" ? { dialect } : {}) });
  return {
    ok: true,
    migration: {
      description: scan.description,
      upSql,
      downSql,
      transaction,
      disableForeignKeys,
      checksum,
      emptyUpReason: empty.up?.reason ?? null,
      emptyDownReason: empty.down?.reason ?? null,
      // Each section's lines follow its marker line one for one; its SQL starts at the first non-blank one.
      upSqlLine: upLine + 1 + leadingBlankLines(scan.lines.up),
      downSqlLine: downLine === -1 ? null : downLine + 1 + leadingBlankLines(scan.lines.down),
    },
  };
}

/** The `--` comments that start their line, by line: the only ones a marker can be. Reports the comments elsewhere that look like markers, and the strings and comments never closed. */
function ownLineComments(tokens: readonly SqlToken[], dialect: SqlDialect, report: Report): Map<number, SqlToken> {
  const comments = new Map<number, SqlToken>();
  tokens.forEach((token, index) => {
    const previous = tokens[index - 1];
    const startsLine = previous === undefined || (previous.kind === "whitespace" && (previous.offset === 0 || previous.text.includes("\n")));
    if (token.kind === "line-comment" && startsLine) {
      comments.set(token.line, token);
    } else if ((token.kind === "line-comment" || (token.kind === "block-comment" && !token.text.includes("\n"))) && !token.unterminated) {
      const intended = looksLikeMarker(token.text);
      if (intended) {
        const message = `this comment looks like the marker "${intended}" but is not read as one: a marker is a "--" comment on a line of its own; write "${intended}" on its own line`;
        report("SQL_MISPLACED_MARKER", token.line, token.column, message);
      }
    } else if (token.unterminated && (dialect === "postgres" || token.kind !== "block-comment" || /migrat/i.test(token.text))) {
      // SQLite reads an unclosed block comment to the end and runs what came before: harmless unless
      // it swallows a marker. An unclosed string, identifier (or PostgreSQL comment) is a syntax error.
      const [what, close] = describeUnclosed(token);
      report("SQL_UNTERMINATED", token.line, token.column, `this ${what} is never closed, so everything after it (markers included) is part of it; close it with ${close}`);
    }
  });
  return comments;
}

/** What the walk over a file's lines found: its markers, its flags and each section's lines. */
interface SectionScan {
  description: string | null;
  upLine: number;
  downLine: number;
  transaction: boolean;
  disableForeignKeys: boolean;
  /** A down section above the up marker, reported once: its lines are neither SQL outside a section nor the up section's. */
  misplacedDownLine: number;
  /** A misspelled up marker. */
  upLookalikeLine: number;
  readonly lines: Record<Section, string[]>;
  /** Each section's `-- migrate:empty` line, when it declares itself deliberately empty. */
  readonly empty: Record<Section, { line: number; reason: string } | null>;
  /** Sections with an empty marker, valid or not: "empty" would repeat that marker's own problem. */
  readonly emptyDeclared: Set<Section>;
}

/** Walks the file line by line: markers, flags, the description, and which section each line is in. */
function scanSections(lines: readonly string[], comments: ReadonlyMap<number, SqlToken>, dialect: SqlDialect, report: Report): SectionScan {
  const scan: SectionScan = {
    description: null,
    upLine: -1,
    downLine: -1,
    transaction: true,
    disableForeignKeys: false,
    misplacedDownLine: -1,
    upLookalikeLine: -1,
    lines: { up: [], down: [] },
    empty: { up: null, down: null },
    emptyDeclared: new Set(),
  };
  lines.forEach((lineText, index) => {
    const lineNumber = index + 1;
    const comment = comments.get(lineNumber);
    const meaning = comment && classifyComment(comment.text);
    if (comment && meaning) {
      if (meaning.kind === "marker") return readMarker(scan, meaning, comment, lineText, lineNumber, dialect, report);
      if (meaning.kind === "empty") return readEmptyMarker(scan, meaning.reason, comment.column, lineText, lineNumber, report);
      if (meaning.kind === "unknown-directive") {
        return report("SQL_UNKNOWN_MARKER", lineNumber, comment.column + 3, `unknown marker "migrate:${meaning.directive}"; the markers are "${UP_MARKER}" and "${DOWN_MARKER}"`);
      }
      if (!readOtherComment(scan, meaning, comment, lineNumber, report)) return;
    }
    if (scan.downLine !== -1) scan.lines.down.push(lineText);
    else if (scan.upLine !== -1) scan.lines.up.push(lineText);
  });
  return scan;
}

/** An up or down marker line: where its section starts, and the up line's flags. */
function readMarker(scan: SectionScan, marker: Extract<MarkerComment, { kind: "marker" }>, comment: SqlToken, lineText: string, lineNumber: number, dialect: SqlDialect, report: Report): void {
  const column = comment.column + 3;
  if (marker.direction === "down") {
    if (scan.upLine === -1) {
      report("SQL_DOWN_BEFORE_UP", lineNumber, column, `"${DOWN_MARKER}" comes before "${UP_MARKER}"; put the up section first`);
      if (scan.misplacedDownLine === -1) scan.misplacedDownLine = lineNumber;
    } else if (scan.downLine !== -1) {
      report("SQL_DUPLICATE_DOWN", lineNumber, column, `a second "${DOWN_MARKER}" marker (the first is on line ${scan.downLine}); keep at most one`);
    } else {
      scan.downLine = lineNumber;
      const flags = marker.rest.trim();
      if (flags !== "") report("SQL_FLAG_ON_DOWN", lineNumber, column, `flags belong on the "${UP_MARKER}" line, where they apply to both directions; remove "${flags}" here`);
    }
    return;
  }
  if (scan.upLine !== -1) return report("SQL_DUPLICATE_UP", lineNumber, column, `a second "${UP_MARKER}" marker (the first is on line ${scan.upLine}); keep exactly one`);
  scan.upLine = lineNumber;
  Object.assign(scan, parseFlags(marker.rest, comment.column + marker.restIndex, lineNumber, report));
  if (!scan.disableForeignKeys) return;
  const flagColumn = lineText.indexOf("foreign_keys:off") + 1;
  if (dialect === "postgres") {
    report(
      "FOREIGN_KEYS_FLAG_UNSUPPORTED",
      lineNumber,
      flagColumn,
      `"foreign_keys:off" is SQLite's PRAGMA foreign_keys, which PostgreSQL does not have; remove it, and declare the constraints DEFERRABLE and run SET CONSTRAINTS ALL DEFERRED in the migration if rows must break them until it commits`,
    );
  }
  // The runtime refuses such a registry, so gen refuses the file.
  if (!scan.transaction) {
    report("FOREIGN_KEYS_WITHOUT_TRANSACTION", lineNumber, flagColumn, `"foreign_keys:off" needs a transaction, so a foreign key violation can be rolled back; remove "transaction:false"`);
  }
}

/** A `-- migrate:empty <reason>` line: the section it sits in is deliberately empty. */
function readEmptyMarker(scan: SectionScan, reason: string, column: number, lineText: string, lineNumber: number, report: Report): void {
  if (scan.upLine === -1) {
    return report("SQL_MISPLACED_EMPTY", lineNumber, column, `"${EMPTY_MARKER}" marks a section as deliberately empty, so it goes inside one: move it below "${UP_MARKER}" (or "${DOWN_MARKER}")`);
  }
  const section = scan.downLine === -1 ? "up" : "down";
  scan.emptyDeclared.add(section);
  const earlier = scan.empty[section];
  if (reason === "") {
    report("SQL_EMPTY_REASON_MISSING", lineNumber, column, `say why the ${section} section is empty on the same line, such as "${EMPTY_MARKER} SQLite integers are already 64-bit"`);
  } else if (earlier !== null) {
    report("SQL_DUPLICATE_EMPTY", lineNumber, column, `a second "${EMPTY_MARKER}" in the ${section} section (the first is on line ${earlier.line}); keep one`);
  } else {
    scan.empty[section] = { line: lineNumber, reason };
  }
  // Kept in the section's text, so the registry shows the reason where the SQL would be.
  scan.lines[section].push(lineText);
}

/**
 * A comment on its own line that is no marker: a look-alike is reported, and the description is read
 * above the up marker. Returns whether the line belongs to its section's text (the description does not).
 */
function readOtherComment(scan: SectionScan, meaning: MarkerComment, comment: SqlToken, lineNumber: number, report: Report): boolean {
  if (meaning.kind === "look-alike") {
    // A bare direction word naming the section already under way is a heading.
    const heading = meaning.bareDirection === true && (meaning.intended === UP_MARKER ? scan.upLine !== -1 && scan.downLine === -1 : meaning.intended === DOWN_MARKER && scan.downLine !== -1);
    if (!heading) {
      if (meaning.intended === UP_MARKER) scan.upLookalikeLine = lineNumber;
      const message = `${JSON.stringify(comment.text.trim())} looks like a stepwise marker but is not one (${meaning.reason}), so it would be read as a plain comment; write it exactly as "${meaning.intended}"`;
      report("SQL_MALFORMED_MARKER", lineNumber, comment.column, message);
    }
  }
  if (meaning.kind !== "description") return true;
  if (scan.upLine === -1 && scan.misplacedDownLine === -1 && scan.description === null) {
    scan.description = meaning.value;
    return false;
  }
  // Anywhere else it would be dropped without a word.
  const message =
    scan.description !== null && scan.upLine === -1
      ? `a second "-- description:" line; keep one, above "${UP_MARKER}"`
      : `"-- description:" is only read above "${UP_MARKER}"; move this line to the top of the file`;
  report("SQL_MISPLACED_DESCRIPTION", lineNumber, comment.column, message);
  return true;
}

/** Reports a section without SQL that does not say why (unless it is an unedited template, reported as such), and an empty marker beside SQL. */
function reportEmptySections(scan: SectionScan, isEmpty: Record<Section, boolean>, placeholders: Record<Section, boolean>, report: Report): void {
  if (isEmpty.up && !scan.emptyDeclared.has("up") && !placeholders.up) {
    const message = `the up section has no SQL; write the change below "${UP_MARKER}", or, if this migration deliberately does nothing, say why on a line "${EMPTY_MARKER} <reason>"`;
    report("SQL_EMPTY_UP", scan.upLine, 1, message);
  }
  if (isEmpty.down && !scan.emptyDeclared.has("down") && !placeholders.down) {
    const message = `the down section has no SQL; write the undo below "${DOWN_MARKER}", delete that line to mark the migration irreversible, or, if undoing it deliberately does nothing, say why on a line "${EMPTY_MARKER} <reason>"`;
    report("SQL_EMPTY_DOWN", scan.downLine, 1, message);
  }
  for (const section of ["up", "down"] as const) {
    const marker = scan.empty[section];
    if (marker !== null && !isEmpty[section]) {
      report("SQL_EMPTY_WITH_SQL", marker.line, 1, `"${EMPTY_MARKER}" says the ${section} section is deliberately empty, but it holds SQL; remove this line or the SQL`);
    }
  }
}

/** Reports statements a section may not hold: its own transaction control, and (PostgreSQL) psql's client commands. */
function reportSectionStatements(tokens: readonly SqlToken[], scan: SectionScan, dialect: SqlDialect, report: Report): void {
  const { upLine, downLine } = scan;
  const up = tokens.filter((token) => token.line > upLine && (downLine === -1 || token.line < downLine));
  const down = tokens.filter((token) => downLine !== -1 && token.line > downLine);
  for (const section of [up, down]) {
    const problems = findTransactionProblems(section, scan, dialect);
    if (dialect === "postgres") problems.push(...findClientCommandProblems(section));
    for (const problem of problems) report(problem.code, problem.line, problem.column, problem.message);
  }
}

/** Reports every comment that still holds `create`'s {@link TEMPLATE_PLACEHOLDER} (a string holding it is data), and says which sections hold one. */
function reportTemplatePlaceholders(tokens: readonly SqlToken[], upLine: number, downLine: number, report: Report): Record<Section, boolean> {
  const found = { up: false, down: false };
  for (const token of tokens) {
    if ((token.kind !== "line-comment" && token.kind !== "block-comment") || !token.text.includes(TEMPLATE_PLACEHOLDER)) continue;
    const section = upLine !== -1 && token.line > upLine ? (downLine !== -1 && token.line > downLine ? "down" : "up") : null;
    if (section !== null) found[section] = true;
    const fix =
      section === "down"
        ? `write the migration's undo SQL here, below "${DOWN_MARKER}" (or delete the down section to make the migration irreversible), then delete this comment`
        : section === "up"
          ? `write the migration's SQL here, below "${UP_MARKER}", then delete this comment`
          : "write the migration's SQL in its sections, then delete this comment";
    report("TEMPLATE_UNEDITED", token.line, token.column, `this is still the placeholder "stepwise create" wrote (${TEMPLATE_PLACEHOLDER}); ${fix}`);
  }
  return found;
}

/** Whether a section runs nothing: no SQL but comments, whitespace and `;` (an empty statement both engines skip). */
function holdsNoStatement(sql: string, dialect: SqlDialect): boolean {
  return canonicalizeSql(sql, dialect).replace(/[\s;]/g, "") === "";
}

/** What an unclosed token is, and what closes it. */
function describeUnclosed(token: SqlToken): [what: string, close: string] {
  if (token.kind === "block-comment") return ["block comment", "*/"];
  if (token.kind === "quoted-identifier") {
    const quote = token.text.replace(/^[uU]&/, "")[0]!;
    return ["quoted identifier", quote === "[" ? "]" : quote];
  }
  const dollar = /^\$[^$]*\$/.exec(token.text);
  return dollar ? ["dollar-quoted string", dollar[0]] : ["string", "'"];
}

/** SQL above the up marker never runs; each line holding some is reported once. */
function reportSqlOutsideSections(tokens: readonly SqlToken[], upLine: number, misplacedDownLine: number, report: Report): void {
  let reported = 0;
  for (const token of tokens) {
    if (token.kind === "whitespace" || token.kind === "line-comment" || token.kind === "block-comment") continue;
    if ((upLine !== -1 && token.line >= upLine) || (misplacedDownLine !== -1 && token.line > misplacedDownLine)) break;
    if (token.line === reported) continue;
    reported = token.line;
    report("SQL_OUTSIDE_SECTION", token.line, token.column, `SQL before the "${UP_MARKER}" marker would never run; move it below the marker`);
  }
}

/** The flags on the up marker line; every unknown, repeated or contradicting one reported. */
function parseFlags(rest: string, restColumn: number, lineNumber: number, report: Report): { transaction: boolean; disableForeignKeys: boolean } {
  const seen = new Map<string, string>();
  for (const match of rest.matchAll(/\S+/g)) {
    const flag = match[0];
    const column = restColumn + match.index;
    const earlier = seen.get(flag.split(":")[0]!);
    if (!(KNOWN_FLAGS as readonly string[]).includes(flag)) {
      const suggestion = suggestFlag(flag);
      const hint = suggestion ? `did you mean "${suggestion}"? ` : "";
      report("SQL_UNKNOWN_FLAG", lineNumber, column, `unknown flag "${flag}"; ${hint}flags are written exactly, in lowercase: "transaction:false" and "foreign_keys:off"`);
    } else if (earlier === flag) {
      report("SQL_DUPLICATE_FLAG", lineNumber, column, `"${flag}" is given twice; remove this one`);
    } else if (earlier !== undefined) {
      report("SQL_CONFLICTING_FLAGS", lineNumber, column, `"${flag}" contradicts "${earlier}" earlier on this line; keep only the one you mean`);
    } else {
      seen.set(flag.split(":")[0]!, flag);
    }
  }
  return { transaction: seen.get("transaction") !== "transaction:false", disableForeignKeys: seen.has("foreign_keys") };
}

/** How many of `lines`, from the first, {@link trimBlankLines} drops. */
function leadingBlankLines(lines: readonly string[]): number {
  let start = 0;
  while (start < lines.length && /^[ \t\f\r]*$/.test(lines[start]!)) start++;
  return start;
}

/** The lines joined without blank ones at either end; only lines SQLite would skip are blank (a no-break space is an identifier to it). */
function trimBlankLines(lines: string[]): string {
  const start = leadingBlankLines(lines);
  let end = lines.length;
  while (end > start && /^[ \t\f\r]*$/.test(lines[end - 1]!)) end--;
  return lines.slice(start, end).join("\n");
}

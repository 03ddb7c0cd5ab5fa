/** Parses a SQL migration file into its sections, for codegen; in `src/` because the checksum is computed from what it returns. */
import type { SqlDialect } from "./sql-dialect.js";
import { checksumSqlMigration } from "./checksum.js";
import { classifyComment, DOWN_MARKER, EMPTY_MARKER, findHiddenMarkers, KNOWN_FLAGS, looksLikeMarker, suggestFlag, TEMPLATE_PLACEHOLDER, UP_MARKER } from "./sql-markers.js";
import { blankCopyRows, reportStatementProblems } from "./sql-statement-checks.js";
import { findNulByte } from "./source-text.js";
import { significantTokens } from "./sqlite-tokens.js";
import { tokenizeSql, type SqlToken } from "./postgres-tokens.js";

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
  /** The up section holds no SQL (only comments, whitespace or `;`): almost always a migration not written yet. Fix: Write the change below `-- migrate:up`, or, if the migration deliberately does nothing, say why on a line `-- migrate:empty <reason>`. */
  | "SQL_EMPTY_UP"
  /** The down section holds no SQL. Fix: Write the undo below `-- migrate:down`, delete that line to mark the migration irreversible, or say why undoing it does nothing with `-- migrate:empty <reason>`. */
  | "SQL_EMPTY_DOWN"
  /** SQL above the `-- migrate:up` marker, or on a marker's own line after a carriage return (PostgreSQL ends the marker's comment there), which would never run. Fix: Move it below the marker,
   * on a line of its own. */
  | "SQL_OUTSIDE_SECTION"
  /** A `-- migrate:<word>` comment whose word is not a marker. Fix: The markers are `-- migrate:up`, `-- migrate:down` and `-- migrate:empty <reason>`; fix the spelling. */
  | "SQL_UNKNOWN_MARKER"
  /** A flag on the up marker line that is not one of the two. Fix: Write the flags exactly, in lowercase: `transaction:false`, `foreign_keys:off`. */
  | "SQL_UNKNOWN_FLAG"
  /** A flag on the `-- migrate:down` line; flags apply to both directions and belong on the up line. Fix: Move it to the `-- migrate:up` line. */
  | "SQL_FLAG_ON_DOWN"
  /** A comment that looks like a marker but is not exact (`-- Migrate:down`, `--migrate:down`, `-- +goose Down`, the marker in a block comment). Read as a plain comment it would run the down section as part of up. Fix: Write it exactly as the marker it means, in lowercase, as a `--` comment on a line of its own. */
  | "SQL_MALFORMED_MARKER"
  /** A `-- description:` line below `-- migrate:up`, or a second one; it would be dropped without a word. Fix: Keep one `-- description:` line, above `-- migrate:up`. */
  | "SQL_MISPLACED_DESCRIPTION"
  /** A marker where it is not read as one, so the SQL below it would stay in the section above: after SQL on the same line, in a one-line block comment, or inside a comment after any other text on
   * its line (a U+2028 LINE SEPARATOR, U+2029, U+0085 or form feed an editor may draw as a line break, or words or tabs pushing it off-screen). Fix: Write the marker at the start of a line of its own, or reword the comment. */
  | "SQL_MISPLACED_MARKER"
  /** The same flag twice on the marker line. Fix: Remove one. */
  | "SQL_DUPLICATE_FLAG"
  /** Two flags on the marker line that contradict each other. Fix: Keep only the one you mean. */
  | "SQL_CONFLICTING_FLAGS"
  /** A string, quoted name, block comment or dollar-quoted body that is never closed, so everything after it (markers included) is part of it. Fix: Close it. */
  | "SQL_UNTERMINATED"
  /** A line break after a `--` comment is a lone carriage return (CR, as classic Mac OS saved text), which an editor shows as a line break but SQLite's comment (and a stepwise marker) runs on
   * through: the SQL after it on the shown line would never run (a whole file of them is one line). Fix: Save the file with LF (or CRLF) line breaks. */
  | "SQL_CR_LINE_BREAKS"
  /** A raw NUL byte in a SQL migration: SQLite stops reading the statement there (PostgreSQL refuses it), so the SQL after it would never run. Fix: Delete it; in SQLite, write it in a string as `char(0)`. */
  | "SQL_NUL_BYTE"
  /** A transactional migration holds a statement that controls the transaction stepwise runs it in (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`; on PostgreSQL also `START TRANSACTION`, `ABORT`, `PREPARE TRANSACTION`), so a later failure could no longer be rolled back; for D1 (`"target": "d1"`), which runs each migration as one batch, any migration that holds one. Fix: Remove it, or add `transaction:false` to the `-- migrate:up` line if the migration must manage transactions itself (not on D1, which refuses transaction control in any migration). */
  | "SQL_TRANSACTION_CONTROL"
  /** A transactional migration holds a statement the database refuses inside a transaction: `VACUUM`, a `PRAGMA journal_mode` switch, a change of `PRAGMA synchronous` or `temp_store`, and `PRAGMA wal_checkpoint` on SQLite; on PostgreSQL also `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `CREATE DATABASE` and the rest listed in docs/migrations.md. Fix: Add `transaction:false` to the `-- migrate:up` line (in TypeScript, `transaction: false`), and keep that migration to the statement that needs it. */
  | "SQL_NEEDS_NO_TRANSACTION"
  /** A migration sets `PRAGMA foreign_keys`, which does nothing inside a transaction. Fix: Remove the pragma and put `foreign_keys:off` on the `-- migrate:up` line (`disableForeignKeys: true` in TypeScript): stepwise turns enforcement off around the migration and checks the keys before it commits. */
  | "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION"
  /** `foreign_keys:off` (`disableForeignKeys`) together with `transaction:false`: switching foreign keys off needs a transaction, so a violation can be rolled back. Fix: Remove `transaction:false` (or the foreign-key flag). */
  | "FOREIGN_KEYS_WITHOUT_TRANSACTION"
  /** `foreign_keys:off` (`disableForeignKeys`) in a PostgreSQL migration: it is SQLite's `PRAGMA foreign_keys`, which PostgreSQL does not have. Fix: Remove it; declare the constraints `DEFERRABLE` and run `SET CONSTRAINTS ALL DEFERRED` in the migration if rows must break them until it commits. */
  | "FOREIGN_KEYS_FLAG_UNSUPPORTED"
  /** A PostgreSQL migration holds what only psql can run, as `pg_dump` output does: a meta-command such as `\connect`, or `COPY … FROM STDIN` / `TO STDOUT`. The server cannot run it. Fix: Remove the meta-commands (and the data lines of a `COPY` they end); write the rows as `INSERT … VALUES`, or move them into a TypeScript migration. */
  | "SQL_PSQL_ONLY"
  /** `-- migrate:empty` above `-- migrate:up`: it marks a section as deliberately empty, so it goes inside one. Fix: Move it below `-- migrate:up` (or `-- migrate:down`). */
  | "SQL_MISPLACED_EMPTY"
  /** `-- migrate:empty` without a reason. Fix: Say why the section is empty on the same line, such as `-- migrate:empty SQLite integers are already 64-bit`. */
  | "SQL_EMPTY_REASON_MISSING"
  /** A second `-- migrate:empty` in one section. Fix: Keep one. */
  | "SQL_DUPLICATE_EMPTY"
  /** `-- migrate:empty` in a section that holds SQL. Fix: Remove the marker or the SQL. */
  | "SQL_EMPTY_WITH_SQL"
  /** A migration still holds the `stepwise:todo` placeholder `stepwise create` wrote, so it is not written yet and would be applied and recorded as it is. Fix: Write the migration in place of the `stepwise:todo` comments, then run `stepwise gen` again. */
  | "TEMPLATE_UNEDITED";

/** How {@link parseSqlMigrationSource} reads a file: `dialect`, how the SQL is tokenised, checked and hashed (default `sqlite`). */
export interface SqlSourceOptions {
  readonly dialect?: SqlDialect;
  /** The storage runs each migration as one batch and refuses transaction control in any (D1): refused in a `transaction:false` migration too. */
  readonly batchOnly?: boolean;
}

/** A well-formed SQL migration. */
export interface ParsedSqlMigration {
  readonly description: string | null;
  readonly upSql: string;
  readonly downSql: string | null;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  readonly checksum: string;
  /** Why each section is deliberately empty (its `-- migrate:empty` line), or `null`. */
  readonly emptyUpReason: string | null;
  readonly emptyDownReason: string | null;
  /** The file's line (1-based) where each section's SQL begins; `null` without a down section. */
  readonly upSqlLine: number;
  readonly downSqlLine: number | null;
}

/** Either the parsed migration or every problem found; never both. */
export type SqlSourceResult = { readonly ok: true; readonly migration: ParsedSqlMigration } | { readonly ok: false; readonly problems: readonly SqlSourceProblem[] };

const NUL_BYTE_WHY = {
  postgres: "PostgreSQL refuses it in a query, so this migration could never run; delete it",
  sqlite: "SQLite stops reading the statement here, so the SQL after it would never run; delete it, or write it in a string as char(0)",
};

type Report = (code: SqlSourceProblemCode, line: number, column: number, message: string) => void;
type Section = "up" | "down";

/** Splits a SQL migration into its sections and validates them. A marker is a `--` comment starting its line outside strings and block comments; look-alikes are refused. */
export function parseSqlMigrationSource(source: string, options: SqlSourceOptions = {}): SqlSourceResult {
  const dialect = options.dialect ?? "sqlite";
  const text = source.replace(/^\uFEFF/, "");
  const scan = checkSqlMigration(text, dialect, options);
  if ("problems" in scan) return { ok: false, problems: scan.problems };
  const { upLine, downLine, transaction, disableForeignKeys, empty } = scan;
  const lines = text.split(/\r?\n/);
  const up = lines.slice(upLine, downLine === -1 ? undefined : downLine - 1);
  const down = downLine === -1 ? null : lines.slice(downLine);
  const upSql = trimBlankLines(up);
  const downSql = down && trimBlankLines(down);
  const checksum = checksumSqlMigration({ upSql, downSql, transaction, disableForeignKeys, emptyUp: empty.up !== null, emptyDown: empty.down !== null, dialect });
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
      upSqlLine: upLine + 1 + leadingBlankLines(up),
      downSqlLine: down && downLine + 1 + leadingBlankLines(down),
    },
  };
}

/**
 * The markers, flags and description of a SQL migration's text, or every problem found. Apart from {@link parseSqlMigrationSource} so its tokens (about 90 bytes each, a few a word) are garbage
 * before the checksum tokenizes the sections again: a seed file of tens of MB held both at once ran out of memory.
 */
function checkSqlMigration(text: string, dialect: SqlDialect, options: SqlSourceOptions): SectionScan | { problems: SqlSourceProblem[] } {
  const tokens = tokenizeSql(dialect === "postgres" ? blankCopyRows(text) : text, dialect);
  const problems: SqlSourceProblem[] = [];
  const report: Report = (code, line, column, message) => void problems.push({ code, line, column, message });

  // An editor shows a lone CR as a line break, but SQLite's `--` comment runs on through it (a marker's too): what follows on the shown line is comment, never run. A file with no
  // other line break is one line to every dialect, read word by word as flags. Every other check would only describe that, so this is the one problem.
  const swallowing = tokens.filter((token) => token.kind === "line-comment" && /\r(?!\n)/.test(token.text));
  if (swallowing.length > 0 || (text.includes("\r") && !text.includes("\n"))) {
    const first = swallowing[0] ?? { line: 1, column: 1, text };
    const message =
      "its line breaks are lone carriage returns (CR, as classic Mac OS saved text), not LF or CRLF: SQL reads the text after one as more of the line before it (a -- comment's included), so it would never run; save the file with LF line breaks";
    return { problems: [{ code: "SQL_CR_LINE_BREAKS", line: first.line, column: first.column + first.text.search(/\r(?!\n)/), message }] };
  }
  const nul = findNulByte(text);
  if (nul !== null) report("SQL_NUL_BYTE", nul.line, nul.column, `a NUL byte: ${NUL_BYTE_WHY[dialect]}`);
  const scan = scanComments(tokens, dialect, report);
  const { upLine, downLine } = scan;
  // A misspelled up marker already says what is wrong; these would only repeat it.
  if (!scan.upLookalike) {
    reportSqlOutsideSections(tokens, upLine, scan.misplacedDownLine, report);
    reportSqlOnMarkerLines(tokens, [upLine, downLine], report);
    if (upLine === -1) report("SQL_MISSING_UP", 1, 1, `no "${UP_MARKER}" marker; start the migration's SQL with a line "${UP_MARKER}"`);
  }
  const sectionOf = (line: number): Section | null => (upLine === -1 || line <= upLine ? null : downLine !== -1 && line > downLine ? "down" : "up");
  const sections = { up: tokens.filter((token) => sectionOf(token.line) === "up"), down: tokens.filter((token) => sectionOf(token.line) === "down") };
  const holdsNoSql = (section: Section) => significantTokens(sections[section]).every((token) => /^[\s;]*$/.test(token.text));
  const isEmpty = { up: upLine !== -1 && holdsNoSql("up"), down: downLine !== -1 && holdsNoSql("down") };
  reportEmptySections(scan, isEmpty, reportTemplatePlaceholders(tokens, sectionOf, report), report);
  if (upLine !== -1 && problems.length === 0) for (const section of [sections.up, sections.down]) reportStatementProblems(section, { ...scan, batchOnly: options.batchOnly === true }, dialect, report);
  if (problems.length > 0) return { problems: withDialectHint(problems, dialect, tokens).sort((a, b) => a.line - b.line || a.column - b.column) };
  return scan;
}

/**
 * On sqlite, a `$$` or `$tag$` quotes nothing, so a PostgreSQL function body is read as SQL: its `END;` as transaction control, a quote or marker in it as the file's. Such a file's problems say
 * that the project may be PostgreSQL's without `"dialect": "postgres"`.
 */
function withDialectHint(problems: SqlSourceProblem[], dialect: SqlDialect, tokens: readonly SqlToken[]): SqlSourceProblem[] {
  // A tag is an identifier without `$`, as PostgreSQL's lexer reads it: `$f1$` is one, `$1` a parameter.
  const tagOf = (text: string) => /^\$(?:[A-Za-z_]\w*)?\$/.exec(text)?.[0];
  const dollar = dialect === "sqlite" ? tokens.find((token) => token.kind === "word" && tagOf(token.text) !== undefined) : undefined;
  if (dollar === undefined) return problems;
  const hint = ` (line ${dollar.line} quotes with ${tagOf(dollar.text)!} as PostgreSQL does, which SQLite does not; if this project uses PostgreSQL, set "dialect": "postgres" in the stepwise config)`;
  return problems.map((problem) => ({ ...problem, message: problem.message + hint }));
}

type SectionScan = ReturnType<typeof newScan>;

function newScan() {
  return {
    description: null as string | null,
    upLine: -1,
    downLine: -1,
    /** A down marker above the up marker: the lines after it are neither outside a section nor in the up section. */
    misplacedDownLine: -1,
    upLookalike: false,
    transaction: true,
    disableForeignKeys: false,
    empty: { up: null, down: null } as Record<Section, { line: number; reason: string } | null>,
    /** Sections with an empty marker, valid or not: reporting them empty would repeat that marker's problem. */
    emptyDeclared: new Set<Section>(),
  };
}

/** Reads markers, flags and the description from the `--` comments that start their line; reports look-alikes elsewhere, and what is never closed. */
function scanComments(tokens: readonly SqlToken[], dialect: SqlDialect, report: Report): SectionScan {
  const scan = newScan();
  tokens.forEach((token, index) => {
    if ((token.kind === "line-comment" || token.kind === "block-comment") && !token.unterminated && reportHiddenMarkers(token, report)) scan.upLookalike = true;
    const previous = tokens[index - 1];
    const startsLine = previous === undefined || (previous.kind === "whitespace" && (previous.offset === 0 || previous.text.includes("\n")));
    if (token.kind === "line-comment" && startsLine) {
      readComment(scan, token, dialect, report);
    } else if ((token.kind === "line-comment" || (token.kind === "block-comment" && !token.text.includes("\n"))) && !token.unterminated) {
      const intended = looksLikeMarker(token.text);
      if (intended) {
        const message = `this comment looks like the marker "${intended}" but is not read as one: a marker is a "--" comment on a line of its own; write "${intended}" on its own line`;
        report("SQL_MISPLACED_MARKER", token.line, token.column, message);
      }
    } else if (token.unterminated && (dialect === "postgres" || token.kind !== "block-comment" || /migrat/i.test(token.text))) {
      // SQLite runs what came before an unclosed block comment: harmless unless it swallows a marker.
      const [what, close] = describeUnclosed(token);
      report("SQL_UNTERMINATED", token.line, token.column, `this ${what} is never closed, so everything after it (markers included) is part of it; close it with ${close}`);
    }
  });
  return scan;
}

/** Reports each marker inside a comment after other text on its line, which the comment swallows; says whether one of them is the up marker, whose absence that already explains. */
function reportHiddenMarkers(comment: SqlToken, report: Report): boolean {
  // scanComments reads the head of a line comment and of a one-line block comment.
  const hidden = findHiddenMarkers(comment.text, comment.kind === "line-comment" || !comment.text.includes("\n"));
  for (const { index, marker, after } of hidden) {
    const lineStart = comment.text.lastIndexOf("\n", index - 1);
    const line = comment.line + (comment.text.slice(0, index).match(/\n/g)?.length ?? 0);
    const column = lineStart === -1 ? comment.column + index : index - lineStart;
    const where = after === null ? "other text on its line" : `${after}, where an editor may show a line break but the comment goes on`;
    const effect = marker === DOWN_MARKER ? "the SQL below it would run as part of up" : "the SQL below it would not be read as the up section";
    const message = `"${marker.slice(3)}" follows ${where}, so it is not the marker "${marker}" and ${effect}; write "${marker}" at the start of a line of its own, or reword the comment`;
    report("SQL_MISPLACED_MARKER", line, column, message);
  }
  return hidden.some(({ marker }) => marker === UP_MARKER);
}

/** A comment on a line of its own: a marker, an empty marker, the description, or a look-alike of one. */
function readComment(scan: SectionScan, comment: SqlToken, dialect: SqlDialect, report: Report): void {
  const meaning = classifyComment(comment.text);
  const { line, column } = comment;
  if (meaning.kind === "marker") return readMarker(scan, meaning.direction, meaning.rest, comment, dialect, report);
  if (meaning.kind === "empty") return readEmptyMarker(scan, meaning.reason, comment, report);
  if (meaning.kind === "unknown-directive") {
    return report("SQL_UNKNOWN_MARKER", line, column + 3, `unknown marker "migrate:${meaning.directive}"; the markers are "${UP_MARKER}" and "${DOWN_MARKER}"`);
  }
  if (meaning.kind === "look-alike") {
    // A bare direction word naming the section already under way is a heading.
    const heading = meaning.bareDirection === true && (meaning.intended === UP_MARKER ? scan.upLine !== -1 && scan.downLine === -1 : meaning.intended === DOWN_MARKER && scan.downLine !== -1);
    if (heading) return;
    if (meaning.intended === UP_MARKER) scan.upLookalike = true;
    const message = `${JSON.stringify(comment.text.trim())} looks like a stepwise marker but is not one (${meaning.reason}), so it would be read as a plain comment; write it exactly as "${meaning.intended}"`;
    return report("SQL_MALFORMED_MARKER", line, column, message);
  }
  if (meaning.kind !== "description") return;
  if (scan.upLine === -1 && scan.misplacedDownLine === -1 && scan.description === null) {
    scan.description = meaning.value;
    return;
  }
  const message =
    scan.description !== null && scan.upLine === -1
      ? `a second "-- description:" line; keep one, above "${UP_MARKER}"`
      : `"-- description:" is only read above "${UP_MARKER}"; move this line to the top of the file`;
  report("SQL_MISPLACED_DESCRIPTION", line, column, message);
}

/** An up or down marker line: where its section starts, and the up line's flags. */
function readMarker(scan: SectionScan, direction: Section, flags: string, comment: SqlToken, dialect: SqlDialect, report: Report): void {
  const { line } = comment;
  const column = comment.column + 3;
  if (direction === "down") {
    if (scan.upLine === -1) {
      report("SQL_DOWN_BEFORE_UP", line, column, `"${DOWN_MARKER}" comes before "${UP_MARKER}"; put the up section first`);
      if (scan.misplacedDownLine === -1) scan.misplacedDownLine = line;
    } else if (scan.downLine !== -1) {
      report("SQL_DUPLICATE_DOWN", line, column, `a second "${DOWN_MARKER}" marker (the first is on line ${scan.downLine}); keep at most one`);
    } else {
      scan.downLine = line;
      if (flags.trim() !== "") report("SQL_FLAG_ON_DOWN", line, column, `flags belong on the "${UP_MARKER}" line, where they apply to both directions; remove "${flags.trim()}" here`);
    }
    return;
  }
  if (scan.upLine !== -1) return report("SQL_DUPLICATE_UP", line, column, `a second "${UP_MARKER}" marker (the first is on line ${scan.upLine}); keep exactly one`);
  scan.upLine = line;
  Object.assign(scan, parseFlags(flags, comment.column + comment.text.length - flags.length, line, report));
  if (!scan.disableForeignKeys) return;
  const flagColumn = comment.column + comment.text.indexOf("foreign_keys:off");
  const unsupported = `"foreign_keys:off" is SQLite's PRAGMA foreign_keys, which PostgreSQL does not have; remove it, and declare the constraints DEFERRABLE and run SET CONSTRAINTS ALL DEFERRED in the migration if rows must break them until it commits`;
  if (dialect === "postgres") report("FOREIGN_KEYS_FLAG_UNSUPPORTED", line, flagColumn, unsupported);
  const noTransaction = `"foreign_keys:off" needs a transaction, so a foreign key violation can be rolled back; remove "transaction:false"`;
  if (!scan.transaction) report("FOREIGN_KEYS_WITHOUT_TRANSACTION", line, flagColumn, noTransaction);
}

/** A `-- migrate:empty <reason>` line: the section it sits in is deliberately empty. */
function readEmptyMarker(scan: SectionScan, reason: string, { line, column }: SqlToken, report: Report): void {
  if (scan.upLine === -1) {
    return report("SQL_MISPLACED_EMPTY", line, column, `"${EMPTY_MARKER}" marks a section as deliberately empty, so it goes inside one: move it below "${UP_MARKER}" (or "${DOWN_MARKER}")`);
  }
  const section = scan.downLine === -1 ? "up" : "down";
  scan.emptyDeclared.add(section);
  const earlier = scan.empty[section];
  if (reason === "") {
    report("SQL_EMPTY_REASON_MISSING", line, column, `say why the ${section} section is empty on the same line, such as "${EMPTY_MARKER} SQLite integers are already 64-bit"`);
  } else if (earlier !== null) {
    report("SQL_DUPLICATE_EMPTY", line, column, `a second "${EMPTY_MARKER}" in the ${section} section (the first is on line ${earlier.line}); keep one`);
  } else {
    scan.empty[section] = { line, reason };
  }
}

/** Reports a section without SQL that does not say why (unless it is an unedited template, reported as such), and an empty marker beside SQL. */
function reportEmptySections(scan: SectionScan, isEmpty: Record<Section, boolean>, placeholders: Record<Section, boolean>, report: Report): void {
  for (const section of ["up", "down"] as const) {
    const marker = scan.empty[section];
    if (isEmpty[section] && !scan.emptyDeclared.has(section) && !placeholders[section]) {
      const write =
        section === "up"
          ? `write the change below "${UP_MARKER}", or, if this migration deliberately does nothing,`
          : `write the undo below "${DOWN_MARKER}", delete that line to mark the migration irreversible, or, if undoing it deliberately does nothing,`;
      const message = `the ${section} section has no SQL; ${write} say why on a line "${EMPTY_MARKER} <reason>"`;
      report(section === "up" ? "SQL_EMPTY_UP" : "SQL_EMPTY_DOWN", section === "up" ? scan.upLine : scan.downLine, 1, message);
    } else if (marker !== null && !isEmpty[section]) {
      report("SQL_EMPTY_WITH_SQL", marker.line, 1, `"${EMPTY_MARKER}" says the ${section} section is deliberately empty, but it holds SQL; remove this line or the SQL`);
    }
  }
}

const PLACEHOLDER_FIX = {
  down: `write the migration's undo SQL here, below "${DOWN_MARKER}" (or delete the down section to make the migration irreversible)`,
  up: `write the migration's SQL here, below "${UP_MARKER}"`,
  outside: "write the migration's SQL in its sections",
};

/** Reports every comment that still holds `create`'s {@link TEMPLATE_PLACEHOLDER} (a string holding it is data), and says which sections hold one. */
function reportTemplatePlaceholders(tokens: readonly SqlToken[], sectionOf: (line: number) => Section | null, report: Report): Record<Section, boolean> {
  const found = { up: false, down: false };
  for (const token of tokens) {
    if ((token.kind !== "line-comment" && token.kind !== "block-comment") || !token.text.includes(TEMPLATE_PLACEHOLDER)) continue;
    const section = sectionOf(token.line);
    if (section !== null) found[section] = true;
    const fix = PLACEHOLDER_FIX[section ?? "outside"];
    report("TEMPLATE_UNEDITED", token.line, token.column, `this is still the placeholder "stepwise create" wrote (${TEMPLATE_PLACEHOLDER}); ${fix}, then delete this comment`);
  }
  return found;
}

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
  for (const token of significantTokens(tokens)) {
    if ((upLine !== -1 && token.line >= upLine) || (misplacedDownLine !== -1 && token.line > misplacedDownLine)) break;
    if (token.line === reported) continue;
    reported = token.line;
    report("SQL_OUTSIDE_SECTION", token.line, token.column, `SQL before the "${UP_MARKER}" marker would never run; move it below the marker`);
  }
}

/**
 * SQL on a marker's line: a lone carriage return ends PostgreSQL's `--` comment (and an editor shows a line break there), so the database would read it, but the sections are
 * cut at line feeds and it would belong to neither.
 */
function reportSqlOnMarkerLines(tokens: readonly SqlToken[], markerLines: readonly number[], report: Report): void {
  const reported = new Set<number>();
  for (const token of significantTokens(tokens)) {
    if (!markerLines.includes(token.line) || reported.has(token.line)) continue;
    reported.add(token.line);
    report("SQL_OUTSIDE_SECTION", token.line, token.column, `SQL on the marker's line, after a carriage return, would never run; put it on a line of its own below the marker`);
  }
}

/** The flags on the up marker line; every unknown, repeated or contradicting one reported. */
function parseFlags(rest: string, restColumn: number, lineNumber: number, report: Report): { transaction: boolean; disableForeignKeys: boolean } {
  const seen = new Map<string, string>();
  for (const match of rest.matchAll(/\S+/g)) {
    const flag = match[0];
    const column = restColumn + match.index;
    const earlier = seen.get(flag.split(":")[0]!);
    if (!KNOWN_FLAGS.includes(flag)) {
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

const isBlank = (line: string) => /^[ \t\f\r]*$/.test(line);

/** How many of `lines`, from the first, are blank (a no-break space is an identifier to SQLite). */
function leadingBlankLines(lines: readonly string[]): number {
  const start = lines.findIndex((line) => !isBlank(line));
  return start === -1 ? lines.length : start;
}

function trimBlankLines(lines: readonly string[]): string {
  const start = leadingBlankLines(lines);
  let end = lines.length;
  while (end > start && isBlank(lines[end - 1]!)) end--;
  return lines.slice(start, end).join("\n");
}

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
import { canonicalizeSql, checksumSqlMigration } from "./checksum.js";

/** A problem found in a SQL migration, positioned for `file:line:col` output (1-based). */
export interface SqlSourceProblem {
  readonly code: SqlSourceProblemCode;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** Stable codes for what can be wrong in a SQL migration. */
export type SqlSourceProblemCode =
  | "SQL_MISSING_UP"
  | "SQL_DUPLICATE_UP"
  | "SQL_DUPLICATE_DOWN"
  | "SQL_DOWN_BEFORE_UP"
  | "SQL_EMPTY_UP"
  | "SQL_EMPTY_DOWN"
  | "SQL_OUTSIDE_SECTION"
  | "SQL_UNKNOWN_MARKER"
  | "SQL_UNKNOWN_FLAG"
  | "SQL_FLAG_ON_DOWN"
  | "FOREIGN_KEYS_PRAGMA_IN_TRANSACTION"
  | "FOREIGN_KEYS_WITHOUT_TRANSACTION";

/** A well-formed SQL migration. */
export interface ParsedSqlMigration {
  readonly description: string | null;
  readonly upSql: string;
  readonly downSql: string | null;
  readonly transaction: boolean;
  readonly disableForeignKeys: boolean;
  readonly checksum: string;
}

/** Either the parsed migration or every problem found; never both. */
export type SqlSourceResult =
  | { readonly ok: true; readonly migration: ParsedSqlMigration }
  | { readonly ok: false; readonly problems: readonly SqlSourceProblem[] };

const MARKER = /^\s*--\s*migrate:(\S*)(.*)$/;
const DESCRIPTION = /^\s*--\s*description:\s*(.*?)\s*$/;
const FOREIGN_KEYS_PRAGMA = /\bPRAGMA\s+(?:\w+\.)?foreign_keys\b/i;

/**
 * Splits a SQL migration into its up and down sections and validates the markers.
 *
 * Rules: exactly one `-- migrate:up` line, at most one `-- migrate:down` line after it, SQL in the
 * up section, and nothing but comments before the up marker. Flags go on the up marker line:
 * `transaction:false` runs it outside a transaction, `foreign_keys:off` runs it with foreign key
 * enforcement off and checks the keys before committing.
 */
export function parseSqlMigrationSource(source: string): SqlSourceResult {
  const lines = source.replace(/^\uFEFF/, "").split(/\r?\n/);
  const problems: SqlSourceProblem[] = [];
  const report = (code: SqlSourceProblemCode, line: number, column: number, message: string) => {
    problems.push({ code, line, column, message });
  };

  let description: string | null = null;
  let upLine = -1;
  let downLine = -1;
  let transaction = true;
  let disableForeignKeys = false;
  // A down section above the up marker is reported once; its lines are skipped rather than also
  // being reported as SQL outside a section, or counted as the up section's SQL.
  let inMisplacedDown = false;
  const upLines: string[] = [];
  const downLines: string[] = [];

  lines.forEach((text, index) => {
    const lineNumber = index + 1;
    const marker = MARKER.exec(text);
    if (marker) {
      const directive = marker[1]!;
      const column = text.indexOf("migrate:") + 1;
      if (directive === "up") {
        if (upLine !== -1) {
          report("SQL_DUPLICATE_UP", lineNumber, column, `a second "-- migrate:up" marker (the first is on line ${upLine}); keep exactly one`);
          return;
        }
        upLine = lineNumber;
        inMisplacedDown = false;
        const flags = parseFlags(marker[2]!, text, lineNumber, report);
        transaction = flags.transaction;
        disableForeignKeys = flags.disableForeignKeys;
        if (disableForeignKeys && !transaction) {
          // The runtime refuses this registry (see findRegistryProblems), so gen must refuse the file.
          report("FOREIGN_KEYS_WITHOUT_TRANSACTION", lineNumber, text.indexOf("foreign_keys:off") + 1,
            `"foreign_keys:off" needs a transaction, so a foreign key violation can be rolled back; remove "transaction:false"`);
        }
      } else if (directive === "down") {
        if (upLine === -1) {
          report("SQL_DOWN_BEFORE_UP", lineNumber, column, `"-- migrate:down" comes before "-- migrate:up"; put the up section first`);
          inMisplacedDown = true;
          return;
        } else if (downLine !== -1) {
          report("SQL_DUPLICATE_DOWN", lineNumber, column, `a second "-- migrate:down" marker (the first is on line ${downLine}); keep at most one`);
          return;
        }
        downLine = lineNumber;
        if (marker[2]!.trim() !== "") {
          report("SQL_FLAG_ON_DOWN", lineNumber, column, `flags belong on the "-- migrate:up" line, where they apply to both directions; remove "${marker[2]!.trim()}" here`);
        }
      } else {
        report("SQL_UNKNOWN_MARKER", lineNumber, column, `unknown marker "migrate:${directive}"; the markers are "-- migrate:up" and "-- migrate:down"`);
      }
      return;
    }
    if (inMisplacedDown) return;
    if (downLine !== -1) {
      downLines.push(text);
    } else if (upLine !== -1) {
      upLines.push(text);
    } else {
      const describedAs = DESCRIPTION.exec(text);
      if (describedAs && description === null) {
        description = describedAs[1]!;
      } else if (canonicalizeSql(text) !== "") {
        const column = text.search(/\S/) + 1;
        report("SQL_OUTSIDE_SECTION", lineNumber, column, `SQL before the "-- migrate:up" marker would never run; move it below the marker`);
      }
    }
  });

  if (upLine === -1) {
    report("SQL_MISSING_UP", 1, 1, `no "-- migrate:up" marker; start the migration's SQL with a line "-- migrate:up"`);
  }
  const upSql = trimBlankLines(upLines);
  const downSql = downLine === -1 ? null : trimBlankLines(downLines);
  if (upLine !== -1 && canonicalizeSql(upSql) === "") {
    report("SQL_EMPTY_UP", upLine, 1, `the up section has no SQL; write the change below "-- migrate:up"`);
  }
  if (downSql !== null && canonicalizeSql(downSql) === "") {
    report("SQL_EMPTY_DOWN", downLine, 1, `the down section has no SQL; write the undo below "-- migrate:down", or delete that line to mark the migration irreversible`);
  }
  if (transaction && !disableForeignKeys && upLine !== -1) {
    const sections: Array<[string[], number]> = [[upLines, upLine], [downLines, downLine]];
    for (const [sectionLines, markerLine] of sections) {
      sectionLines.forEach((text, offset) => {
        const found = FOREIGN_KEYS_PRAGMA.exec(stripLineComment(text));
        if (found) {
          report("FOREIGN_KEYS_PRAGMA_IN_TRANSACTION", markerLine + 1 + offset, found.index + 1,
            `PRAGMA foreign_keys does nothing inside a transaction; remove it and add "foreign_keys:off" to the "-- migrate:up" line, which turns enforcement off around the migration and checks the keys before commit`);
        }
      });
    }
  }

  if (problems.length > 0) {
    return { ok: false, problems: problems.sort((a, b) => a.line - b.line || a.column - b.column) };
  }
  const checksum = checksumSqlMigration({ upSql, downSql, transaction, disableForeignKeys });
  return { ok: true, migration: { description, upSql, downSql, transaction, disableForeignKeys, checksum } };
}

function parseFlags(
  rest: string,
  line: string,
  lineNumber: number,
  report: (code: SqlSourceProblemCode, line: number, column: number, message: string) => void,
): { transaction: boolean; disableForeignKeys: boolean } {
  let transaction = true;
  let disableForeignKeys = false;
  const offset = line.length - rest.length;
  for (const match of rest.matchAll(/\S+/g)) {
    const flag = match[0];
    const column = offset + (match.index ?? 0) + 1;
    if (flag === "transaction:false") transaction = false;
    else if (flag === "transaction:true") transaction = true;
    else if (flag === "foreign_keys:off") disableForeignKeys = true;
    else {
      report("SQL_UNKNOWN_FLAG", lineNumber, column, `unknown flag "${flag}"; the flags are "transaction:false" and "foreign_keys:off"`);
    }
  }
  return { transaction, disableForeignKeys };
}

function stripLineComment(text: string): string {
  const index = text.indexOf("--");
  return index === -1 ? text : text.slice(0, index);
}

function trimBlankLines(lines: string[]): string {
  let start = 0;
  let end = lines.length;
  // Only lines SQLite would skip: a line holding a no-break space is an identifier to it, not blank.
  while (start < end && /^[ \t\f\r]*$/.test(lines[start]!)) start++;
  while (end > start && /^[ \t\f\r]*$/.test(lines[end - 1]!)) end--;
  return lines.slice(start, end).join("\n");
}

/**
 * Migrations whose SQL manages its own transaction, or holds what cannot run inside one: a tool that ran them without a transaction of its own (or under one their `COMMIT` ended) applied them as
 * written, so stepwise imports them with `transaction:false` rather than refusing what the tool ran.
 */
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { splitSqlStatements, tokenizeSql } from "../../src/shared/postgres-tokens.js";
import { findTransactionNeeds, type SourceFolder, type SourceSection } from "./source.js";

/**
 * Whether, on PostgreSQL, the first statement of `sql` that controls a transaction opens one (`BEGIN`, `START TRANSACTION`): inside the tool's transaction that `BEGIN` only warns and the file's
 * `COMMIT` ends the tool's, so the file's own transaction is what made it atomic. SQLite refuses a `BEGIN` inside a transaction, so there the tool never ran such a file in one.
 */
export function opensOwnTransaction(sql: string, dialect: SqlDialect): boolean {
  if (dialect !== "postgres") return false;
  for (const { tokens } of splitSqlStatements(tokenizeSql(sql, dialect), dialect)) {
    const words = tokens.slice(0, 2).map((token) => (token.kind === "word" ? token.text.toUpperCase() : ""));
    if (words[0] === "BEGIN" || (words[0] === "START" && words[1] === "TRANSACTION")) return true;
    if (/^(COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE)$/.test(words[0]!)) return false;
  }
  return false;
}

/** A direction of a migration as its tool ran it: its SQL, and whether the tool ran it inside a transaction (its own `BEGIN … COMMIT` counting as one). */
export interface DirectionRun {
  readonly section: SourceSection;
  readonly transaction: boolean;
  /** The file line of the tool's mark that took this direction out of a transaction, where it has one. */
  readonly markLine?: number;
  /** The file holding that mark when it is not the section's own (Flyway's `<script>.conf`). */
  readonly markFile?: string;
}

/** `DOWN_NEEDS_NO_TRANSACTION`: the problem code of a down that ran outside a transaction under an up that ran atomically in several statements. */
export const DOWN_NEEDS_NO_TRANSACTION = "DOWN_NEEDS_NO_TRANSACTION";

/**
 * Whether the imported migration runs in a transaction. stepwise's `transaction:false` covers both directions, so the up decides: an up the tool ran atomically stays atomic. A down that ran
 * outside a transaction under such an up is refused at its line (unless the up is one statement, atomic on its own), since taking the up out of its transaction for the down's sake could leave
 * half a schema where the tool left none. A down that ran in a transaction under an up that ran outside one loses its transaction, as the up's needs come first.
 */
export function settleTransaction(source: SourceFolder, up: DirectionRun, down: DirectionRun | null, dialect: SqlDialect, tool: string): boolean {
  if (!up.transaction || down === null || down.transaction) return up.transaction;
  const statements = countStatements(up.section.sql, dialect);
  if (statements <= 1) return false;
  const needs = findTransactionNeeds(down.section.sql, dialect);
  const at = down.markLine ?? (needs.line === null ? down.section.line : fileLineOf(down.section, needs.line));
  const why =
    down.markLine !== undefined ? "this mark runs the down outside a transaction" : needs.controls ? "this down manages its own transaction" : "this down holds what cannot run inside a transaction";
  source.report(
    down.markLine !== undefined ? (down.markFile ?? down.section.file) : down.section.file,
    at,
    `${why}, while ${tool} ran the up (${statements} statements) in one transaction; stepwise runs both directions alike, and running the up outside a transaction could leave half of it applied on a failure: make the down run inside one (remove its own BEGIN and COMMIT, the mark that takes it out of one, or its CONCURRENTLY), and import again`,
    { code: DOWN_NEEDS_NO_TRANSACTION },
  );
  return true;
}

/** The file line of 1-based `line` of a section's text, past the lines the reader dropped from it. */
export function fileLineOf(section: SourceSection, line: number): number {
  const within = line - 1;
  const resumed = section.breaks?.findLast((stretch) => stretch.at <= within);
  return resumed ? resumed.line + within - resumed.at : section.line + within;
}

/** How many statements `sql` holds (empty ones not counted). */
export function countStatements(sql: string, dialect: SqlDialect): number {
  return splitSqlStatements(tokenizeSql(sql, dialect), dialect).filter(({ tokens }) => tokens.some((token) => token.text !== ";")).length;
}

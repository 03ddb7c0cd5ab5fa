/**
 * Comments in another tool's SQL that stepwise would read as its own markers: the tool ran them as comments, stepwise would cut a section there or refuse the line as a near miss. Each is refused at
 * its line in the tool's file, with the fix, instead of as a problem of the stepwise file the import renders (whose lines and advice would point at a file not yet written).
 */
import { classifyComment, looksLikeMarker } from "../../src/shared/sql-markers.js";
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { tokenizeSql } from "../../src/shared/postgres-tokens.js";
import { fileLineOf } from "./own-transaction.js";
import type { SourceProblem, SourceSection } from "./source.js";

/** The line comments of `section` (strings and block comments skipped, as the tokenizer reads them) that stepwise reads as a marker, a flag or a near miss of one. */
export function findMarkerLookalikes(section: SourceSection, tool: string, dialect: SqlDialect): SourceProblem[] {
  const tokens = tokenizeSql(section.sql, dialect);
  return tokens.flatMap((token, index): SourceProblem[] => {
    if (token.kind !== "line-comment") return [];
    const text = token.text.replace(/\r?\n$/, "").replace(/\r$/, "");
    const before = tokens.slice(0, index).findLast((previous) => previous.line === token.line && previous.kind !== "whitespace");
    const trailing = before === undefined ? null : looksLikeMarker(text);
    const meant = before === undefined ? readAsMarker(text) : trailing && `a near miss of "${trailing}", which it refuses after SQL (a marker is a line of its own)`;
    if (meant === null) return [];
    return [
      {
        file: section.file,
        line: fileLineOf(section, token.line),
        message: `${tool} ran "${text}" as a comment, but stepwise reads it as ${meant}; reword the comment in ${section.file} so it does not spell a stepwise marker (for example drop the "migrate:"), then import again`,
      },
    ];
  });
}

/** What a comment on a line of its own means to stepwise, when it is more than a comment. */
function readAsMarker(text: string): string | null {
  const meaning = classifyComment(text);
  if (meaning.kind === "marker") return `its "-- migrate:${meaning.direction}" marker`;
  if (meaning.kind === "look-alike") return `a near miss of "${meaning.intended}", which it refuses (${meaning.reason})`;
  const fixed = {
    comment: null,
    "unknown-directive": `a "-- migrate:" directive it does not know`,
    empty: `its "-- migrate:empty" marker`,
    description: `its "-- description:" line, read only above the up marker`,
  };
  return fixed[meaning.kind];
}

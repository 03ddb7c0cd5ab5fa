/**
 * Comments in another tool's SQL that stepwise would read as its own markers: the tool ran them as comments, stepwise would cut a section there or refuse the line as a near miss. Each is refused at
 * its line in the tool's file, with the fix, instead of as a problem of the stepwise file the import renders (whose lines and advice would point at a file not yet written).
 */
import { classifyComment, findHiddenMarkers, looksLikeMarker } from "../../src/shared/sql-markers.js";
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import { tokenizeSql, type SqlToken } from "../../src/shared/postgres-tokens.js";
import { fileLineOf } from "./own-transaction.js";
import type { SourceProblem, SourceSection } from "./source.js";

/**
 * The line comments of `section` (strings skipped, as the tokenizer reads them) that stepwise reads as a marker, a flag or a near miss of one, and every comment, block comments included, that holds
 * a marker after other text on its line, which stepwise refuses there.
 */
export function findMarkerLookalikes(section: SourceSection, tool: string, dialect: SqlDialect): SourceProblem[] {
  const tokens = tokenizeSql(section.sql, dialect);
  return tokens.flatMap((token, index): SourceProblem[] => {
    const hidden = token.kind === "line-comment" || (token.kind === "block-comment" && !token.unterminated) ? findHiddenComments(section, token, tool) : [];
    if (token.kind !== "line-comment") return hidden;
    const text = token.text.replace(/\r?\n$/, "").replace(/\r$/, "");
    const before = tokens.slice(0, index).findLast((previous) => previous.line === token.line && previous.kind !== "whitespace");
    const trailing = before === undefined ? null : looksLikeMarker(text);
    const meant = before === undefined ? readAsMarker(text) : trailing && `a near miss of "${trailing}", which it refuses after SQL (a marker is a line of its own)`;
    if (meant === null) return hidden;
    return [
      ...hidden,
      {
        file: section.file,
        line: fileLineOf(section, token.line),
        message: `${tool} ran "${text}" as a comment, but stepwise reads it as ${meant}; reword the comment in ${section.file} so it does not spell a stepwise marker (for example drop the "migrate:"), then import again`,
      },
    ];
  });
}

/** The markers a comment holds after other text on their line, as `gen` refuses them: a one-line block comment's head counts too, since import reads no block comment otherwise. */
function findHiddenComments(section: SourceSection, comment: SqlToken, tool: string): SourceProblem[] {
  return findHiddenMarkers(comment.text, comment.kind === "line-comment").map(({ index, marker, after }) => ({
    file: section.file,
    line: fileLineOf(section, comment.line + (comment.text.slice(0, index).match(/\n/g)?.length ?? 0)),
    message: `${tool} ran this comment whole, but it holds "${marker.slice(3)}" after ${after ?? "other text on its line"}, which stepwise refuses as a marker the comment would swallow; reword the comment in ${section.file} so it does not spell a stepwise marker (for example drop the "migrate:"), then import again`,
  }));
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

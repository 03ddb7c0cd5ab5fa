/** The name `stepwise adopt --old-table` gives the old tool's history table, for a tool configured to name it otherwise. */
import { StepwiseError } from "../core/errors.js";

/** `--old-table`'s value read as `name` or `schema.name`, each part bare or double-quoted (`""` for a quote inside); `ADOPT_OLD_TABLE_INVALID` otherwise. */
export function parseOldTable(value: string, postgres: boolean): { readonly schema?: string; readonly name: string } {
  const invalid = (reason: string) => new StepwiseError("ADOPT_OLD_TABLE_INVALID", `--old-table ${JSON.stringify(value)} cannot name a history table: ${reason}.`, { value, reason });
  const parts: string[] = [];
  for (let rest = value; ;) {
    const [whole, quoted, bare] = /^(?:"((?:[^"]|"")*)"|([^".]*))/.exec(rest)!;
    parts.push(quoted === undefined ? bare! : quoted.replaceAll('""', '"'));
    rest = rest.slice(whole.length);
    if (rest === "") break;
    if (!rest.startsWith(".")) throw invalid('a double quote must open and close a whole part, as in "my.schema"."my""table"');
    rest = rest.slice(1);
  }
  if (parts.length > 2) throw invalid("it has more than one dot outside double quotes; give name or schema.name");
  if (parts.some((part) => part === "" || part.includes("\0"))) throw invalid("a part is empty or holds a NUL character");
  if (parts.length === 2 && !postgres) throw invalid("a schema is PostgreSQL's, and this database is SQLite: give the table's name alone");
  // PostgreSQL cuts a longer name to 63 bytes, which would read another table than the one named.
  if (postgres && parts.some((part) => new TextEncoder().encode(part).length > 63)) throw invalid("PostgreSQL names are at most 63 bytes");
  if (!postgres && /^sqlite_/i.test(parts[0]!)) throw invalid("names starting sqlite_ are SQLite's own tables");
  return parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { name: parts[0]! };
}

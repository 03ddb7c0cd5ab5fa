/** A glob's last path segment as a regular expression over file names: what Umzug's `glob` option (a project's own, in its code) selects in the migrations folder. */

/**
 * The file-name part of `glob` (`migrations/*-*.cjs` is `*-*.cjs`) as a RegExp: `*`, `?` and `[…]` classes within a name (none of them matching a leading dot, as glob libraries
 * default), `{a,b}` alternatives one level deep, `\x` for a literal `x`; anything else literal. `null` for a pattern that reaches into subfolders (`**`, or a wildcard in its folder
 * part), or one it cannot read as the tool does (nested or unclosed braces, an empty, unclosed or POSIX-named class), which import refuses rather than reads differently from the tool.
 */
export function globToRegExp(glob: string): RegExp | null {
  const name = glob.slice(glob.lastIndexOf("/") + 1);
  // ** or a wildcard in the folder part reaches into subfolders, and import reads the one folder it is given.
  if (glob.includes("**") || /[*?[{]/.test(glob.slice(0, Math.max(0, glob.lastIndexOf("/")))) || name === "") return null;
  let out = "";
  // Where the braces opened, or -1 outside them: an alternative at the name's start is at the name's start too.
  let braceAt = -1;
  for (let at = 0; at < name.length; at++) {
    const char = name[at]!;
    const atStart = at === 0 || (braceAt === 0 && (name[at - 1] === "{" || name[at - 1] === ","));
    // A wildcard or class never matches a leading dot, as glob libraries default (`dot: false`).
    const noDot = atStart ? "(?!\\.)" : "";
    if (char === "*") out += `${noDot}[^/]*`;
    else if (char === "?") out += `${noDot}[^/]`;
    else if (char === "{") {
      // Nested braces expand to alternatives of alternatives; reading them one level deep would match other names than the tool does.
      if (braceAt >= 0) return null;
      braceAt = at;
      out += "(?:";
    } else if (char === "}" && braceAt >= 0) {
      braceAt = -1;
      out += ")";
    } else if (char === "," && braceAt >= 0) out += "|";
    else if (char === "[") {
      const negated = name[at + 1] === "!" || name[at + 1] === "^";
      const first = at + 1 + (negated ? 1 : 0);
      const end = name.indexOf("]", first);
      // `[]…]`, `[!]…]` (a `]` first, literal in POSIX, an empty class to a RegExp), an unclosed `[` and a `[:alpha:]` name are read differently by different glob libraries.
      if (end <= first || name.slice(first, end).includes("[")) return null;
      out += `${noDot}[${negated ? "^" : ""}${name.slice(first, end).replace(/[\\^]/g, "\\$&")}]`;
      at = end;
    } else if (char === "\\" && at + 1 < name.length) out += escapeLiteral(name[++at]!);
    else out += escapeLiteral(char);
  }
  if (braceAt >= 0) return null;
  try {
    return new RegExp(`^${out}$`);
  } catch {
    // A class's range out of order (`[z-a]`): no glob library reads it as stepwise would.
    return null;
  }
}

/** `char` as a RegExp matching itself. */
const escapeLiteral = (char: string): string => char.replace(/[.*+?^$()|[\]\\{}]/g, "\\$&");

/** A glob's last path segment as a regular expression over file names: what Umzug's `glob` option (a project's own, in its code) selects in the migrations folder. */

/**
 * The file-name part of `glob` (`migrations/*-*.cjs` is `*-*.cjs`) as a RegExp: `*` and `?` within a name (not a leading dot, as glob libraries default), `{a,b}` alternatives and
 * `[…]` classes; anything else literal. `null` for a pattern that reaches into subfolders (`**`, or a wildcard in its folder part) or a brace it cannot close, which import refuses rather than reads differently from the tool.
 */
export function globToRegExp(glob: string): RegExp | null {
  const name = glob.slice(glob.lastIndexOf("/") + 1);
  // ** or a wildcard in the folder part reaches into subfolders, and import reads the one folder it is given.
  if (glob.includes("**") || /[*?[{]/.test(glob.slice(0, Math.max(0, glob.lastIndexOf("/")))) || name === "") return null;
  let out = "";
  let inBraces = false;
  for (let at = 0; at < name.length; at++) {
    const char = name[at]!;
    if (char === "*") out += at === 0 ? "(?!\\.)[^/]*" : "[^/]*";
    else if (char === "?") out += at === 0 ? "(?!\\.)[^/]" : "[^/]";
    else if (char === "{" && !inBraces) {
      inBraces = true;
      out += "(?:";
    } else if (char === "}" && inBraces) {
      inBraces = false;
      out += ")";
    } else if (char === "," && inBraces) out += "|";
    else if (char === "[") {
      const end = name.indexOf("]", at + 2);
      if (end < 0) return null;
      out += `[${name
        .slice(at + 1, end)
        .replace(/^!/, "^")
        .replace(/\\/g, "\\\\")}]`;
      at = end;
    } else out += char.replace(/[.+^$()|\\\]{}]/g, "\\$&");
  }
  return inBraces ? null : new RegExp(`^${out}$`);
}

/**
 * `npm run lint`: fails when a tracked file still holds a merge conflict marker.
 *
 * Prettier and ESLint catch a marker left in code, but a Markdown file takes one as prose, and a
 * README that says `<<<<<<< HEAD` has shipped before. Only whole-line markers count, so a table or
 * a code sample that shows a single `=======` line inside a fence is still a risk worth a look.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const MARKER = /^(<{7}|>{7})( |$)|^={7}$/;
const files = execFileSync("git", ["ls-files", "-z"], { encoding: "utf8" }).split("\0").filter(Boolean);
const found = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    continue; // deleted in the work tree, or unreadable: nothing to check
  }
  if (text.includes("\0")) continue; // binary
  text.split("\n").forEach((line, index) => {
    if (MARKER.test(line)) found.push(`${file}:${index + 1}: ${line}`);
  });
}
if (found.length > 0) {
  process.stderr.write(`Merge conflict markers left in tracked files; resolve them:\n${found.join("\n")}\n`);
  process.exitCode = 1;
}

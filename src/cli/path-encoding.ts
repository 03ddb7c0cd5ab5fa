/**
 * Paths whose bytes were not UTF-8. Node hands a program its arguments and environment as strings,
 * each byte sequence that is not UTF-8 decoded as U+FFFD, so `--db $'\xff.db'` arrives as "�.db":
 * another file's name, which SQLite would create and migrate while the named file stays as it was.
 * Such a path is refused before anything is opened, naming the bytes the process was really given
 * where Linux shows them (`/proc/self/cmdline`, `/proc/self/environ`). A U+FFFD found there typed as
 * UTF-8 is that character, and passes.
 */
import { readFileSync } from "node:fs";
import { pathEncodingError } from "../core/error-factories.js";

/**
 * Refuses `value`, a path the CLI was handed (a flag, an argument, the config, `DATABASE_URL`), when
 * it holds U+FFFD that does not come from a UTF-8 U+FFFD among the process's own arguments or
 * environment.
 *
 * @throws `PATH_NOT_UTF8` naming the bytes as given (`\xff.db`), or the path with `\ufffd` where
 *   they cannot be read.
 */
export function assertPathRoundTrips(value: string): void {
  if (!value.includes("\uFFFD")) return;
  const sources = processStrings().filter((bytes) => new TextDecoder().decode(bytes).includes(value));
  const raw = sources.find((bytes) => !isUtf8(bytes));
  if (sources.length > 0 && raw === undefined) return;
  throw pathEncodingError(value, raw === undefined ? value.replace(/\\/g, "\\\\").replace(/\uFFFD/g, "\\ufffd") : escapeBytes(raw));
}

/** The process's arguments and environment entries as the bytes it was started with; none off Linux. */
function processStrings(): Uint8Array[] {
  const strings: Uint8Array[] = [];
  for (const file of ["/proc/self/cmdline", "/proc/self/environ"]) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch {
      continue;
    }
    let start = 0;
    for (let end = bytes.indexOf(0); end !== -1; start = end + 1, end = bytes.indexOf(0, start)) strings.push(bytes.subarray(start, end));
    if (start < bytes.length) strings.push(bytes.subarray(start));
  }
  return strings;
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Printable ASCII as itself, a backslash doubled, every other byte as `\xNN`. */
function escapeBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => (byte === 0x5c ? "\\\\" : byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`)).join("");
}

/** The text of a file, or where its bytes stop being UTF-8: a lenient decoder would read Latin-1 `é` and `è` alike, as U+FFFD. */
export type DecodedSource =
  | { readonly ok: true; readonly text: string }
  /** `line` and `column` (1-based, in characters) of the first byte that is not UTF-8; `detectedEncoding` when a UTF-16 byte order mark, or a NUL beside each ASCII character, gives the file away. */
  | { readonly ok: false; readonly line: number; readonly column: number; readonly byteOffset: number; readonly detectedEncoding: "utf-16le" | "utf-16be" | null; readonly message: string };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const RESAVE = 're-save it as UTF-8 (in most editors: "Save with Encoding", then UTF-8)';

/** Decodes a file's bytes as UTF-8. A UTF-8 BOM stays in the text, so a valid file reads exactly as `readFileSync(file, "utf8")` reads it. */
export function decodeSourceBytes(bytes: Uint8Array): DecodedSource {
  const bom = bytes[0] === 0xff && bytes[1] === 0xfe ? "utf-16le" : bytes[0] === 0xfe && bytes[1] === 0xff ? "utf-16be" : null;
  if (bom) {
    const message = `the file is ${bom.toUpperCase()} (it starts with the byte order mark ${bom === "utf-16le" ? "FF FE" : "FE FF"}); ${RESAVE}`;
    return { ok: false, line: 1, column: 1, byteOffset: 0, detectedEncoding: bom, message };
  }
  // Without the mark, ASCII text in UTF-16 has a NUL beside each character; valid as UTF-8, it would read as SQL or code full of NULs.
  const unmarked =
    bytes.length >= 4 && bytes[0] !== 0 && bytes[1] === 0 && bytes[2] !== 0 && bytes[3] === 0
      ? "utf-16le"
      : bytes.length >= 4 && bytes[0] === 0 && bytes[1] !== 0 && bytes[2] === 0 && bytes[3] !== 0
        ? "utf-16be"
        : null;
  if (unmarked)
    return {
      ok: false,
      line: 1,
      column: 1,
      byteOffset: 0,
      detectedEncoding: unmarked,
      message: `the file is ${unmarked.toUpperCase()} without a byte order mark (a NUL byte beside each character); ${RESAVE}`,
    };
  try {
    return { ok: true, text: strictUtf8.decode(bytes) };
  } catch {
    const offset = firstInvalidUtf8Byte(bytes);
    const lineStart = offset === 0 ? 0 : bytes.lastIndexOf(0x0a, offset - 1) + 1;
    const line = bytes.subarray(0, lineStart).filter((byte) => byte === 0x0a).length + 1;
    const hasBom = lineStart === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    const column = [...strictUtf8.decode(bytes.subarray(hasBom ? 3 : lineStart, offset))].length + 1;
    const byte = bytes[offset]!.toString(16).toUpperCase().padStart(2, "0");
    const message = `the file is not valid UTF-8: byte 0x${byte} at byte offset ${offset} does not start a valid UTF-8 character (was it saved as Latin-1 or Windows-1252?); ${RESAVE}`;
    return { ok: false, line, column, byteOffset: offset, detectedEncoding: null, message };
  }
}

/** Offset of the first byte of the first ill-formed sequence, by the rules the WHATWG decoder applies. */
function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const sequence = sequenceOf(bytes[i]!);
    if (sequence === null) return i;
    const [count, lower, upper] = sequence;
    for (let k = 1; k <= count; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < (k === 1 ? lower : 0x80) || next > (k === 1 ? upper : 0xbf)) return i;
    }
    i += count + 1;
  }
  return bytes.length;
}

/** How many continuation bytes `lead` takes, and the bounds of the first (ruling out overlongs, surrogates and past U+10FFFF); `null` when no sequence starts with it. */
function sequenceOf(lead: number): [count: number, lower: number, upper: number] | null {
  if (lead < 0x80) return [0, 0, 0];
  if (lead >= 0xc2 && lead <= 0xdf) return [1, 0x80, 0xbf];
  if (lead >= 0xe0 && lead <= 0xef) return [2, lead === 0xe0 ? 0xa0 : 0x80, lead === 0xed ? 0x9f : 0xbf];
  if (lead >= 0xf0 && lead <= 0xf4) return [3, lead === 0xf0 ? 0x90 : 0x80, lead === 0xf4 ? 0x8f : 0xbf];
  return null;
}

/** Where the first raw NUL is (1-based line and column), or `null`: SQLite stops reading a statement there and PostgreSQL refuses it. */
export function findNulByte(text: string): { line: number; column: number } | null {
  const nul = text.indexOf("\0");
  if (nul === -1) return null;
  const before = text.slice(0, nul);
  return { line: before.split("\n").length, column: nul - before.lastIndexOf("\n") };
}

/** `text` parsed as JSON past a leading byte order mark, which editors write and `JSON.parse` refuses (Node reads a package.json past one). */
export function parseJson(text: string): unknown {
  return JSON.parse(text.replace(/^\uFEFF/, ""));
}

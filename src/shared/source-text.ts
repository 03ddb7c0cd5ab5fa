/**
 * Migration files and the helpers they import are read as UTF-8, strictly. A lenient decoder turns an
 * invalid byte into U+FFFD, so two different files (say, Latin-1 `é` and `è` in a string a migration
 * inserts) would read, run and hash alike; a fatal one refuses, and the refusal says where and how to fix it.
 */

/** The text of a file, or where its bytes stop being UTF-8. */
export type DecodedSource =
  | { readonly ok: true; readonly text: string }
  | {
      readonly ok: false;
      /** 1-based line and column (in characters) of the first byte that is not UTF-8. */
      readonly line: number;
      readonly column: number;
      readonly byteOffset: number;
      /** `utf-16le` or `utf-16be` when a UTF-16 byte order mark gives the file away. */
      readonly detectedEncoding: "utf-16le" | "utf-16be" | null;
      readonly message: string;
    };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes a file's bytes as UTF-8. A UTF-8 BOM is kept in the text (callers already skip it), so a
 * valid file reads exactly as `readFileSync(file, "utf8")` would read it.
 *
 * @example
 * decodeSourceBytes(Buffer.from([0x53, 0xe9, 0x0a])); // { ok: false, line: 1, column: 2, ... }
 */
export function decodeSourceBytes(bytes: Uint8Array): DecodedSource {
  const bom = bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe ? "utf-16le" : bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff ? "utf-16be" : null;
  if (bom) {
    return {
      ok: false,
      line: 1,
      column: 1,
      byteOffset: 0,
      detectedEncoding: bom,
      message: `the file is ${bom.toUpperCase()} (it starts with the byte order mark ${bom === "utf-16le" ? "FF FE" : "FE FF"}); re-save it as UTF-8 (in most editors: "Save with Encoding", then UTF-8)`,
    };
  }
  try {
    return { ok: true, text: strictUtf8.decode(bytes) };
  } catch {
    const offset = firstInvalidUtf8Byte(bytes);
    let lineStart = 0;
    let line = 1;
    for (let i = 0; i < offset; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    // A BOM is not a column an editor shows.
    const hasBom = lineStart === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    const column = [...strictUtf8.decode(bytes.subarray(hasBom ? 3 : lineStart, offset))].length + 1;
    const byte = bytes[offset]!.toString(16).toUpperCase().padStart(2, "0");
    return {
      ok: false,
      line,
      column,
      byteOffset: offset,
      detectedEncoding: null,
      message: `the file is not valid UTF-8: byte 0x${byte} at byte offset ${offset} does not start a valid UTF-8 character (was it saved as Latin-1 or Windows-1252?); re-save it as UTF-8 (in most editors: "Save with Encoding", then UTF-8)`,
    };
  }
}

/** Offset of the first byte of the first ill-formed sequence, by the rules the WHATWG decoder applies. */
function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let continuation: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) continuation = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      continuation = 2;
      if (lead === 0xe0) lower = 0xa0; // overlong
      if (lead === 0xed) upper = 0x9f; // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      continuation = 3;
      if (lead === 0xf0) lower = 0x90; // overlong
      if (lead === 0xf4) upper = 0x8f; // past U+10FFFF
    } else return i;
    for (let k = 1; k <= continuation; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < lower || next > upper) return i;
      lower = 0x80;
      upper = 0xbf;
    }
    i += continuation + 1;
  }
  return bytes.length;
}

/**
 * Where the first raw NUL byte is (1-based line and column), or `null`: SQLite stops reading a
 * statement there and PostgreSQL refuses it, so `gen` reports one in either kind of migration.
 */
export function findNulByte(text: string): { line: number; column: number } | null {
  const nul = text.indexOf("\0");
  if (nul === -1) return null;
  const before = text.slice(0, nul);
  return { line: before.split("\n").length, column: nul - before.lastIndexOf("\n") };
}

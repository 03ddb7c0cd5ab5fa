/** Flyway's checksum, written from its documentation (not from stepwise's reader, which it checks): CRC-32 over each line without its line break (a BOM dropped), as a signed 32-bit integer. */
export function flywayCrc(text: string): number {
  let crc = ~0;
  for (const line of text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/))
    for (const byte of Buffer.from(line)) {
      crc ^= byte;
      for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
    }
  return ~crc | 0;
}

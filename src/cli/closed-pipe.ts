/**
 * Writing to a pipe whose reader has gone (`stepwise up | head -1`) fails with EPIPE, which Node
 * reports as an 'error' event on the stream; unhandled, it crashes the process with a stack trace,
 * possibly between two migrations of an async run. The CLI's own streams get a listener instead:
 * once the reader is gone, output is dropped and the command finishes what it started.
 */

const writers = new WeakMap<NodeJS.WritableStream, (text: string) => void>();

/**
 * A write function for `stream` that drops text once the stream has failed (a closed pipe, a closed
 * terminal), rather than throwing or crashing. One listener per stream, however often it is asked for.
 */
export function writerIgnoringClosedStream(stream: NodeJS.WritableStream): (text: string) => void {
  const existing = writers.get(stream);
  if (existing) return existing;
  let closed = false;
  // Any error means nothing more can be written there; the command's work is unaffected by it.
  stream.on("error", () => {
    closed = true;
  });
  const write = (text: string) => {
    if (closed) return;
    try {
      stream.write(text);
    } catch {
      closed = true;
    }
  };
  writers.set(stream, write);
  return write;
}

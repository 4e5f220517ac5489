// Reading an input file (image, source, %include, incbin) with a size cap: a device like /dev/zero
// or a FIFO reports size 0 and never ends, so the bytes are read in chunks and the read stops at the cap.
import { closeSync, openSync, readSync } from 'node:fs';

/** Largest input file read (an image, a source, an included or incbin'ed file). */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

export class InputTooLarge extends Error {}

/** Read a whole file, at most `max` bytes; throws InputTooLarge beyond it (and fs errors as they are). */
export function readFileBounded(path: string, max = MAX_INPUT_BYTES): Buffer {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, max + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
      total += n;
      if (total > max) throw new InputTooLarge(`${path} is larger than ${max / 2 ** 20} MiB, the limit of one input file (a device like /dev/zero never ends)`);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

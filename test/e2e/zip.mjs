// Reads a .zip (.vsix) without unzip(1): the entry names from the central directory, and an
// entry's bytes (stored or deflated).
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

function centralDirectory(buf) {
  // End of central directory record: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) return { count: buf.readUInt16LE(i + 10), offset: buf.readUInt32LE(i + 16) };
  }
  throw new Error('not a zip file (no end of central directory record)');
}

/** [{ name, method, compressedSize, size, localOffset }] */
export function zipEntries(path) {
  const buf = readFileSync(path);
  const { count, offset } = centralDirectory(buf);
  const entries = [];
  let p = offset;
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central directory entry ${i}`);
    const method = buf.readUInt16LE(p + 10);
    const compressedSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.push({ name, method, compressedSize, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The bytes of one entry. */
export function zipRead(path, name) {
  const buf = readFileSync(path);
  const e = zipEntries(path).find((x) => x.name === name);
  if (!e) throw new Error(`${name} is not in ${path}`);
  const p = e.localOffset;
  if (buf.readUInt32LE(p) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  const data = buf.subarray(start, start + e.compressedSize);
  if (e.method === 0) return Buffer.from(data);
  if (e.method === 8) return inflateRawSync(data);
  throw new Error(`${name}: unsupported compression method ${e.method}`);
}

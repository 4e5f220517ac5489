// A cpio archive in the "newc" format the kernel unpacks as an initramfs (Linux
// Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte ASCII header
// ("070701" and 13 eight-digit hex fields), the NUL-terminated name padded to 4 bytes, the data
// padded to 4 bytes; the archive ends with the entry "TRAILER!!!".

export const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;

export interface CpioEntry {
  /** Path inside the archive, without a leading slash ("init", "bin/busybox"). */
  name: string;
  /** st_mode: file type and permission bits (S_IFREG | 0o755 ...). */
  mode: number;
  /** File contents, or a symlink's target. */
  data?: Uint8Array | string;
  /** Character/block devices: the device number. */
  rdev?: { major: number; minor: number };
}

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** Build a newc archive; inode numbers are assigned in order, every mtime is 0 (a reproducible archive). */
export function writeCpioNewc(entries: CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const add = (e: CpioEntry, ino: number) => {
    const data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : e.data ?? new Uint8Array(0);
    const name = Buffer.from(e.name + '\0', 'utf8');
    const isDir = (e.mode & 0o170000) === S_IFDIR;
    const fields = [ino, e.mode, 0, 0, isDir ? 2 : 1, 0, data.length, 0, 0, e.rdev?.major ?? 0, e.rdev?.minor ?? 0, name.length, 0];
    const head = Buffer.from('070701' + fields.map(hex8).join(''), 'latin1');
    parts.push(head, name, new Uint8Array(pad4(head.length + name.length)), data, new Uint8Array(pad4(data.length)));
  };
  entries.forEach((e, k) => add(e, k + 1));
  add({ name: 'TRAILER!!!', mode: 0 }, 0);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

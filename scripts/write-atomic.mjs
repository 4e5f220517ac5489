// Writes a file as a whole: a temporary file in the same folder, renamed over the old one. A
// process that reads the file while another writes it (a CLI start during `npm run build`, two
// bench runs) sees the old or the new contents, never part of either.
import { renameSync, rmSync, writeFileSync } from 'node:fs';

/** Write `contents` to `path` atomically (rename within one folder). */
export function writeFileAtomic(path, contents) {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(tmp, contents);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

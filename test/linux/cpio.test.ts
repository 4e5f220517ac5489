// The newc writer the Linux boot test builds its initramfs with, checked against GNU cpio's reading
// of it where cpio is installed, and against the format's fixed layout everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCpioNewc, S_IFDIR, S_IFLNK, S_IFREG } from './cpio';

const sample = () => writeCpioNewc([
  { name: 'bin', mode: S_IFDIR | 0o755 },
  { name: 'bin/hello', mode: S_IFREG | 0o755, data: 'hi!\n' },
  { name: 'bin/sh', mode: S_IFLNK | 0o777, data: 'hello' },
]);

test('newc layout: 110-byte headers, names and data padded to 4 bytes, the TRAILER!!! entry last', () => {
  const a = Buffer.from(sample());
  assert.equal(a.length % 4, 0);
  assert.equal(a.subarray(0, 6).toString(), '070701');
  const field = (at: number, k: number) => parseInt(a.subarray(at + 6 + 8 * k, at + 14 + 8 * k).toString(), 16);
  assert.equal(field(0, 1), S_IFDIR | 0o755);          // c_mode
  assert.equal(field(0, 11), 4);                       // c_namesize: "bin\0"
  assert.equal(a.subarray(110, 113).toString(), 'bin');
  const second = 110 + 4 + 2;                           // name 4 bytes, header+name padded to 116
  assert.equal(a.subarray(second, second + 6).toString(), '070701');
  assert.equal(field(second, 6), 4);                   // c_filesize
  assert.ok(a.includes('TRAILER!!!'));
});

test('GNU cpio extracts the archive: the file, its mode and the symlink', (t) => {
  if (spawnSync('cpio', ['--version']).status !== 0) {
    // .ci/run installs cpio: in CI its absence is a failure, elsewhere a skip with the reason.
    assert.ok(!process.env.CI, 'GNU cpio is not installed (.ci/run installs the cpio package)');
    t.skip('cpio is not installed'); return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'cpio-'));
  try {
    writeFileSync(join(dir, 'a.cpio'), sample());
    const r = spawnSync('sh', ['-c', 'cpio -idm --quiet < a.cpio'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(readFileSync(join(dir, 'bin/hello'), 'utf8'), 'hi!\n');
    assert.equal(statSync(join(dir, 'bin/hello')).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(dir, 'bin/sh')), 'hello');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

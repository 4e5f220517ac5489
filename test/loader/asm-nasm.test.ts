// Differential test: every file of test/loader/asm-corpus assembles byte-identical to
// `nasm -f bin`. Skips cleanly when nasm is not installed (apt-get install nasm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { diffWithNasm, nasmAvailable } from './asm-corpus/nasm-diff';

const dir = join(__dirname, 'asm-corpus');
const files = readdirSync(dir).filter((f) => f.endsWith('.asm')).sort();
const haveNasm = nasmAvailable();

test('asm corpus: byte-identical to nasm -f bin', async (t) => {
  if (!haveNasm) { t.skip('nasm not found on PATH (install the Debian package `nasm` to run the differential test)'); return; }
  assert.ok(files.length > 0, 'corpus is empty');
  let lines = 0, matched = 0;
  for (const f of files) {
    await t.test(f, () => {
      const r = diffWithNasm(join(dir, f));
      lines += r.lines;
      matched += r.matchedLines;
      assert.ok(r.identical, r.message || `${f} differs from nasm`);
    });
  }
  t.diagnostic(`corpus: ${files.length} files, ${matched}/${lines} source lines byte-identical to nasm`);
});

// Each paging mode (SDM Vol. 3A 4.3-4.5): 32-bit 4K and 4M (PSE), PAE 4K/2M, 4-level 4K/2M/1G.
// The guest maps a writable and a read-only page beside an identity map, writes and reads
// through them, and reports the accessed/dirty bits the walk set (SDM 4.8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haveNasm, NO_NASM, runGuest, d, RES } from '../guests/guest';

const MODES: [number, string][] = [[1, '32-bit 4K'], [2, '32-bit 4M (PSE)'], [3, 'PAE 4K'], [4, 'PAE 2M'],
  [5, '4-level 4K'], [6, '4-level 2M'], [7, '4-level 1G']];

for (const [mode, name] of MODES) {
  test(`paging: ${name}`, { skip: !haveNasm() && NO_NASM }, () => {
    const m = runGuest('paging.asm', { PMODE: mode });
    assert.equal(d(m, RES), 0xcafebabe, 'a write through the mapping lands at the physical page');
    assert.equal(d(m, RES + 4), 0x5eed1234, 'a read through the read-only mapping');
    assert.equal(d(m, RES + 8) & 0x60, 0x60, 'written leaf: accessed and dirty');
    assert.equal(d(m, RES + 16) & 0x60, 0x20, 'read-only leaf: accessed, not dirty');
    assert.equal(d(m, RES + 24) & 0x20, 0x20, 'upper-level entry: accessed');
    assert.equal(d(m, RES + 32), 0x40000);
  });
}

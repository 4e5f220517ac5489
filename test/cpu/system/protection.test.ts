// Page-level protection and the TLB (SDM Vol. 3A 4.6 access rights, 4.7 #PF error codes,
// 4.10.4 invalidation): WP, U/S, SMAP (with STAC), SMEP, NX, INVLPG vs a stale entry and
// global pages surviving a CR3 load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { excLog, haveNasm, NO_NASM, runGuest, d, RES } from '../guests/guest';

test('WP, SMAP, SMEP and NX faults with their exact error codes', { skip: !haveNasm() && NO_NASM }, () => {
  const m = runGuest('prot64.asm');
  assert.deepEqual(excLog(m).map((r) => [r.vector, r.error, Number(r.cr2)]), [
    [14, 0x3, 0x1001000],   // supervisor write, read-only page, CR0.WP=1
    [14, 0x3, 0x1002000],   // supervisor write, read-only user page
    [14, 0x1, 0x1000000],   // SMAP: supervisor read of a user page with AC=0
    [14, 0x11, 0x1003000],  // SMEP: supervisor fetch from a user page
    [14, 0x11, 0x1007000],  // NX: fetch from an XD page
  ]);
  assert.equal(d(m, RES + 24), 0x77, 'CR0.WP=0 lets the supervisor write a read-only page');
  assert.equal(d(m, RES + 20), 5, 'STAC permits the access');
});

test('TLB: INVLPG vs stale entries, global pages across MOV CR3, CR4.PGE toggle', { skip: !haveNasm() && NO_NASM }, () => {
  const m = runGuest('prot64.asm');
  assert.equal(d(m, RES + 0), 0x11111111, 'without INVLPG the old translation is still cached');
  assert.equal(d(m, RES + 4), 0x22222222, 'INVLPG drops it');
  assert.equal(d(m, RES + 8), 0x11111111, 'a global page survives MOV CR3');
  assert.equal(d(m, RES + 12), 0x22222222, 'a non-global page does not');
  assert.equal(d(m, RES + 16), 0x22222222, 'clearing CR4.PGE flushes global pages');
});

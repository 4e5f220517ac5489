// Mode transitions in one guest (SDM Vol. 3A 9.9, 9.8.5): real mode with descriptor caches
// ("unreal" mode), 32-bit protected mode, long mode (64-bit and compatibility mode).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haveNasm, NO_NASM, runGuest, d, q, RES } from '../guests/guest';

test('real -> unreal -> protected -> long -> compatibility -> 64-bit', { skip: !haveNasm() && NO_NASM }, () => {
  const m = runGuest('modes.asm');
  assert.equal(d(m, RES), 0x12345678, 'unreal mode reads above 1 MiB through the cached 4 GiB DS limit');
  assert.equal(d(m, 0x200000), 0x12345678);
  assert.equal(d(m, RES + 8) & 0x80000001, 1, 'CR0.PE=1, PG=0 in 32-bit protected mode');
  assert.equal(d(m, RES + 16) & 0xffff, 0x08);
  assert.equal(d(m, RES + 24) & 0x500, 0x500, 'EFER.LME and LMA');
  assert.equal(d(m, RES + 32) & 0xffff, 0x10);
  assert.equal(d(m, RES + 40) & 0xffff, 0x08, 'compatibility-mode CS');
  assert.equal(q(m, RES + 48), 0x1122334455667788n, 'upper register halves survive compatibility mode');
  assert.equal(d(m, RES + 64), 0x600d);
  assert.equal(m.cpu.codeBits, 64);
});

// Self-modifying code (SDM Vol. 3A 11.6: a write to code is seen by the next fetch) in the next
// instruction, in the same loop body and across a page boundary; string I/O with REP and DF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureEnv, haveNasm, NO_NASM, runGuest, d, RES } from '../guests/guest';

const skip = !haveNasm() && NO_NASM;

test('self-modifying code: next instruction, same loop body, page-crossing instruction', { skip }, () => {
  const m = runGuest('smcio.asm', {}, captureEnv());
  assert.equal(m.mem[RES], 0x42, 'the store into the next instruction is executed');
  assert.equal(d(m, RES + 4), 0x3333, 'first pass 0x1111, second pass the patched 0x2222');
  assert.equal(d(m, RES + 8), 0x44332211);
  assert.equal(d(m, RES + 12), 0x55332211, 'patched in the second page');
  assert.equal(d(m, RES + 16), 0x55332266, 'patched in the first page');
});

test('string I/O: REP OUTSB forwards and backwards, REP INSW', { skip }, () => {
  const env = captureEnv();
  const m = runGuest('smcio.asm', {}, env);
  assert.equal(String.fromCharCode(...env.out), 'hellodcba');
  assert.ok(env.ports.every((p) => p === 0xe9));
  const words = Array.from({ length: 8 }, (_, k) => m.dv.getUint16(RES + 32 + 2 * k, true));
  assert.deepEqual(words, [0x0100, 0x0201, 0x0302, 0x0403, 0x0504, 0x0605, 0x0706, 0x0807]);
});

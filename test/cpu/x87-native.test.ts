// The x87 differential test against the host CPU (test/cpu/x87-native.ts): every non-transcendental
// x87 form from random states biased to the hard cases must agree bit for bit (FCW, FSW with the
// defined condition codes, FTW, ST0-7, RAX, RFLAGS, memory). The transcendental instructions use
// the hardware's own approximations: their results must agree bit for bit in most cases and within
// one unit in the last place in all but a handful. `npm run fuzz` runs many more cases.
// Skips with a message where gcc or x86-64 is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeHostProblem } from './native-host';
import { runX87Differential, X87_OPS, X87_TRANS_OPS } from './x87-native';

const problem = nativeHostProblem('fpu', 'an x87 FPU');

test('x87 instructions agree with the host CPU bit for bit (40 random states per form)', { skip: problem ? `skipped: ${problem}` : false }, () => {
  const r = runX87Differential(X87_OPS, 40, 0x783837, false);
  assert.equal(r.compared, X87_OPS.length * 40);
  assert.ok(r.compared >= 4800, `${r.compared} cases`);
  assert.equal(r.failures.length, 0, r.failures.join('\n'));
});

test('x87 transcendental instructions: bit-exact in >= 97% of cases, within 1 ulp in >= 99.5%', { skip: problem ? `skipped: ${problem}` : false }, () => {
  const r = runX87Differential(X87_TRANS_OPS, 100, 0x7472616e, true, 50);
  const bad = Object.values(r.mismatchByOp).reduce((a, b) => a + b, 0);
  const exact = (r.compared - bad) / r.compared, ulp1 = (r.compared - bad + r.oneUlp) / r.compared;
  const msg = `exact ${(100 * exact).toFixed(2)}%, within 1 ulp ${(100 * ulp1).toFixed(2)}% of ${r.compared}; ${JSON.stringify(r.mismatchByOp)}\n${r.failures.join('\n')}`;
  assert.ok(exact >= 0.97, msg);
  assert.ok(ulp1 >= 0.995, msg);
});

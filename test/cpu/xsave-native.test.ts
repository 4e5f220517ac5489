// The XSAVE family against the host CPU (test/cpu/xsave-native.ts): XRSTOR of random x87/SSE
// states, XSAVE/XSAVE64/XSAVEOPT/XSAVEC with random masks into randomly filled areas, and a second
// XRSTOR in the standard or compacted form, compared byte for byte with what the host stores.
// `npm run fuzz` runs many more. Skips with a message where gcc, x86-64 or XSAVEC is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeHostProblem } from './native-host';
import { runXsaveDifferential } from './xsave-native';

const problem = nativeHostProblem('xsavec', 'XSAVEC');

test('XSAVE, XSAVEOPT, XSAVEC and XRSTOR agree with the host CPU byte for byte (2,000 random cases)', { skip: problem ? `skipped: ${problem}` : false }, () => {
  const r = runXsaveDifferential(2000, 0x78736176);
  assert.equal(r.compared, 2000);
  assert.equal(r.failures.length, 0, r.failures.slice(0, 20).join('\n'));
});

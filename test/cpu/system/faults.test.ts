// Double fault and triple fault exactly when the SDM says (Vol. 3A 6.15, Table 6-5): benign,
// contributory and page-fault classes; shutdown without an intercept, a TRIPLE_FAULT hardware
// exit (EXIT_REASON_TRIPLE_FAULT) when the hypervisor intercepts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, excLog, haveNasm, machine, NO_NASM, runGuest, runToHalt, d, RES } from '../guests/guest';
import { RUN_EXIT, RUN_SHUTDOWN, EXIT_REASON_TRIPLE_FAULT } from '../../../vm-core/cpu';

const skip = !haveNasm() && NO_NASM;

test('#NP while delivering #GP (contributory pair) -> #DF with error code 0', { skip }, () => {
  const m = runGuest('faults.asm', { CASE: 1 });
  assert.deepEqual(excLog(m).map((r) => [r.vector, r.error]), [[8, 0]]);
  assert.equal(d(m, RES), 0x600d);
});

test('#GP while delivering #PF (page fault + contributory) -> #DF', { skip }, () => {
  const m = runGuest('faults.asm', { CASE: 2 });
  assert.deepEqual(excLog(m).map((r) => [r.vector, r.error]), [[8, 0]]);
});

test('#PF while delivering #DE (contributory + page fault) is delivered serially', { skip }, () => {
  const m = runGuest('faults.asm', { CASE: 3 });
  assert.deepEqual(excLog(m).map((r) => [r.vector, r.error, Number(r.cr2)]), [[14, 2, 0x140000000 - 8]]);
});

test('triple fault: shutdown without an intercept', { skip }, () => {
  const m = machine(assemble('faults.asm', { CASE: 4 }));
  assert.equal(runToHalt(m), RUN_SHUTDOWN);
  assert.equal(m.cpu.shutdown, true);
});

test('triple fault: TRIPLE_FAULT exit when intercepted', { skip }, () => {
  for (const c of [4, 5]) {
    const m = machine(assemble('faults.asm', { CASE: c }));
    m.cpu.intercepts.tripleFault = true;
    assert.equal(runToHalt(m), RUN_EXIT);
    assert.equal(m.cpu.exit.reason, EXIT_REASON_TRIPLE_FAULT);
    assert.equal(m.cpu.shutdown, false);
  }
});

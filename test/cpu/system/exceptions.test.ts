// Exception delivery through the IDT in 64-bit mode (SDM Vol. 3A ch. 6): vectors, error codes
// (Table 6-1, 6.13), CR2 and the RIP pushed for faults and traps, recorded by the guest's handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { excLog, haveNasm, NO_NASM, runGuest, d, RES } from '../guests/guest';

test('64-bit exceptions: #UD #DE #GP #SS #NP #PF #BP with error codes and CR2', { skip: !haveNasm() && NO_NASM }, () => {
  const m = runGuest('exc64.asm');
  assert.equal(d(m, RES), 0x600d);
  const log = excLog(m).map((r) => [r.vector, r.error, r.vector === 14 ? Number(r.cr2) : 0]);
  assert.deepEqual(log, [
    [6, -1, 0],               // UD2
    [0, -1, 0],               // DIV by zero
    [0, -1, 0],               // IDIV overflow
    [13, 0, 0],               // non-canonical address
    [13, 0x100, 0],           // selector beyond the GDT limit
    [12, 0, 0],               // non-canonical SS reference
    [11, 0x68, 0],            // segment not present
    [14, 0x0, 0x140000000],   // not present, read, supervisor
    [14, 0x3, 0x1000000],     // present, write (CR0.WP)
    [14, 0x9, 0x1200010],     // reserved bit
    [14, 0x11, 0x1400000],    // instruction fetch from an XD page
    [3, -1, 0],               // INT3
    [13, 0, 0],               // WRMSR of an unknown MSR
    [6, -1, 0],               // LOCK NOP
  ]);
  const recs = excLog(m);
  // Faults push the faulting RIP; INT3 (a trap) pushes the next RIP.
  assert.equal(recs[10].rip, 0x1400000n);
  const int3 = recs[11];
  assert.equal(m.mem[Number(int3.rip) - 1], 0xcc);
});

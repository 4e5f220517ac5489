// IRET to an outer privilege level nulls the data segment registers the new CPL may not use (SDM
// Vol. 2 IRET); in 64-bit mode FS/GS keep addressing through their hidden bases (kvm-unit-tests'
// emulator64 test_iret reads %gs:(x) in user mode after such an IRET).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, go, CODE, STACK } from '../gp';
import { GS, RSP, setReg64 } from '../../../vm-core/cpu/state';

const GDT = 0x5000;

test('IRETQ to ring 3 nulls a DPL-0 GS but keeps its base: a user GS-relative read still works', () => {
  // iretq at CODE; user code at CODE+0x10: mov rax, gs:[0]; hlt (#GP at CPL 3, intercepted).
  const s = setup(64, ['48cf', '90'.repeat(14), '65488b042500000000']);
  const dv = s.dv;
  for (let k = 0; k < 512; k++) dv.setUint32(0x3000 + 8 * k, (k * 0x200000) | 0x87, true); // user pages
  dv.setUint32(0x1000, 0x2007, true); dv.setUint32(0x2000, 0x3007, true);
  s.cpu.flushTlb(false);
  const desc = [0n, 0x00af9b000000ffffn, 0x00cf93000000ffffn, 0x00affb000000ffffn, 0x00cff3000000ffffn];
  desc.forEach((v, k) => dv.setBigUint64(GDT + 8 * k, v, true));
  s.cpu.gdtr.base = GDT; s.cpu.gdtr.limit = 8 * desc.length - 1;
  const gs = s.cpu.seg[GS];
  gs.selector = 0x10; gs.base = 0x300000; gs.ar = 0xc093; gs.limit = 0xffffffff;
  dv.setBigUint64(0x300000, 0x1122334455667788n, true);
  const sp = STACK - 40;
  [BigInt(CODE + 0x10), 0x1bn, 2n, BigInt(STACK - 0x1000), 0x23n].forEach((v, k) => dv.setBigUint64(sp + 8 * k, v, true));
  setReg64(s.cpu, RSP, BigInt(sp));
  s.cpu.updateMode();
  const r = go(s);
  assert.equal(s.cpu.cpl, 3);
  assert.equal(gs.selector, 0, 'GS nulled');
  assert.equal(gs.base, 0x300000, 'hidden base kept');
  assert.equal(r.vector, 13, 'stopped at the user HLT');
  assert.equal(s.cpu.R[0] >>> 0, 0x55667788);
  assert.equal(s.cpu.R[1] >>> 0, 0x11223344);
});

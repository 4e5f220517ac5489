// SYSCALL and SYSRET single-step on the RFLAGS they leave behind (the rule kvm-unit-tests' syscall
// test checks, and KVM's emulator follows): SYSCALL with TF masked by FMASK raises no #DB in the
// kernel; SYSRET that loads TF from R11 raises #DB after it, in user mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, go, CODE } from './gp';
import { setRflagsRaw } from './raw';
import { CS, EFER_SCE, R11, RCX, TF, setReg64 } from '../../vm-core/cpu/state';

for (const vendor of ['intel', 'amd'] as const) {
  test(`${vendor}: SYSCALL with TF set and masked by FMASK: no single-step #DB in the kernel`, () => {
    const s = setup(64, ['0f05', 'f4', 'f4']); // syscall; hlt (never reached); hlt (the LSTAR target)
    s.cpu.vendor = vendor;
    s.cpu.efer |= EFER_SCE;
    s.cpu.lstarLo = CODE + 3; s.cpu.lstarHi = 0;
    s.cpu.starHi = (0x10 << 16) | 0x08;
    s.cpu.sfmask = TF;
    setRflagsRaw(s.cpu, 2 | TF);
    const r = go(s);
    assert.equal(r.vector, -1);
    assert.equal(r.rip, CODE + 4); // halted at the target
    assert.equal(Number(s.cpu.R[2 * R11]) & TF, TF); // the saved RFLAGS keep TF
  });

  test(`${vendor}: SYSCALL with TF left set by FMASK traps after the instruction, at the target`, () => {
    const s = setup(64, ['0f05', 'f4', 'f4']);
    s.cpu.vendor = vendor;
    s.cpu.efer |= EFER_SCE;
    s.cpu.lstarLo = CODE + 3; s.cpu.starHi = (0x10 << 16) | 0x08; s.cpu.sfmask = 0;
    setRflagsRaw(s.cpu, 2 | TF);
    const r = go(s);
    assert.equal(r.vector, 1);
    assert.equal(r.rip, CODE + 3);
  });

  test(`${vendor}: SYSRET loading TF from R11 traps after the instruction, in user mode`, () => {
    const s = setup(64, ['480f07', 'f4']); // sysretq; the user target is the HLT behind it
    s.cpu.vendor = vendor;
    s.cpu.efer |= EFER_SCE;
    s.cpu.starHi = (0x10 << 16) | 0x08;
    setReg64(s.cpu, RCX, BigInt(CODE + 3));
    setReg64(s.cpu, R11, BigInt(0x2 | TF));
    const r = go(s);
    assert.equal(r.vector, 1);
    assert.equal(r.rip, CODE + 3);
    assert.equal(s.cpu.seg[CS].selector, 0x20 | 3);
    assert.equal(s.cpu.dr6 & 0x4000, 0x4000); // BS
  });
}

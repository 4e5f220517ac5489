// Privilege transitions (SDM Vol. 3A 5.8 call gates, 6.12/6.14 interrupt stack switching, Vol. 2
// IRET, SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS) in 64-bit and 32-bit guests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { excLog, haveNasm, NO_NASM, runGuest, d, q, RES } from '../guests/guest';

const skip = !haveNasm() && NO_NASM;

test('64-bit: IRETQ to ring 3, INT via TSS.RSP0 and IST, SYSCALL/SYSRET+SWAPGS, call gate, SYSENTER/SYSEXIT', { skip }, () => {
  const m = runGuest('rings64.asm');
  assert.equal(q(m, RES + 112), 3n, 'ring-3 code ran');
  assert.equal(q(m, RES + 0), 0x68000n - 40n, 'INT 0x80 from ring 3 switches to TSS.RSP0 (5 pushes)');
  assert.equal(q(m, RES + 8), 0x33n, 'frame CS = user CS64 | 3');
  assert.equal(q(m, RES + 16), 0x2bn, 'frame SS = user DS | 3');
  assert.equal(q(m, RES + 24), 0x48000n - 40n, 'IST1 stack');
  assert.equal(m.mem[Number(q(m, RES + 32)) - 2], 0x0f, 'SYSCALL puts the return RIP in RCX');
  assert.equal(q(m, RES + 40) & 0x202n, 0x2n, 'R11 = RFLAGS (IF was 0)');
  assert.equal(q(m, RES + 104), 0x6565n, 'SWAPGS exchanged GS.base with KERNEL_GS_BASE');
  assert.equal(q(m, RES + 48) & 0xffffn, 0x33n, 'SYSRETQ returns to CS = STAR[63:48] + 16 | 3');
  assert.equal(q(m, RES + 56), 0x68000n - 32n, 'call gate to ring 0: RSP0 stack with SS, RSP, CS, RIP');
  assert.equal(q(m, RES + 64), 0x33n);
  assert.equal(q(m, RES + 72) & 0xffffn, 0x70n, 'SYSENTER CS = SYSENTER_CS');
  assert.equal(q(m, RES + 80), 0x68000n - 0x100n, 'SYSENTER RSP = SYSENTER_ESP');
  assert.equal(q(m, RES + 88) & 0xffffn, 0x93n, 'SYSEXITQ CS = SYSENTER_CS + 32 | 3');
  assert.equal(q(m, RES + 96) & 0xffffn, 0x9bn, 'SYSEXITQ SS = SYSENTER_CS + 40 | 3');
  assert.deepEqual(excLog(m).map((r) => [r.vector, r.error, Number(r.cr2)]), [
    [13, 0, 0],                   // HLT at CPL 3
    [13, 0x82 * 8 + 2, 0],        // INT 0x82 through a DPL-0 gate
    [13, 0x18, 0x0],              // MOV DS with a DPL-0 data selector
    [14, 5, 0x400000],            // user read of a supervisor page
    [14, 7, 0x400000],            // user write
  ]);
  assert.equal(m.cpu.cpl, 0);
  void d;
});

test('32-bit: IRETD to ring 3, INT through SS0:ESP0, call gate with parameter copy and RETF 8, SYSENTER/SYSEXIT, POPF, LAR/LSL/VERR/VERW', { skip }, () => {
  const m = runGuest('rings32.asm');
  assert.equal(d(m, RES + 76), 3, 'ring-3 code ran');
  assert.equal(d(m, RES + 0), 0x68000 - 20, 'INT 0x80 frame on the TSS stack: SS, ESP, EFLAGS, CS, EIP');
  assert.equal(d(m, RES + 4), 0x23);
  assert.equal(d(m, RES + 8), 0x2b);
  assert.equal(d(m, RES + 12), 0x68000 - 24, 'call gate: SS, ESP, 2 parameters, CS, EIP');
  assert.equal(d(m, RES + 16), 0x2222, 'parameters keep their order');
  assert.equal(d(m, RES + 20), 0x1111);
  assert.equal(d(m, RES + 24), 0x58000 - 8, 'old ESP (after the pushes)');
  assert.equal(d(m, RES + 28), 0x2b, 'old SS');
  assert.equal(d(m, RES + 32), 0x58000, 'RETF 8 releases the parameters on the outer stack');
  assert.equal(d(m, RES + 36) & 0xffff, 0x70);
  assert.equal(d(m, RES + 40), 0x68000 - 0x100);
  assert.equal(d(m, RES + 44) & 0xffff, 0x83, 'SYSEXIT CS = SYSENTER_CS + 16 | 3');
  assert.equal(d(m, RES + 48) & 0xffff, 0x8b, 'SYSEXIT SS = SYSENTER_CS + 24 | 3');
  assert.equal(d(m, RES + 52) & 0x3200, 0, 'POPF at CPL 3 > IOPL changes neither IOPL nor IF');
  assert.equal(d(m, RES + 56), 0x00cffb00, 'LAR: access rights of the (accessed) user code segment');
  assert.equal(d(m, RES + 60) & 0xff, 0, 'LAR of a DPL-0 segment at CPL 3: ZF = 0');
  assert.equal(d(m, RES + 64), 0xffffffff, 'LSL: the scaled limit');
  assert.deepEqual([m.mem[RES + 68], m.mem[RES + 69], m.mem[RES + 70], m.mem[RES + 71]], [1, 0, 1, 0], 'VERR code, VERW code, VERW data, VERR DPL-0');
  assert.equal(d(m, RES + 72) & 0xffff, 0x48, 'STR');
  assert.deepEqual(excLog(m, 4).map((r) => [r.vector, r.error]), [[13, 0], [13, 0], [13, 0], [13, 0x18]]);
});

// The x87 FPU (exec/x87.ts, softfloat80.ts; SDM Vol. 1 ch. 8): arithmetic and rounding control,
// precision control, constants rounded per RC, stack faults, pending exceptions (#MF, FERR#), #NM,
// FOP/FIP/FDP, FSTENV/FSAVE/FRSTOR in the 32-bit protected and 16-bit real-mode layouts, BCD, and
// the soft-float against JS doubles. test/cpu/x87-native.test.ts compares with the host CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareCpu, realMode, load } from './helpers';
import { CODE, SRC, DST, hex, simdSetup, halts } from './simd';
import { RUN_EXIT, RUN_HALTED, EXIT_REASON_EXCEPTION_NMI } from '../../vm-core/cpu';
import { CR0_MP, CR0_NE, CR0_TS, RAX } from '../../vm-core/cpu/state';
import type { Cpu } from '../../vm-core/cpu';
import * as S from '../../vm-core/cpu/softfloat80';

/** The SIMD set-up with FNINIT first (the power-up FCW 0040H unmasks everything), #UD/#NM/#MF/#GP intercepted. */
const setup = (code: string[]) => simdSetup(['dbe3', ...code], (1 << 7) | (1 << 16) | (1 << 6) | (1 << 13));
const C = CODE + 2; // after the FNINIT
const fsw = (cpu: Cpu) => cpu.fxArea[2] | (cpu.fxArea[3] << 8);
const fcw = (cpu: Cpu) => cpu.fxArea[0] | (cpu.fxArea[1] << 8);
/** ST(k) as hex "exponent:significand". */
function st(cpu: Cpu, k: number): string {
  const dv = new DataView(cpu.fxArea.buffer, cpu.fxArea.byteOffset);
  const o = 32 + 16 * k;
  return dv.getUint16(o + 8, true).toString(16).padStart(4, '0') + ':' + dv.getBigUint64(o, true).toString(16).padStart(16, '0');
}
function exceptionExit(cpu: Cpu, vector: number, at: number): void {
  const r = cpu.run(1000);
  assert.equal(r, RUN_EXIT);
  assert.equal(cpu.exit.reason, EXIT_REASON_EXCEPTION_NMI, cpu.exit.message);
  assert.equal(cpu.exit.intrInfo & 0xff, vector);
  assert.equal(cpu.rip, at);
}

test('FLD1/FADD/FDIV/FSTP m64: 1 + 1 = 2, 1/3 to double, PC = 24 rounds 1/3 to single precision', () => {
  const { cpu, dv } = setup([
    'd9e8', 'd9e8', 'dec1', 'dd1f', // fld1; fld1; faddp; fstp qword [rdi]
    'd9e8', 'd9e8', 'd9e8', 'dec1', 'dec1', 'd9e8', 'def1', 'dd5f08', // 3 -> 1/3 via fdivrp; fstp [rdi+8]
    'd92e', 'd9e8', 'd9e8', 'd9e8', 'dec1', 'dec1', 'd9e8', 'def1', 'dd5f10', // fldcw [rsi] (PC=24); 1/3; fstp [rdi+16]
  ]);
  dv.setUint16(SRC, 0x007f, true); // PC = 00 (24 bits), RC nearest, all masked
  halts(cpu);
  assert.equal(dv.getFloat64(DST, true), 2);
  assert.equal(dv.getFloat64(DST + 8, true), 1 / 3);
  assert.equal(dv.getFloat64(DST + 16, true), Math.fround(1 / 3));
  assert.equal(fsw(cpu) & 0x3f, 0x20, 'PE only');
});

test('FLDPI is rounded per FCW.RC (SDM Vol. 1 8.3.8): nearest/up ...235, down/zero ...234', () => {
  for (const [rc, want] of [[0, 'c90fdaa22168c235'], [1, 'c90fdaa22168c234'], [2, 'c90fdaa22168c235'], [3, 'c90fdaa22168c234']] as const) {
    const { cpu, dv } = setup(['d92e', 'd9eb']);
    dv.setUint16(SRC, 0x037f | (rc << 10), true);
    halts(cpu);
    assert.equal(st(cpu, 0), '4000:' + want, `RC=${rc}`);
    assert.equal(fsw(cpu) & 0x3f, 0, 'no PE');
  }
});

test('stack overflow: a ninth push sets IE, SF and C1 and loads the indefinite; underflow clears C1', () => {
  const { cpu } = setup(Array(9).fill('d9e8'));
  halts(cpu);
  assert.equal(fsw(cpu) & 0x2c1, 0x241);
  assert.equal(st(cpu, 0), 'ffff:c000000000000000');
  const u = setup(['d9e8', 'ddd8', 'ddd8']); // fld1; fstp st0; fstp st0 (empty)
  halts(u.cpu);
  assert.equal(fsw(u.cpu) & 0x2c1, 0x41);
});

test('an unmasked exception is pending (ES, B) and the next waiting instruction raises #MF; FNSTSW does not', () => {
  const { cpu, dv } = setup(['d92e', 'd9e8', 'd9ee', 'def9', 'dfe0', '9b']); // fldcw (ZE unmasked); fld1; fldz; fdivp (1/0); fnstsw ax; fwait
  dv.setUint16(SRC, 0x037b, true);
  cpu.cr0 |= CR0_NE;
  exceptionExit(cpu, 16, C + 2 + 2 + 2 + 2 + 2);
  assert.equal(cpu.R[2 * RAX] & 0xffff & 0x8084, 0x8084, 'FNSTSW saw ZE, ES and B');
  // The destination is unchanged (1 and 0 still on the stack, nothing popped).
  assert.equal((fsw(cpu) >> 11) & 7, 6);
});

test('AMD with CR0.NE = 0: FERR# instead of #MF, execution continues (IGNNE#)', () => {
  const { cpu, dv } = setup(['d92e', 'd9e8', 'd9ee', 'def9', '9b', 'd9e8']);
  dv.setUint16(SRC, 0x037b, true);
  cpu.vendor = 'amd';
  cpu.cr0 &= ~CR0_NE;
  halts(cpu);
  // FWAIT and the FLD1 after it each meet the pending exception.
  assert.equal(cpu.x87FerrCount, 2);
});

test('#NM: x87 instructions with CR0.TS; WAIT only with CR0.MP and CR0.TS', () => {
  const a = setup(['d9e8']);
  a.cpu.cr0 |= CR0_TS;
  exceptionExit(a.cpu, 7, CODE);
  const b = simdSetup(['9b'], 1 << 7);
  b.cpu.cr0 |= CR0_TS;
  halts(b.cpu);
  const c = simdSetup(['9b'], 1 << 7);
  c.cpu.cr0 |= CR0_TS | CR0_MP;
  exceptionExit(c.cpu, 7, CODE);
});

test('FOP, FIP and FDP record the last non-control instruction (SDM Vol. 1 8.1.8/8.1.9)', () => {
  const { cpu, dv } = setup(['d9e8', 'd80e', 'd97f08']); // fld1; fmul dword [rsi]; fnstcw [rdi+8]
  dv.setFloat32(SRC, 3, true);
  halts(cpu);
  const f = new DataView(cpu.fxArea.buffer, cpu.fxArea.byteOffset);
  assert.equal(f.getUint16(6, true), 0x00e, 'FOP = D8 0E without the D8 bits 7:3');
  assert.equal(f.getUint32(8, true), C + 2, 'FIP at the FMUL (FNSTCW is a control instruction)');
  assert.equal(f.getUint32(16, true), SRC, 'FDP = the operand offset');
  assert.equal(st(cpu, 0), '4000:c000000000000000');
});

test('FNSTENV (32-bit protected layout) stores FCW/FSW/full tag word/pointers and then masks all exceptions', () => {
  const { cpu, dv } = setup(['d92e', 'd9ee', 'd9e8', 'd937']); // fldcw; fldz; fld1; fnstenv [rdi]
  dv.setUint16(SRC, 0x0360, true);
  halts(cpu);
  assert.equal(dv.getUint32(DST, true), 0xffff0360);
  assert.equal(dv.getUint32(DST + 4, true), (0xffff0000 | fsw(cpu)) >>> 0);
  // TOP = 6: R7 = 0.0 (tag 01), R6 = 1.0 (00), the rest empty (11).
  assert.equal(dv.getUint16(DST + 8, true), 0x4fff);
  assert.equal(dv.getUint32(DST + 12, true), C + 4, 'FIP of FLD1');
  assert.equal(dv.getUint32(DST + 16, true) >>> 16, 0x1e8, 'FOP of FLD1');
  assert.equal(fcw(cpu), 0x037f);
});

test('FNSAVE/FRSTOR round trip (108 bytes) and FNSAVE reinitialises', () => {
  const { cpu, dv } = setup(['d9eb', 'd9e8', 'dd37', 'd9ee', 'dd27']); // fldpi; fld1; fnsave [rdi]; fldz; frstor [rdi]
  halts(cpu);
  assert.equal(st(cpu, 0), '3fff:8000000000000000');
  assert.equal(st(cpu, 1), '4000:c90fdaa22168c235');
  assert.equal((fsw(cpu) >> 11) & 7, 6);
  assert.equal(dv.getUint16(DST + 28 + 8, true), 0x3fff, 'ST0 image at offset 28');
});

test('16-bit real-mode FNSTENV/FNSAVE layout: 20-bit FIP with FOP, registers at 14', () => {
  const { cpu, mem } = bareCpu();
  realMode(cpu, 0x1000);
  cpu.seg[1].selector = 0x100; cpu.seg[1].base = 0x1000; cpu.rip = 0; cpu.updateMode(); // CS = 0100H
  load(mem, 0x1000, hex(['d9e8', 'dd36', '0020', 'f4'])); // fld1; fnsave [0x2000]; hlt
  assert.equal(cpu.run(100), RUN_HALTED);
  const dv = new DataView(mem.buffer);
  assert.equal(dv.getUint16(0x2000, true), 0x0040, 'the power-up FCW');
  assert.equal(dv.getUint16(0x2006, true), 0x1000, 'FIP bits 15:0 of CS * 16 + IP');
  assert.equal(dv.getUint16(0x2008, true), 0x01e8, 'FIP bits 19:16 in 15:12, FOP in 10:0');
  assert.equal(dv.getUint16(0x2000 + 14 + 8, true), 0x3fff, 'ST0 at 14');
  assert.equal(fcw(cpu), 0x037f);
});

test('FBSTP/FBLD round trip with rounding per RC', () => {
  const { cpu, dv } = setup(['df2e', 'df37', 'df27', 'df7f10']); // fild qword [rsi]; fbstp [rdi]; fbld [rdi]; fistp qword [rdi+16]
  dv.setBigInt64(SRC, -123456789012345678n, true);
  halts(cpu);
  assert.equal(Buffer.from(new Uint8Array(dv.buffer, DST, 10)).toString('hex'), '78563412907856341280');
  assert.equal(dv.getBigInt64(DST + 16, true), -123456789012345678n);
});

test('soft-float: add/sub/mul/div/sqrt at PC = 53 agree with JS doubles (20,000 random pairs)', () => {
  const a = new S.F80(), b = new S.F80(), r = new S.F80();
  const bits = new DataView(new ArrayBuffer(8));
  const put = (x: S.F80, d: number) => { bits.setFloat64(0, d); S.fromF64(x, bits.getUint32(0), bits.getUint32(4)); };
  const get = (x: S.F80) => { S.toF64(x); bits.setUint32(0, S.outHi); bits.setUint32(4, S.outLo); return bits.getFloat64(0); };
  let seed = 12345;
  const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
  S.env.pc = 53; S.env.rc = 0; S.env.masks = 0x3f;
  for (let k = 0; k < 20000; k++) {
    const x = (rnd() * 2 - 1) * 2 ** Math.floor(rnd() * 60 - 30), y = (rnd() * 2 - 1) * 2 ** Math.floor(rnd() * 60 - 30);
    put(a, x); put(b, y);
    S.add(r, a, b, false); assert.equal(get(r), x + y);
    S.add(r, a, b, true); assert.equal(get(r), x - y);
    S.mul(r, a, b); assert.equal(get(r), x * y);
    S.div(r, a, b); assert.equal(get(r), x / y);
    a.s = 0; S.sqrt(r, a); assert.equal(get(r), Math.sqrt(Math.abs(x)));
  }
  S.env.pc = 64;
});

test('MMX instructions and EMMS raise #MF for a pending x87 exception (SDM Vol. 2 PXOR, EMMS)', () => {
  for (const insn of ['0fefc0', '0f77']) {
    const { cpu, dv } = setup(['d92e', 'd9e8', 'd9ee', 'def9', insn]); // ZE unmasked; 1/0 pending
    dv.setUint16(SRC, 0x037b, true);
    cpu.cr0 |= CR0_NE;
    exceptionExit(cpu, 16, C + 8);
  }
});

test('FNOP waits for a pending exception (#MF); FNCLEX does not and clears it', () => {
  const a = setup(['d92e', 'd9e8', 'd9ee', 'def9', 'd9d0']);
  a.dv.setUint16(SRC, 0x037b, true);
  a.cpu.cr0 |= CR0_NE;
  exceptionExit(a.cpu, 16, C + 8);
  const b = setup(['d92e', 'd9e8', 'd9ee', 'def9', 'dbe2', '9b']);
  b.dv.setUint16(SRC, 0x037b, true);
  b.cpu.cr0 |= CR0_NE;
  halts(b.cpu);
  assert.equal(fsw(b.cpu) & 0x80ff, 0);
});

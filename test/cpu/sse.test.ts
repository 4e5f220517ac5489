// SSE/SSE2 data movement, packed integer operations, MXCSR, FXSAVE/FXRSTOR and the CR0/CR4 rules
// (SDM Vol. 1 ch. 10-12, Vol. 3A 2.5 and 13.1). Machine code is written as hex with its assembly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareCpu, realMode, load } from './helpers';
import { SRC, DST, hex, simdSetup, halts, faults } from './simd';
import { RUN_EXIT, HW_UNEMULATED, getRflags } from '../../vm-core/cpu';
import { CR0_EM, CR0_MP, CR0_TS, CR4_OSFXSR, RSI, RDI, RAX, RCX, CF, ZF } from '../../vm-core/cpu/state';
import type { Cpu } from '../../vm-core/cpu';

/** The shared SIMD set-up (simd.ts) with #UD/#NM/#GP intercepted. */
const setup = (code: string[]) => simdSetup(code, (1 << 6) | (1 << 7) | (1 << 13));

function xmm(cpu: Cpu, r: number): number[] {
  return Array.from(cpu.xmm.subarray(4 * r, 4 * r + 4), (v) => v >>> 0);
}
function setXmm(cpu: Cpu, r: number, lanes: number[]): void {
  for (let k = 0; k < 4; k++) cpu.xmm[4 * r + k] = lanes[k] | 0;
}
function bytesOf(cpu: Cpu, r: number): number[] {
  return Array.from(new Uint8Array(cpu.xmm.buffer, 16 * r, 16));
}
function setBytes(cpu: Cpu, r: number, b: number[]): void {
  new Uint8Array(cpu.xmm.buffer, 16 * r, 16).set(b);
}
const seq = (n: number, f: (k: number) => number) => Array.from({ length: n }, (_, k) => f(k));

test('MOVDQA/MOVDQU/MOVUPS load and store 16 bytes; MOVAPS copies registers', () => {
  const { cpu, mem } = setup([
    '660f6f06',   // movdqa xmm0, [rsi]
    'f30f6f4e01', // movdqu xmm1, [rsi+1]
    '660f7f07',   // movdqa [rdi], xmm0
    '0f114f13',   // movups [rdi+0x13], xmm1
    '0f28d1',     // movaps xmm2, xmm1
  ]);
  mem.set(seq(32, (k) => k + 1), SRC);
  halts(cpu);
  assert.deepEqual(bytesOf(cpu, 0), seq(16, (k) => k + 1));
  assert.deepEqual(bytesOf(cpu, 1), seq(16, (k) => k + 2));
  assert.deepEqual(bytesOf(cpu, 2), seq(16, (k) => k + 2));
  assert.deepEqual(Array.from(mem.subarray(DST, DST + 16)), seq(16, (k) => k + 1));
  assert.deepEqual(Array.from(mem.subarray(DST + 0x13, DST + 0x23)), seq(16, (k) => k + 2));
});

test('aligned forms raise #GP(0) on a misaligned operand and change nothing', () => {
  for (const code of ['660f6f4608' /* movdqa xmm0,[rsi+8] */, '0f294708' /* movaps [rdi+8],xmm0 */,
    '660fef4608' /* pxor xmm0,[rsi+8] */, '0fae4708' /* fxsave [rdi+8] */]) {
    const { cpu, mem } = setup([code]);
    setXmm(cpu, 0, [1, 2, 3, 4]);
    faults(cpu, 13);
    assert.equal(cpu.exit.intrError, 0);
    assert.deepEqual(xmm(cpu, 0), [1, 2, 3, 4], code);
    assert.ok(mem.subarray(DST, DST + 600).every((b) => b === 0), code);
  }
});

test('unaligned MOVUPS store across a page boundary is all-or-nothing', () => {
  const { cpu, mem } = setup(['0f1107' /* movups [rdi], xmm0 */]);
  // Map the first 2 MiB with 4K pages (page table at 0x5000) leaving 0x41000 not present.
  const dv = new DataView(mem.buffer);
  const pt = 0x5000;
  dv.setUint32(0x3000, pt | 3, true);
  for (let k = 0; k < 512; k++) dv.setUint32(pt + 8 * k, (k * 0x1000) | 3, true);
  dv.setUint32(pt + 8 * 0x41, 0, true);
  cpu.flushTlb(false);
  cpu.intercepts.exceptionBitmap |= 1 << 14;
  cpu.R[2 * RDI] = 0x40ff8;
  setXmm(cpu, 0, [-1, -1, -1, -1]);
  faults(cpu, 14);
  assert.equal(cpu.exit.qual, 0x41000);
  assert.ok(mem.subarray(0x40ff8, 0x41000).every((b) => b === 0));
});

test('MOVD/MOVQ between GPRs, memory and XMM zero-extend', () => {
  const { cpu, mem, dv } = setup([
    '660f6ed8',   // movd xmm3, eax
    '66480f6ee0', // movq xmm4, rax
    '660f7ee1',   // movd ecx, xmm4
    'f30f7e2e',   // movq xmm5, [rsi]
    '660fd62f',   // movq [rdi], xmm5
    'f3450f7ee5', // movq xmm12, xmm13
  ]);
  cpu.R[2 * RAX] = 0x11223344; cpu.R[2 * RAX + 1] = 0x55667788;
  cpu.R[2 * RCX + 1] = -1;
  setXmm(cpu, 3, [9, 9, 9, 9]); setXmm(cpu, 5, [9, 9, 9, 9]); setXmm(cpu, 12, [9, 9, 9, 9]);
  setXmm(cpu, 13, [5, 6, 7, 8]);
  dv.setUint32(SRC, 0xaabbccdd, true); dv.setUint32(SRC + 4, 0x01020304, true); dv.setUint32(SRC + 8, 0xffffffff, true);
  halts(cpu);
  assert.deepEqual(xmm(cpu, 3), [0x11223344, 0, 0, 0]);
  assert.deepEqual(xmm(cpu, 4), [0x11223344, 0x55667788, 0, 0]);
  assert.equal(cpu.R[2 * RCX], 0x11223344); assert.equal(cpu.R[2 * RCX + 1], 0);
  assert.deepEqual(xmm(cpu, 5), [0xaabbccdd, 0x01020304, 0, 0]);
  assert.equal(dv.getUint32(DST, true), 0xaabbccdd); assert.equal(dv.getUint32(DST + 4, true), 0x01020304);
  assert.deepEqual(xmm(cpu, 12), [5, 6, 0, 0]);
  void mem;
});

test('MOVSS/MOVSD: loads zero the upper lanes, register moves merge, stores write the low element', () => {
  const { cpu, dv } = setup([
    'f30f1036', // movss xmm6, [rsi]
    'f20f103e', // movsd xmm7, [rsi]
    'f30f10c1', // movss xmm0, xmm1
    'f20f10d3', // movsd xmm2, xmm3
    'f20f1137', // movsd [rdi], xmm6
  ]);
  dv.setUint32(SRC, 0x3f800000, true); dv.setUint32(SRC + 4, 0x40000000, true);
  setXmm(cpu, 6, [9, 9, 9, 9]); setXmm(cpu, 7, [9, 9, 9, 9]);
  setXmm(cpu, 0, [1, 2, 3, 4]); setXmm(cpu, 1, [5, 6, 7, 8]);
  setXmm(cpu, 2, [1, 2, 3, 4]); setXmm(cpu, 3, [5, 6, 7, 8]);
  halts(cpu);
  assert.deepEqual(xmm(cpu, 6), [0x3f800000, 0, 0, 0]);
  assert.deepEqual(xmm(cpu, 7), [0x3f800000, 0x40000000, 0, 0]);
  assert.deepEqual(xmm(cpu, 0), [5, 2, 3, 4]);
  assert.deepEqual(xmm(cpu, 2), [5, 6, 3, 4]);
  assert.equal(dv.getUint32(DST, true), 0x3f800000); assert.equal(dv.getUint32(DST + 4, true), 0);
});

test('MOVLPS/MOVHPS/MOVLHPS/MOVHLPS move quadword halves', () => {
  const { cpu, dv } = setup([
    '0f123e', // movlps xmm7, [rsi]
    '0f1636', // movhps xmm6, [rsi]
    '0f16e9', // movlhps xmm5, xmm1
    '0f12e1', // movhlps xmm4, xmm1
  ]);
  dv.setUint32(SRC, 0xaaaa, true); dv.setUint32(SRC + 4, 0xbbbb, true);
  for (const r of [4, 5, 6, 7]) setXmm(cpu, r, [1, 2, 3, 4]);
  setXmm(cpu, 1, [5, 6, 7, 8]);
  halts(cpu);
  assert.deepEqual(xmm(cpu, 7), [0xaaaa, 0xbbbb, 3, 4]);
  assert.deepEqual(xmm(cpu, 6), [1, 2, 0xaaaa, 0xbbbb]);
  assert.deepEqual(xmm(cpu, 5), [1, 2, 5, 6]);
  assert.deepEqual(xmm(cpu, 4), [7, 8, 3, 4]);
});

test('packed integer arithmetic, compares and PMOVMSKB', () => {
  const { cpu } = setup([
    '66450fefc0', // pxor xmm8, xmm8
    '660ffcc1',   // paddb xmm0, xmm1
    '660f74d3',   // pcmpeqb xmm2, xmm3
    '660fd7c2',   // pmovmskb eax, xmm2
    '660f64e5',   // pcmpgtb xmm4, xmm5
    '660ffbf7',   // psubq xmm6, xmm7
  ]);
  setXmm(cpu, 8, [1, 2, 3, 4]);
  setBytes(cpu, 0, seq(16, (k) => 250 + k & 0xff)); setBytes(cpu, 1, seq(16, () => 10));
  setBytes(cpu, 2, seq(16, (k) => k)); setBytes(cpu, 3, seq(16, (k) => (k % 3 === 0 ? k : 99)));
  setBytes(cpu, 4, seq(16, (k) => (k * 17) & 0xff)); setBytes(cpu, 5, seq(16, () => 0x40));
  setXmm(cpu, 6, [0, 1, 5, 0]); setXmm(cpu, 7, [1, 0, 6, 0]);
  halts(cpu);
  assert.deepEqual(xmm(cpu, 8), [0, 0, 0, 0]);
  assert.deepEqual(bytesOf(cpu, 0), seq(16, (k) => (250 + k + 10) & 0xff));
  assert.equal(cpu.R[2 * RAX], 0b1001001001001001);
  assert.deepEqual(bytesOf(cpu, 4), seq(16, (k) => { const v = ((k * 17) << 24) >> 24; return v > 0x40 ? 0xff : 0; }));
  assert.deepEqual(xmm(cpu, 6), [0xffffffff, 0, 0xffffffff, 0xffffffff]);
});

test('PMULUDQ gives exact 64-bit products; PMULLW, PMAXSW, PMINUB', () => {
  const { cpu } = setup([
    '660ff4c1', // pmuludq xmm0, xmm1
    '660fd5d3', // pmullw xmm2, xmm3
    '660feee5', // pmaxsw xmm4, xmm5
    '660fdaf7', // pminub xmm6, xmm7
  ]);
  setXmm(cpu, 0, [0xffffffff, 7, 0x12345678, 7]); setXmm(cpu, 1, [0xffffffff, 9, 0x9abcdef0, 9]);
  setXmm(cpu, 2, [0x00030002, 0, 0, 0xffff8000]); setXmm(cpu, 3, [0x00050004, 0, 0, 0x00020003]);
  setXmm(cpu, 4, [0x7fff8000, 0, 0, 0]); setXmm(cpu, 5, [0x00010001, 0, 0, 0]);
  setBytes(cpu, 6, seq(16, (k) => k * 16)); setBytes(cpu, 7, seq(16, () => 0x80));
  halts(cpu);
  const p1 = 0xffffffffn * 0xffffffffn, p2 = 0x12345678n * 0x9abcdef0n;
  assert.deepEqual(xmm(cpu, 0), [Number(p1 & 0xffffffffn), Number(p1 >> 32n), Number(p2 & 0xffffffffn), Number(p2 >> 32n)]);
  assert.deepEqual(xmm(cpu, 2), [0x000f0008, 0, 0, 0xfffe8000]);
  assert.deepEqual(xmm(cpu, 4), [0x7fff0001, 0, 0, 0]);
  assert.deepEqual(bytesOf(cpu, 6), seq(16, (k) => Math.min(k * 16, 0x80)));
});

test('shuffles: PSHUFD, PSHUFB, SHUFPS, PUNPCKLBW, PUNPCKHQDQ, PALIGNR', () => {
  const { cpu } = setup([
    '660f70c11b',   // pshufd xmm0, xmm1, 0x1b
    '660f3800d3',   // pshufb xmm2, xmm3
    '0fc6e54e',     // shufps xmm4, xmm5, 0x4e
    '660f60f7',     // punpcklbw xmm6, xmm7
    '66450f6dc1',   // punpckhqdq xmm8, xmm9
    '66450f3a0fd303', // palignr xmm10, xmm11, 3
  ]);
  setXmm(cpu, 1, [10, 11, 12, 13]);
  setBytes(cpu, 2, seq(16, (k) => 100 + k)); setBytes(cpu, 3, seq(16, (k) => (k === 5 ? 0x80 : 15 - k)));
  setXmm(cpu, 4, [1, 2, 3, 4]); setXmm(cpu, 5, [5, 6, 7, 8]);
  setBytes(cpu, 6, seq(16, (k) => k)); setBytes(cpu, 7, seq(16, (k) => 0x80 + k));
  setXmm(cpu, 8, [1, 2, 3, 4]); setXmm(cpu, 9, [5, 6, 7, 8]);
  setBytes(cpu, 10, seq(16, (k) => 0x40 + k)); setBytes(cpu, 11, seq(16, (k) => k));
  halts(cpu);
  assert.deepEqual(xmm(cpu, 0), [13, 12, 11, 10]);
  assert.deepEqual(bytesOf(cpu, 2), seq(16, (k) => (k === 5 ? 0 : 100 + 15 - k)));
  assert.deepEqual(xmm(cpu, 4), [3, 4, 5, 6]);
  assert.deepEqual(bytesOf(cpu, 6), seq(16, (k) => (k & 1 ? 0x80 + (k >> 1) : k >> 1)));
  assert.deepEqual(xmm(cpu, 8), [3, 4, 7, 8]);
  assert.deepEqual(bytesOf(cpu, 10), seq(16, (k) => (k + 3 < 16 ? k + 3 : 0x40 + k + 3 - 16)));
});

test('shifts by immediate and by register, byte shifts', () => {
  const { cpu } = setup([
    '660f73f003', // psllq xmm0, 3
    '660f73d905', // psrldq xmm1, 5
    '660fe1d3',   // psraw xmm2, xmm3
    '660f72e428', // psrad xmm4, 40
    '660f73fd03', // pslldq xmm5, 3
    '660fd3f7',   // psrlq xmm6, xmm7
  ]);
  setXmm(cpu, 0, [0xf0000001, 0x10000000, 1, 0]);
  setBytes(cpu, 1, seq(16, (k) => k + 1));
  setXmm(cpu, 2, [0x80000010, 0, 0, 0x7fff0000]); setXmm(cpu, 3, [4, 0, 0, 0]);
  setXmm(cpu, 4, [0x80000000, 5, -5, 0]);
  setBytes(cpu, 5, seq(16, (k) => k + 1));
  setXmm(cpu, 6, [-1, -1, 0, 1]); setXmm(cpu, 7, [0, 1, 0, 0]); // count 2^32: clears
  halts(cpu);
  assert.deepEqual(xmm(cpu, 0), [0x80000008, 0x80000007, 8, 0]);
  assert.deepEqual(bytesOf(cpu, 1), seq(16, (k) => (k + 5 < 16 ? k + 6 : 0)));
  assert.deepEqual(xmm(cpu, 2), [0xf8000001, 0, 0, 0x07ff0000]);
  assert.deepEqual(xmm(cpu, 4), [0xffffffff, 0, 0xffffffff, 0]);
  assert.deepEqual(bytesOf(cpu, 5), seq(16, (k) => (k < 3 ? 0 : k - 2)));
  assert.deepEqual(xmm(cpu, 6), [0, 0, 0, 0]);
});

test('PTEST sets ZF and CF and clears the other arithmetic flags', () => {
  const { cpu } = setup(['660f3817c1' /* ptest xmm0, xmm1 */]);
  setXmm(cpu, 0, [0xf0, 0, 0, 0]); setXmm(cpu, 1, [0x0f, 0, 0, 0]);
  halts(cpu);
  assert.equal(getRflags(cpu) & (CF | ZF), ZF);
  const b = setup(['660f3817c1']);
  setXmm(b.cpu, 0, [0xff, 0, 0, 1]); setXmm(b.cpu, 1, [0x0f, 0, 0, 1]);
  halts(b.cpu);
  assert.equal(getRflags(b.cpu) & (CF | ZF | 0x8d4), CF);
});

test('PINSRW/PEXTRW, MOVNTI, MOVNTDQ', () => {
  const { cpu, dv } = setup([
    '660fc4c005', // pinsrw xmm0, eax, 5
    '660fc5c805', // pextrw ecx, xmm0, 5
    '0fc307',     // movnti [rdi], eax
    '660fe74710', // movntdq [rdi+16], xmm0
  ]);
  cpu.R[2 * RAX] = 0x1234abcd; cpu.R[2 * RCX + 1] = 7;
  halts(cpu);
  assert.deepEqual(xmm(cpu, 0), [0, 0, 0xabcd0000, 0]);
  assert.equal(cpu.R[2 * RCX], 0xabcd); assert.equal(cpu.R[2 * RCX + 1], 0);
  assert.equal(dv.getUint32(DST, true), 0x1234abcd);
  assert.equal(dv.getUint32(DST + 24, true), 0xabcd0000);
});

test('LDMXCSR/STMXCSR round trip; reserved bits raise #GP(0)', () => {
  const { cpu, dv } = setup(['0fae16' /* ldmxcsr [rsi] */, '0fae1f' /* stmxcsr [rdi] */]);
  dv.setUint32(SRC, 0x9fc0, true);
  halts(cpu);
  assert.equal(cpu.mxcsr, 0x9fc0);
  assert.equal(dv.getUint32(DST, true), 0x9fc0);
  const b = setup(['0fae16']);
  b.dv.setUint32(SRC, 0x10000, true);
  faults(b.cpu, 13);
  assert.equal(b.cpu.mxcsr, 0x1f80);
});

test('FXSAVE writes the SDM Vol. 1 Table 10-2 image; FXRSTOR restores it', () => {
  const { cpu, mem, dv } = setup([
    'dbe3',     // fninit
    '0fae07',   // fxsave [rdi]
    '0fae0e',   // fxrstor [rsi]
  ]);
  for (let r = 0; r < 16; r++) setXmm(cpu, r, [r, r + 100, r + 200, r + 300]);
  cpu.mxcsr = 0x1fa0;
  // The image to restore: distinct XMM values, MXCSR 0x1f80, FCW 0x027f.
  for (let r = 0; r < 16; r++) for (let k = 0; k < 4; k++) dv.setUint32(SRC + 160 + 16 * r + 4 * k, 0x1000 * r + k, true);
  dv.setUint32(SRC + 24, 0x1f80, true);
  dv.setUint16(SRC, 0x027f, true);
  halts(cpu);
  assert.equal(dv.getUint16(DST, true), 0x037f, 'FCW after FNINIT');
  assert.equal(dv.getUint32(DST + 24, true), 0x1fa0, 'MXCSR');
  assert.equal(dv.getUint32(DST + 28, true), 0xffff, 'MXCSR_MASK');
  for (let r = 0; r < 16; r++) assert.equal(dv.getUint32(DST + 160 + 16 * r + 4, true), r + 100, `xmm${r}`);
  assert.ok(mem.subarray(DST + 464, DST + 512).every((b) => b === 0), 'bytes 464-511 untouched');
  assert.equal(cpu.mxcsr, 0x1f80);
  assert.equal(cpu.fxArea[0] | (cpu.fxArea[1] << 8), 0x027f);
  for (let r = 0; r < 16; r++) assert.deepEqual(xmm(cpu, r), [0x1000 * r, 0x1000 * r + 1, 0x1000 * r + 2, 0x1000 * r + 3]);
});

test('FXSAVE stores FOP/FIP/FDP as the modelled vendor does: Intel always, AMD only while FSW.ES is set', () => {
  // The image to restore: FOP 0x123, FIP and FDP with distinct bytes; FSW ES set or clear.
  const run = (vendor: 'intel' | 'amd', fcw: number, fsw: number) => {
    const { cpu, mem, dv } = setup(['0fae0e' /* fxrstor [rsi] */, '0fae07' /* fxsave [rdi] */]);
    cpu.vendor = vendor;
    dv.setUint16(SRC, fcw, true);
    dv.setUint16(SRC + 2, fsw, true);
    dv.setUint16(SRC + 6, 0x123, true);
    for (let k = 8; k < 24; k++) mem[SRC + k] = 0x10 + k;
    dv.setUint32(SRC + 24, 0x1f80, true);
    halts(cpu);
    return Array.from(mem.subarray(DST + 6, DST + 24));
  };
  const pointers = [0x23, 0x01, ...seq(16, (k) => 0x18 + k)];
  assert.deepEqual(run('intel', 0x037f, 0), pointers, 'Intel, ES clear');
  assert.deepEqual(run('amd', 0x037f, 0), new Array(18).fill(0), 'AMD, ES clear: zeros');
  // FCW 0x37e unmasks #I and FSW has IE and ES set: an exception is pending.
  assert.deepEqual(run('amd', 0x037e, 0x0081), pointers, 'AMD, ES set');
  assert.deepEqual(run('intel', 0x037e, 0x0081), pointers, 'Intel, ES set');
});

test('FXRSTOR with reserved MXCSR bits raises #GP(0) and restores nothing', () => {
  const { cpu, dv } = setup(['0fae0e' /* fxrstor [rsi] */]);
  dv.setUint32(SRC + 24, 0x40000, true);
  dv.setUint32(SRC + 160, 77, true);
  faults(cpu, 13);
  assert.equal(cpu.xmm[0], 0);
});

test('CR0.EM=1 or CR4.OSFXSR=0 makes SSE #UD; CR0.TS=1 makes it #NM', () => {
  const a = setup(['660fefc0' /* pxor xmm0, xmm0 */]);
  a.cpu.cr4 &= ~CR4_OSFXSR;
  faults(a.cpu, 6);
  const b = setup(['660fefc0']);
  b.cpu.cr0 |= CR0_EM | CR0_TS;
  faults(b.cpu, 6);
  const c = setup(['660fefc0']);
  c.cpu.cr0 |= CR0_TS;
  faults(c.cpu, 7);
  // FXSAVE: #NM on CR0.TS or CR0.EM; FWAIT: #NM only with CR0.MP and CR0.TS; FNINIT: #NM on TS.
  const d = setup(['0fae07']); d.cpu.cr0 |= CR0_EM; faults(d.cpu, 7);
  const e = setup(['9b']); e.cpu.cr0 |= CR0_TS; halts(e.cpu);
  const f = setup(['9b']); f.cpu.cr0 |= CR0_TS | CR0_MP; faults(f.cpu, 7);
  const g = setup(['dbe3']); g.cpu.cr0 |= CR0_TS; faults(g.cpu, 7);
  // MOVNTI is an integer instruction: no CR0/CR4 checks.
  const h = setup(['0fc307']); h.cpu.cr4 &= ~CR4_OSFXSR; h.cpu.cr0 |= CR0_TS; halts(h.cpu);
});

test('SSE works in real mode with 16-bit addressing', () => {
  const { cpu, mem } = bareCpu();
  realMode(cpu, 0x7c00);
  cpu.cr4 |= CR4_OSFXSR;
  cpu.R[2 * RSI] = 0x1000;
  mem.set(seq(16, (k) => k + 1), 0x1000);
  load(mem, 0x7c00, hex(['660f6f04', '660f7ec0', 'f4'])); // movdqa xmm0,[si]; movd eax,xmm0; hlt
  halts(cpu);
  assert.equal(cpu.R[0], 0x04030201);
});

test('floating-point arithmetic stops as not emulated, naming the instruction', () => {
  const { cpu } = setup(['0f58c1' /* addps xmm0, xmm1 */]);
  assert.equal(cpu.run(10), RUN_EXIT);
  assert.equal(cpu.exit.reason, HW_UNEMULATED);
  assert.match(cpu.exit.message, /addps/);
  assert.match(cpu.exit.message, /10000/);
});

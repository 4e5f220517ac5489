// MMX technology (SDM Vol. 1 ch. 9, Vol. 2 instruction pages, Vol. 3A 13.5): MM0-MM7 as the
// mantissas of the x87 registers in the FXSAVE image, the x87 -> MMX transition (TOP = 0, all tags
// valid, bits 79:64 of a written register all ones), the #UD/#NM rules, all-or-nothing memory forms,
// and every instruction group with hand-computed values. test/cpu/mmx-native.test.ts compares the
// same handlers with the host CPU from random states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareCpu, realMode, load } from './helpers';
import { SRC, DST, hex, simdSetup, halts, faults } from './simd';
import { setRflagsRaw } from './raw';
import { RUN_EXIT, HW_UNEMULATED } from '../../vm-core/cpu';
import { AC, CR0_AM, CR0_EM, CR0_TS, CR4_OSFXSR, CS, DS, ES, FS, GS, SS, RAX, RCX, RDX, RSI, RDI } from '../../vm-core/cpu/state';
import type { Cpu } from '../../vm-core/cpu';
import { KVM_EXIT_IO } from '../../vm-core/kvm';
import { longModeGuest, runOnce } from '../kvm/helpers';

/** The shared SIMD set-up (simd.ts) with #UD/#NM/#GP/#PF/#AC intercepted. */
const setup = (code: string[]) => simdSetup(code, (1 << 6) | (1 << 7) | (1 << 13) | (1 << 14) | (1 << 17));

// ---- the x87 register file in c.fxArea (FSW at 2, abridged FTW at 4, ST(k) at 32 + 16k)
const top = (cpu: Cpu) => (cpu.fxArea[3] >> 3) & 7;
const fsw = (cpu: Cpu) => cpu.fxArea[2] | (cpu.fxArea[3] << 8);
const ftw = (cpu: Cpu) => cpu.fxArea[4];
/** Byte offset of physical register Rn (= MMn) in the image: slot ST((n - TOP) & 7). */
const slot = (cpu: Cpu, n: number) => 32 + 16 * ((n - top(cpu)) & 7);
function setMm(cpu: Cpu, n: number, v: bigint): void {
  new DataView(cpu.fxArea.buffer, cpu.fxArea.byteOffset).setBigUint64(slot(cpu, n), BigInt.asUintN(64, v), true);
}
function mm(cpu: Cpu, n: number): bigint {
  return new DataView(cpu.fxArea.buffer, cpu.fxArea.byteOffset).getBigUint64(slot(cpu, n), true);
}
/** Bits 79:64 (sign and exponent) of Rn. */
function exponent(cpu: Cpu, n: number): number {
  const o = slot(cpu, n) + 8;
  return cpu.fxArea[o] | (cpu.fxArea[o + 1] << 8);
}
function setExponent(cpu: Cpu, n: number, e: number): void {
  const o = slot(cpu, n) + 8;
  cpu.fxArea[o] = e & 0xff; cpu.fxArea[o + 1] = e >> 8;
}
/** A quadword from bytes / words / dwords, lowest element first. */
const B = (...b: number[]) => b.reduceRight((a, x) => (a << 8n) | BigInt(x), 0n);
const W = (...w: number[]) => w.reduceRight((a, x) => (a << 16n) | BigInt(x), 0n);
const D = (...d: number[]) => d.reduceRight((a, x) => (a << 32n) | BigInt(x >>> 0), 0n);

// ---------------------------------------------------------------- data movement

test('MOVD/MOVQ between GPRs, memory and MM registers zero-extend; MOVNTQ; MOVQ2DQ/MOVDQ2Q', () => {
  const { cpu, dv } = setup([
    '0f6ec0', // movd mm0, eax
    '480f6ec8', // movq mm1, rax
    '0f7ec9', // movd ecx, mm1
    '480f7eca', // movq rdx, mm1
    '0f6f16', // movq mm2, [rsi]
    '0f6e1e', // movd mm3, [rsi]
    '0f7f17', // movq [rdi], mm2
    '0f7e5f08', // movd [rdi+8], mm3
    '0fe75710', // movntq [rdi+0x10], mm2
    '0f6fe9', // movq mm5, mm1
    'f30fd6f1', // movq2dq xmm6, mm1
    'f20fd6fe', // movdq2q mm7, xmm6
  ]);
  cpu.R[2 * RAX] = 0x11223344; cpu.R[2 * RAX + 1] = 0x55667788;
  cpu.R[2 * RCX + 1] = -1;
  setMm(cpu, 0, -1n); setMm(cpu, 3, -1n);
  cpu.xmm.set([9, 9, 9, 9], 4 * 6);
  dv.setUint32(SRC, 0xaabbccdd, true); dv.setUint32(SRC + 4, 0x01020304, true);
  dv.setUint32(DST + 12, 0xeeeeeeee, true);
  halts(cpu);
  assert.equal(mm(cpu, 0), 0x11223344n);
  assert.equal(mm(cpu, 1), 0x5566778811223344n);
  assert.equal(cpu.R[2 * RCX], 0x11223344); assert.equal(cpu.R[2 * RCX + 1], 0);
  assert.equal(cpu.R[2 * RDX], 0x11223344); assert.equal(cpu.R[2 * RDX + 1], 0x55667788);
  assert.equal(mm(cpu, 2), 0x01020304aabbccddn);
  assert.equal(mm(cpu, 3), 0xaabbccddn);
  assert.equal(dv.getBigUint64(DST, true), 0x01020304aabbccddn);
  assert.equal(dv.getUint32(DST + 8, true), 0xaabbccdd);
  assert.equal(dv.getUint32(DST + 12, true), 0xeeeeeeee, 'MOVD m32 writes 4 bytes');
  assert.equal(dv.getBigUint64(DST + 0x10, true), 0x01020304aabbccddn);
  assert.equal(mm(cpu, 5), 0x5566778811223344n);
  assert.deepEqual(Array.from(cpu.xmm.subarray(24, 28), (v) => v >>> 0), [0x11223344, 0x55667788, 0, 0]);
  assert.equal(mm(cpu, 7), 0x5566778811223344n);
});

test('real mode: MMX loads, arithmetic and stores with 16-bit addressing', () => {
  const { cpu, mem } = bareCpu();
  const dv = new DataView(mem.buffer);
  realMode(cpu, 0x1000);
  load(mem, 0x1000, hex(['0f6f04' /* movq mm0, [si] */, '0ffc4408' /* paddb mm0, [si+8] */, '0f7f05' /* movq [di], mm0 */,
    '0f7ec0' /* movd eax, mm0 */, 'f4']));
  cpu.R[2 * RSI] = 0x2000; cpu.R[2 * RDI] = 0x3000;
  dv.setBigUint64(0x2000, 0x0102030405060708n, true);
  dv.setBigUint64(0x2008, 0xff010101010101f9n, true);
  halts(cpu);
  assert.equal(dv.getBigUint64(0x3000, true), 0x0003040506070801n);
  assert.equal(cpu.R[2 * RAX] >>> 0, 0x06070801);
});

// ---------------------------------------------------------------- the x87 state (SDM Vol. 1 9.5, Table 9-2)

test('an MMX instruction sets TOP = 0 (rotating the ST slots), all tags valid, and bits 79:64 of the register it writes', () => {
  const { cpu } = setup(['0f6fc3' /* movq mm0, mm3 */]);
  const f = cpu.fxArea;
  // TOP = 5, C3 and C0 set, PE flag (masked) set; every register empty.
  f[2] = 0x20; f[3] = (5 << 3) | 0x41; f[4] = 0;
  // Slot j (ST(j)) holds R[(5 + j) & 7]: mantissa bytes 0xj0..0xj7, exponent 0x1000 + j.
  for (let j = 0; j < 8; j++) {
    for (let b = 0; b < 8; b++) f[32 + 16 * j + b] = (j << 4) | b;
    f[32 + 16 * j + 8] = j; f[32 + 16 * j + 9] = 0x10;
  }
  halts(cpu);
  assert.equal(top(cpu), 0);
  assert.equal(fsw(cpu), 0x4120, 'only TOP changed in FSW');
  assert.equal(ftw(cpu), 0xff);
  // Now slot k holds Rk, which was in slot (k - 5) & 7.
  for (let k = 1; k < 8; k++) {
    const j = (k - 5) & 7;
    assert.equal(mm(cpu, k), B(...[0, 1, 2, 3, 4, 5, 6, 7].map((b) => (j << 4) | b)), `R${k}`);
    assert.equal(exponent(cpu, k), 0x1000 + j, `R${k} exponent unchanged`);
  }
  // R0 <- R3 (old slot 6), with sign and exponent all ones.
  assert.equal(mm(cpu, 0), 0x6766656463626160n);
  assert.equal(exponent(cpu, 0), 0xffff);
});

test('reading an MM register leaves its exponent; EMMS empties the tags but keeps TOP 0 and the values', () => {
  const { cpu } = setup([
    '0f7ed0', // movd eax, mm2
    '0fc5ca01', // pextrw ecx, mm2, 1
  ]);
  cpu.fxArea[3] = 2 << 3; // TOP = 2: R2 is in slot ST(0)
  cpu.fxArea[4] = 0x0f;
  setMm(cpu, 2, 0x0123456789abcdefn); setExponent(cpu, 2, 0x1234);
  assert.equal(cpu.fxArea[32], 0xef);
  halts(cpu);
  assert.equal(cpu.R[2 * RAX] >>> 0, 0x89abcdef);
  assert.equal(cpu.R[2 * RCX], 0x89ab);
  assert.equal(top(cpu), 0);
  assert.equal(ftw(cpu), 0xff);
  assert.equal(mm(cpu, 2), 0x0123456789abcdefn);
  assert.equal(exponent(cpu, 2), 0x1234);

  const e = setup(['0f6fc1' /* movq mm0, mm1 */, '0f77' /* emms */]).cpu;
  setMm(e, 1, 0x42n);
  halts(e);
  assert.equal(ftw(e), 0);
  assert.equal(top(e), 0);
  assert.equal(mm(e, 0), 0x42n);
  assert.equal(exponent(e, 0), 0xffff);
});

test('FXSAVE after an MMX instruction stores TOP 0, FTW FFH and MMn at ST(n) with bits 79:64 set', () => {
  const { cpu, mem, dv } = setup(['0ffec1' /* paddd mm0, mm1 */, '0fae07' /* fxsave [rdi] */]);
  cpu.fxArea[3] = 7 << 3;
  setMm(cpu, 0, D(1, 2)); setMm(cpu, 1, D(10, 20)); setExponent(cpu, 1, 0x3fff);
  halts(cpu);
  assert.equal(dv.getUint16(DST + 2, true), 0, 'FSW: TOP 0');
  assert.equal(mem[DST + 4], 0xff, 'abridged FTW');
  assert.equal(dv.getBigUint64(DST + 32, true), D(11, 22));
  assert.equal(dv.getUint16(DST + 40, true), 0xffff);
  assert.equal(dv.getBigUint64(DST + 48, true), D(10, 20));
  assert.equal(dv.getUint16(DST + 56, true), 0x3fff);
});

test('KVM_GET_FPU sees the MMX state: fpr[n] = MMn with exponent FFFFH, ftwx FFH, TOP 0', () => {
  const t = longModeGuest('intel', `bits 64
org 0x100000
  mov rax, 0x1122334455667788
  movq mm3, rax
  pxor mm5, mm5
  out 0x10, al
  hlt
`);
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  const f = t.vcpu.getFpu();
  assert.equal(f.ftwx, 0xff);
  assert.equal((f.fsw >> 11) & 7, 0);
  assert.deepEqual(Array.from(f.fpr[3].subarray(0, 10)), [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xff, 0xff]);
  assert.deepEqual(Array.from(f.fpr[5].subarray(0, 10)), [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
});

// ---------------------------------------------------------------- exceptions

test('#UD when CR0.EM = 1, #NM when CR0.TS = 1; nothing changes', () => {
  for (const [bit, vector] of [[CR0_EM, 6], [CR0_TS, 7]] as const) {
    for (const code of ['0ffec1' /* paddd mm0, mm1 */, '0f7ec8' /* movd eax, mm1 */, '0f77' /* emms */, '0ff7ca' /* maskmovq mm1, mm2 */]) {
      const { cpu } = setup([code]);
      cpu.cr0 |= bit;
      cpu.fxArea[3] = 3 << 3; cpu.fxArea[4] = 0x0f;
      setMm(cpu, 2, -1n);
      const before = cpu.fxArea.slice();
      faults(cpu, vector);
      assert.deepEqual(cpu.fxArea, before, code);
    }
  }
});

test('MOVQ2DQ/MOVDQ2Q need CR4.OSFXSR (they touch an XMM register); the other mm forms do not', () => {
  for (const code of ['f30fd6c1' /* movq2dq xmm0, mm1 */, 'f20fd6c1' /* movdq2q mm0, xmm1 */]) {
    const { cpu } = setup([code]);
    cpu.cr4 &= ~CR4_OSFXSR;
    faults(cpu, 6);
  }
  const { cpu } = setup(['0f6fc1' /* movq mm0, mm1 */, '0f70c11b' /* pshufw mm0, mm1, 0x1b */, '0f3800d1' /* pshufb mm2, mm1 */]);
  cpu.cr4 &= ~CR4_OSFXSR;
  setMm(cpu, 1, W(1, 2, 3, 4));
  halts(cpu);
  assert.equal(mm(cpu, 0), W(4, 3, 2, 1));
});

/** Map the first 2 MiB with 4K pages (page table at 0x5000) and make the page at 0x41000 not present. */
function holeAt41000(cpu: Cpu, mem: Uint8Array): void {
  const dv = new DataView(mem.buffer);
  const pt = 0x5000;
  dv.setUint32(0x3000, pt | 3, true);
  for (let k = 0; k < 512; k++) dv.setUint32(pt + 8 * k, (k * 0x1000) | 3, true);
  dv.setUint32(pt + 8 * 0x41, 0, true);
  cpu.flushTlb(false);
}

test('a memory fault leaves the x87 state as it was (TOP, tags, registers) and writes nothing', () => {
  for (const code of ['0ffe06' /* paddd mm0, [rsi] */, '0f7f0f' /* movq [rdi], mm1 */, '0ff7ca' /* maskmovq mm1, mm2 */,
    '0f7e0f' /* movd [rdi], mm1 */]) {
    const { cpu, mem } = setup([code]);
    holeAt41000(cpu, mem);
    cpu.R[2 * RSI] = 0x40ffd; cpu.R[2 * RDI] = 0x40ffd;
    cpu.fxArea[3] = 5 << 3; cpu.fxArea[4] = 0x81;
    setMm(cpu, 1, -1n); setMm(cpu, 2, -1n);
    const before = cpu.fxArea.slice();
    faults(cpu, 14);
    assert.equal(cpu.exit.qual, 0x41000, code);
    assert.deepEqual(cpu.fxArea, before, code);
    assert.ok(mem.subarray(0x40ff8, 0x41000).every((b) => b === 0), code);
  }
});

test('the low-half unpacks read 32 bits from memory (mm, mm/m32): no fault on the next page', () => {
  const { cpu, mem, dv } = setup(['0f6006' /* punpcklbw mm0, [rsi] */]);
  holeAt41000(cpu, mem);
  cpu.R[2 * RSI] = 0x40ffc;
  dv.setUint32(0x40ffc, 0x13121110, true);
  setMm(cpu, 0, B(0, 1, 2, 3, 4, 5, 6, 7));
  halts(cpu);
  assert.equal(mm(cpu, 0), B(0, 0x10, 1, 0x11, 2, 0x12, 3, 0x13));
});

test('#AC at CPL 3 with CR0.AM and RFLAGS.AC on a misaligned 64-bit MMX access; no x87 change', () => {
  const { cpu, mem } = setup(['0f6f4601' /* movq mm0, [rsi+1] */]);
  const dv = new DataView(mem.buffer);
  dv.setUint32(0x1000, 0x2000 | 7, true); dv.setUint32(0x2000, 0x3000 | 7, true);
  for (let k = 0; k < 512; k++) dv.setUint32(0x3000 + k * 8, ((k * 0x200000) | 0x87) >>> 0, true);
  for (const s of [CS, DS, ES, SS, FS, GS]) {
    const seg = cpu.seg[s];
    seg.selector = s === CS ? 0x2b : 0x33; seg.ar = s === CS ? 0xa0fb : 0xc0f3;
  }
  cpu.cr0 |= CR0_AM;
  setRflagsRaw(cpu, 2 | AC);
  cpu.updateMode();
  cpu.flushTlb(false);
  assert.equal(cpu.cpl, 3);
  cpu.fxArea[3] = 1 << 3;
  const before = cpu.fxArea.slice();
  faults(cpu, 17);
  assert.deepEqual(cpu.fxArea, before);
});

test('SSE floating-point conversions with an mm operand still stop as not emulated', () => {
  const { cpu } = setup(['0f2ac1' /* cvtpi2ps xmm0, mm1 */]);
  assert.equal(cpu.run(10), RUN_EXIT);
  assert.equal(cpu.exit.reason, HW_UNEMULATED);
  assert.match(cpu.exit.message, /cvtpi2ps/);
  assert.match(cpu.exit.message, /10000/);
});

// ---------------------------------------------------------------- arithmetic

test('PADDW/PADDSW/PADDUSW/PSUBSW/PSUBUSW: wrap-around and signed/unsigned saturation', () => {
  const { cpu } = setup([
    '0f6fd0', '0ffdd1', // movq mm2, mm0; paddw mm2, mm1
    '0f6fd8', '0fedd9', // paddsw mm3
    '0f6fe0', '0fdde1', // paddusw mm4
    '0f6fe8', '0fe9e9', // psubsw mm5
    '0f6ff0', '0fd9f1', // psubusw mm6
  ]);
  setMm(cpu, 0, W(0x7fff, 0x8000, 0xffff, 0x0001));
  setMm(cpu, 1, W(0x0001, 0xffff, 0x0001, 0x7fff));
  halts(cpu);
  assert.equal(mm(cpu, 2), W(0x8000, 0x7fff, 0x0000, 0x8000));
  assert.equal(mm(cpu, 3), W(0x7fff, 0x8000, 0x0000, 0x7fff));
  assert.equal(mm(cpu, 4), W(0x8000, 0xffff, 0xffff, 0x8000));
  assert.equal(mm(cpu, 5), W(0x7ffe, 0x8001, 0xfffe, 0x8002));
  assert.equal(mm(cpu, 6), W(0x7ffe, 0x0000, 0xfffe, 0x0000));
});

test('PADDB/PADDSB/PADDUSB/PSUBB/PSUBSB/PSUBUSB', () => {
  const { cpu } = setup([
    '0f6fd0', '0ffcd1', // paddb mm2
    '0f6fd8', '0fecd9', // paddsb mm3
    '0f6fe0', '0fdce1', // paddusb mm4
    '0f6fe8', '0ff8e9', // psubb mm5
    '0f6ff0', '0fe8f1', // psubsb mm6
    '0f6ff8', '0fd8f9', // movq mm7, mm0; psubusb mm7
  ]);
  setMm(cpu, 0, B(0x7f, 0x80, 0xff, 0x01, 0x10, 0x00, 0xfe, 0x40));
  setMm(cpu, 1, B(0x01, 0xff, 0x01, 0x7f, 0x20, 0x80, 0xfe, 0xc0));
  halts(cpu);
  assert.equal(mm(cpu, 2), B(0x80, 0x7f, 0x00, 0x80, 0x30, 0x80, 0xfc, 0x00));
  assert.equal(mm(cpu, 3), B(0x7f, 0x80, 0x00, 0x7f, 0x30, 0x80, 0xfc, 0x00));
  assert.equal(mm(cpu, 4), B(0x80, 0xff, 0xff, 0x80, 0x30, 0x80, 0xff, 0xff));
  assert.equal(mm(cpu, 5), B(0x7e, 0x81, 0xfe, 0x82, 0xf0, 0x80, 0x00, 0x80));
  assert.equal(mm(cpu, 6), B(0x7e, 0x81, 0xfe, 0x82, 0xf0, 0x7f, 0x00, 0x7f));
  assert.equal(mm(cpu, 7), B(0x7e, 0x00, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00));
});

test('PADDD/PSUBD/PADDQ/PSUBQ carry and borrow', () => {
  const { cpu } = setup([
    '0f6fd0', '0ffed1', // paddd mm2
    '0f6fd8', '0ffad9', // psubd mm3
    '0f6fe0', '0fd4e1', // paddq mm4
    '0f6fe8', '0ffbe9', // psubq mm5
  ]);
  setMm(cpu, 0, 0xffffffff80000000n);
  setMm(cpu, 1, 0x0000000180000000n);
  halts(cpu);
  assert.equal(mm(cpu, 2), 0n);
  assert.equal(mm(cpu, 3), 0xfffffffe00000000n);
  assert.equal(mm(cpu, 4), 0x0000000100000000n);
  assert.equal(mm(cpu, 5), 0xfffffffe00000000n);
});

test('PMULLW/PMULHW/PMULHUW/PMADDWD/PMULHRSW/PMADDUBSW/PMULUDQ', () => {
  const { cpu } = setup([
    '0f6fd0', '0fd5d1', // pmullw mm2
    '0f6fd8', '0fe5d9', // pmulhw mm3
    '0f6fe0', '0fe4e1', // pmulhuw mm4
    '0f6fe8', '0ff5e9', // pmaddwd mm5
    '0f6ff0', '0f380bf1', // pmulhrsw mm6
    '0f6ff8', '0f3804f9', // pmaddubsw mm7
  ]);
  setMm(cpu, 0, W(0x8000, 0x7fff, 0xffff, 0x0003));
  setMm(cpu, 1, W(0x8000, 0x0002, 0xffff, 0xfffe));
  halts(cpu);
  assert.equal(mm(cpu, 2), W(0x0000, 0xfffe, 0x0001, 0xfffa));
  assert.equal(mm(cpu, 3), W(0x4000, 0x0000, 0x0000, 0xffff));
  assert.equal(mm(cpu, 4), W(0x4000, 0x0000, 0xfffe, 0x0002));
  assert.equal(mm(cpu, 5), D(0x4000fffe, 0xfffffffb));
  assert.equal(mm(cpu, 6), W(0x8000, 0x0002, 0x0000, 0x0000));
  assert.equal(mm(cpu, 7), W(0xc000, 0x01fe, 0xfe02, 0xfffa));

  const q = setup(['0ff4d3' /* pmuludq mm2, mm3 */, '0f3804e1' /* pmaddubsw mm4, mm1 */]).cpu;
  setMm(q, 2, D(0xffffffff, 0x12345678)); setMm(q, 3, D(0xffffffff, 0x9abcdef0));
  setMm(q, 4, B(0xff, 0xff, 0x80, 0x80, 0, 0, 0, 0)); setMm(q, 1, B(0x7f, 0x7f, 0x80, 0x80, 0, 0, 0, 0));
  halts(q);
  assert.equal(mm(q, 2), 0xfffffffe00000001n);
  assert.equal(mm(q, 4), W(0x7fff, 0x8000, 0, 0), 'PMADDUBSW saturates');
});

test('PCMPEQB/W/D and PCMPGTB/W/D (signed)', () => {
  const { cpu } = setup([
    '0f74d1', // pcmpeqb mm2, mm1
    '0f64d9', // pcmpgtb mm3, mm1
  ]);
  setMm(cpu, 2, B(0x01, 0x80, 0x7f, 0xff, 0x00, 0x05, 0x05, 0xfe));
  setMm(cpu, 3, B(0x01, 0x80, 0x7f, 0xff, 0x00, 0x05, 0x05, 0xfe));
  setMm(cpu, 1, B(0x01, 0x7f, 0x80, 0x00, 0xff, 0x05, 0x06, 0xfe));
  halts(cpu);
  assert.equal(mm(cpu, 2), B(0xff, 0, 0, 0, 0, 0xff, 0, 0xff));
  assert.equal(mm(cpu, 3), B(0, 0, 0xff, 0, 0xff, 0, 0, 0));

  const w = setup([
    '0f75d3', // pcmpeqw mm2, mm3
    '0f65e3', // pcmpgtw mm4, mm3
    '0f76f5', // pcmpeqd mm6, mm5
    '0f66fd', // pcmpgtd mm7, mm5
    '0f66ec', // pcmpgtd mm5, mm4
  ]).cpu;
  setMm(w, 2, W(1, 0x8000, 0x7fff, 5)); setMm(w, 4, W(1, 0x8000, 0x7fff, 5));
  setMm(w, 3, W(1, 0x7fff, 0x8000, 6));
  setMm(w, 6, D(0x80000000, 7)); setMm(w, 7, D(0x80000000, 7));
  setMm(w, 5, D(0x7fffffff, 7));
  halts(w);
  assert.equal(mm(w, 2), W(0xffff, 0, 0, 0));
  assert.equal(mm(w, 4), W(0, 0, 0xffff, 0));
  assert.equal(mm(w, 6), D(0, 0xffffffff));
  assert.equal(mm(w, 7), D(0, 0));
  // mm4 is now W(0, 0, 0xffff, 0) = D(0, 0xffff).
  assert.equal(mm(w, 5), D(0xffffffff, 0));
});

test('PAND/PANDN/POR/PXOR', () => {
  const { cpu } = setup(['0f6fd0', '0fdbd1', '0f6fd8', '0fdfd9', '0f6fe0', '0febe1', '0f6fe8', '0fefe9', '0fefc0' /* pxor mm0, mm0 */]);
  setMm(cpu, 0, 0xff00ff00f0f0f0f0n);
  setMm(cpu, 1, 0x0ff00ff0ffff0000n);
  halts(cpu);
  assert.equal(mm(cpu, 2), 0x0f000f00f0f00000n);
  assert.equal(mm(cpu, 3), 0x00f000f00f0f0000n);
  assert.equal(mm(cpu, 4), 0xfff0fff0fffff0f0n);
  assert.equal(mm(cpu, 5), 0xf0f0f0f00f0ff0f0n);
  assert.equal(mm(cpu, 0), 0n);
  assert.equal(exponent(cpu, 0), 0xffff);
});

test('shifts: immediate, mm and m64 counts; counts above the element width clear (or fill with the sign)', () => {
  const { cpu } = setup([
    '0f71f104', // psllw mm1, 4
    '0f71d204', // psrlw mm2, 4
    '0f71e304', // psraw mm3, 4
    '0fe1e7', // psraw mm4, mm7 (16)
    '0fd1ef', // psrlw mm5, mm7 (16)
    '0f73f604', // psllq mm6, 4
    '0f73d024', // psrlq mm0, 36
  ]);
  const v = W(0x8001, 0x7ffe, 0xffff, 0x0100);
  for (const n of [0, 1, 2, 3, 4, 5, 6]) setMm(cpu, n, v);
  setMm(cpu, 7, 16n);
  halts(cpu);
  assert.equal(mm(cpu, 1), W(0x0010, 0xffe0, 0xfff0, 0x1000));
  assert.equal(mm(cpu, 2), W(0x0800, 0x07ff, 0x0fff, 0x0010));
  assert.equal(mm(cpu, 3), W(0xf800, 0x07ff, 0xffff, 0x0010));
  assert.equal(mm(cpu, 4), W(0xffff, 0x0000, 0xffff, 0x0000));
  assert.equal(mm(cpu, 5), 0n);
  assert.equal(mm(cpu, 6), 0x100ffff7ffe80010n);
  assert.equal(mm(cpu, 0), 0x0100fffn);

  const d = setup([
    '0f72f21f', // pslld mm2, 31
    '0f72e308', // psrad mm3, 8
    '0fd326', // psrlq mm4, [rsi] (64)
    '0ff16e08', // psllw mm5, [rsi+8] (count 2^32: clears)
  ]);
  setMm(d.cpu, 2, D(0x7ffe8001, 0x0100ffff));
  setMm(d.cpu, 3, D(0x80001234, 0x7fff0000));
  setMm(d.cpu, 4, -1n); setMm(d.cpu, 5, -1n);
  d.dv.setBigUint64(SRC, 64n, true); d.dv.setBigUint64(SRC + 8, 1n << 32n, true);
  halts(d.cpu);
  assert.equal(mm(d.cpu, 2), D(0x80000000, 0x80000000));
  assert.equal(mm(d.cpu, 3), D(0xff800012, 0x007fff00));
  assert.equal(mm(d.cpu, 4), 0n);
  assert.equal(mm(d.cpu, 5), 0n);
});

// ---------------------------------------------------------------- pack / unpack / shuffle

test('PACKSSWB/PACKUSWB/PACKSSDW saturate', () => {
  const { cpu } = setup(['0f6fd0', '0f63d1' /* packsswb mm2, mm1 */, '0f6fd8', '0f67d9' /* packuswb mm3, mm1 */, '0f6be5' /* packssdw mm4, mm5 */]);
  setMm(cpu, 0, W(0x0080, 0xff7f, 0x007f, 0xfff0));
  setMm(cpu, 1, W(0x1000, 0x8000, 0x0001, 0xffff));
  setMm(cpu, 4, D(0x00008000, 0xffff7fff));
  setMm(cpu, 5, D(0x00000005, 0x80000000));
  halts(cpu);
  assert.equal(mm(cpu, 2), B(0x7f, 0x80, 0x7f, 0xf0, 0x7f, 0x80, 0x01, 0xff));
  assert.equal(mm(cpu, 3), B(0x80, 0x00, 0x7f, 0x00, 0xff, 0x00, 0x01, 0x00));
  assert.equal(mm(cpu, 4), W(0x7fff, 0x8000, 0x0005, 0x8000));
});

test('PUNPCKL*/PUNPCKH* interleave bytes, words and dwords', () => {
  const { cpu } = setup(['0f60d1', '0f68d9', '0f61e1', '0f69e9', '0f62f1', '0f6af9']);
  const lo = B(0, 1, 2, 3, 4, 5, 6, 7);
  for (const n of [2, 3, 4, 5, 6, 7]) setMm(cpu, n, lo);
  setMm(cpu, 1, B(0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17));
  halts(cpu);
  assert.equal(mm(cpu, 2), 0x1303120211011000n);
  assert.equal(mm(cpu, 3), 0x1707160615051404n);
  assert.equal(mm(cpu, 4), 0x1312030211100100n);
  assert.equal(mm(cpu, 5), 0x1716070615140504n);
  assert.equal(mm(cpu, 6), 0x1312111003020100n);
  assert.equal(mm(cpu, 7), 0x1716151407060504n);
});

test('PAVGB/PAVGW round up; PMINUB/PMAXUB/PMINSW/PMAXSW; PSADBW; PSHUFW', () => {
  const { cpu } = setup([
    '0f6fd0', '0fe0d1', // pavgb mm2
    '0f6fd8', '0fdad9', // pminub mm3
    '0f6fe0', '0fdee1', // pmaxub mm4
    '0f6fe8', '0ff6e9', // psadbw mm5
  ]);
  setMm(cpu, 0, B(0x00, 0xff, 0x10, 0x80, 0x7f, 0x01, 0xfe, 0x40));
  setMm(cpu, 1, B(0xff, 0xff, 0x11, 0x7f, 0x80, 0x00, 0x02, 0x40));
  halts(cpu);
  assert.equal(mm(cpu, 2), B(0x80, 0xff, 0x11, 0x80, 0x80, 0x01, 0x80, 0x40));
  assert.equal(mm(cpu, 3), B(0x00, 0xff, 0x10, 0x7f, 0x7f, 0x00, 0x02, 0x40));
  assert.equal(mm(cpu, 4), B(0xff, 0xff, 0x11, 0x80, 0x80, 0x01, 0xfe, 0x40));
  assert.equal(mm(cpu, 5), 0x1ffn);

  const w = setup(['0f6fd0', '0fe3d1' /* pavgw */, '0f6fd8', '0fead9' /* pminsw */, '0f6fe0', '0feee1' /* pmaxsw */,
    '0f70e81b' /* pshufw mm5, mm0, 0x1b */]).cpu;
  setMm(w, 0, W(0xff00, 0x8010, 0x017f, 0x40fe));
  setMm(w, 1, W(0xffff, 0x7f11, 0x0080, 0x4002));
  halts(w);
  assert.equal(mm(w, 2), W(0xff80, 0x7f91, 0x0100, 0x4080));
  assert.equal(mm(w, 3), W(0xff00, 0x8010, 0x0080, 0x4002));
  assert.equal(mm(w, 4), W(0xffff, 0x7f11, 0x017f, 0x40fe));
  assert.equal(mm(w, 5), W(0x40fe, 0x017f, 0x8010, 0xff00));
});

test('PINSRW (GPR and m16, index mod 4), PEXTRW and PMOVMSKB zero-extend into the GPR', () => {
  const { cpu, dv } = setup([
    '0fc4c002', // pinsrw mm0, eax, 2
    '0fc40607', // pinsrw mm0, [rsi], 7
    '0fc5c806', // pextrw ecx, mm0, 6
    '0fd7d1', // pmovmskb edx, mm1
  ]);
  cpu.R[2 * RAX] = 0x12345678;
  cpu.R[2 * RCX + 1] = -1; cpu.R[2 * RDX] = -1; cpu.R[2 * RDX + 1] = -1;
  setMm(cpu, 0, W(1, 2, 3, 4));
  setMm(cpu, 1, B(0xff, 0xff, 0x11, 0x7f, 0x80, 0x00, 0x02, 0x40));
  dv.setUint16(SRC, 0xbeef, true); dv.setUint16(SRC + 2, 0xdead, true);
  halts(cpu);
  assert.equal(mm(cpu, 0), W(1, 2, 0x5678, 0xbeef));
  assert.equal(cpu.R[2 * RCX], 0x5678); assert.equal(cpu.R[2 * RCX + 1], 0);
  assert.equal(cpu.R[2 * RDX], 0x13); assert.equal(cpu.R[2 * RDX + 1], 0);
});

test('MASKMOVQ stores the selected bytes at DS:[RDI] (FS override honoured); a zero mask touches nothing', () => {
  const { cpu, mem } = setup(['0ff7ca' /* maskmovq mm1, mm2 */, '640ff7ca' /* fs maskmovq mm1, mm2 */]);
  setMm(cpu, 1, B(0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88));
  setMm(cpu, 2, B(0x80, 0x00, 0xff, 0x7f, 0x81, 0x00, 0x00, 0x80));
  mem.fill(0xee, DST, DST + 8); mem.fill(0xee, DST + 0x1000, DST + 0x1008);
  cpu.seg[FS].base = 0x1000;
  halts(cpu);
  const want = [0x11, 0xee, 0x33, 0xee, 0x55, 0xee, 0xee, 0x88];
  assert.deepEqual(Array.from(mem.subarray(DST, DST + 8)), want);
  assert.deepEqual(Array.from(mem.subarray(DST + 0x1000, DST + 0x1008)), want);
  assert.equal(mm(cpu, 1), B(0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88));
  assert.equal(ftw(cpu), 0xff);

  const z = setup(['0ff7ca']);
  holeAt41000(z.cpu, z.mem);
  z.cpu.R[2 * RDI] = 0x41000;
  setMm(z.cpu, 2, B(0x7f, 0, 0, 0, 0, 0, 0, 0x7f));
  halts(z.cpu);
});

// ---------------------------------------------------------------- SSSE3 mm forms

test('SSSE3: PSHUFB, PHADD/PHSUB (with saturation), PSIGN, PABS, PALIGNR', () => {
  const { cpu } = setup(['0f3800c1' /* pshufb mm0, mm1 */]);
  setMm(cpu, 0, B(0, 1, 2, 3, 4, 5, 6, 7));
  setMm(cpu, 1, B(0x07, 0x80, 0x00, 0x0b, 0x8f, 0x01, 0x0e, 0x7f));
  halts(cpu);
  assert.equal(mm(cpu, 0), B(7, 0, 0, 3, 0, 1, 6, 7));

  const h = setup([
    '0f3801d1', // phaddw mm2, mm1
    '0f3803d9', // phaddsw mm3, mm1
    '0f3805e1', // phsubw mm4, mm1
    '0f3807e9', // phsubsw mm5, mm1
    '0f3802f7', // phaddd mm6, mm7
    '0f3806c7', // phsubd mm0, mm7
  ]).cpu;
  setMm(h, 2, W(0x7fff, 1, 0x8000, 0xffff)); setMm(h, 3, W(0x7fff, 1, 0x8000, 0xffff));
  setMm(h, 4, W(0x7fff, 0xffff, 0x8000, 1)); setMm(h, 5, W(0x7fff, 0xffff, 0x8000, 1));
  setMm(h, 1, W(1, 2, 0xfffe, 3));
  setMm(h, 6, D(0xffffffff, 2)); setMm(h, 0, D(0xffffffff, 2)); setMm(h, 7, D(0x80000000, 0x80000000));
  halts(h);
  assert.equal(mm(h, 2), W(0x8000, 0x7fff, 0x0003, 0x0001));
  assert.equal(mm(h, 3), W(0x7fff, 0x8000, 0x0003, 0x0001));
  assert.equal(mm(h, 4), W(0x8000, 0x7fff, 0xffff, 0xfffb));
  assert.equal(mm(h, 5), W(0x7fff, 0x8000, 0xffff, 0xfffb));
  assert.equal(mm(h, 6), D(1, 0));
  assert.equal(mm(h, 0), D(0xfffffffd, 0));

  const s = setup(['0f3808d1' /* psignb mm2, mm1 */, '0f3809dc' /* psignw mm3, mm4 */, '0f380aee' /* psignd mm5, mm6 */]).cpu;
  setMm(s, 2, B(0x01, 0x80, 0x7f, 0x05, 0x05, 0x05, 0xff, 0x00));
  setMm(s, 1, B(0xff, 0xff, 0xff, 0x00, 0x01, 0x80, 0x7f, 0xff));
  setMm(s, 3, W(0x0001, 0x8000, 0x1234, 0x1234)); setMm(s, 4, W(0xffff, 0xffff, 0, 1));
  setMm(s, 5, D(5, 0x80000000)); setMm(s, 6, D(0x80000000, 0x80000000));
  halts(s);
  assert.equal(mm(s, 2), B(0xff, 0x80, 0x81, 0x00, 0x05, 0xfb, 0xff, 0x00));
  assert.equal(mm(s, 3), W(0xffff, 0x8000, 0x0000, 0x1234));
  assert.equal(mm(s, 5), D(0xfffffffb, 0x80000000));

  const a = setup(['0f381cc1' /* pabsb mm0, mm1 */, '0f381dd3' /* pabsw mm2, mm3 */, '0f381ee5' /* pabsd mm4, mm5 */]).cpu;
  setMm(a, 1, B(0x80, 0xff, 0x7f, 0x00, 0x81, 0x01, 0xc0, 0x40));
  setMm(a, 3, W(0x8000, 0xffff, 0x7fff, 0xc000));
  setMm(a, 5, D(0x80000000, 0xfffffffe));
  halts(a);
  assert.equal(mm(a, 0), B(0x80, 0x01, 0x7f, 0x00, 0x7f, 0x01, 0x40, 0x40));
  assert.equal(mm(a, 2), W(0x8000, 0x0001, 0x7fff, 0x4000));
  assert.equal(mm(a, 4), D(0x80000000, 2));

  const p = setup(['0f3a0fc103' /* palignr mm0, mm1, 3 */, '0f3a0fd108' /* palignr mm2, mm1, 8 */,
    '0f3a0fd90c' /* palignr mm3, mm1, 12 */, '0f3a0fe110' /* palignr mm4, mm1, 16 */]).cpu;
  const hi = B(0, 1, 2, 3, 4, 5, 6, 7);
  for (const n of [0, 2, 3, 4]) setMm(p, n, hi);
  setMm(p, 1, B(0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17));
  halts(p);
  assert.equal(mm(p, 0), 0x0201001716151413n);
  assert.equal(mm(p, 2), hi);
  assert.equal(mm(p, 3), 0x07060504n);
  assert.equal(mm(p, 4), 0n);
});

// The XSAVE feature set (SDM Vol. 1 ch. 13): XSAVE/XSAVEOPT/XSAVEC/XSAVES and XRSTOR/XRSTORS over the
// x87 and SSE components, the XSAVE header rules, the init optimisation, XINUSE through XGETBV
// (ECX = 1), and the faults (#UD without CR4.OSXSAVE, #NM with CR0.TS, #GP for alignment and headers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SRC, DST, simdSetup, halts, faults } from './simd';
import { CR0_TS, RAX, RCX, RDX } from '../../vm-core/cpu/state';
import { builtinCpuid } from '../../vm-core/cpu/env';
import type { Cpu } from '../../vm-core/cpu';

const CR4_OSXSAVE = 1 << 18;
const XSAVE = '0fae27', XSAVEOPT = '0fae37', XSAVEC = '0fc727', XSAVES = '0fc72f';
const XRSTOR = '0fae2e', XRSTORS = '0fc71e', XGETBV = '0f01d0', FNINIT = 'dbe3';

function setup(code: string[], mask = -1): { cpu: Cpu; mem: Uint8Array; dv: DataView } {
  const t = simdSetup(code, (1 << 6) | (1 << 7) | (1 << 13));
  t.cpu.cr4 |= CR4_OSXSAVE;
  t.cpu.xcr0 = 3;
  t.cpu.R[2 * RAX] = mask; t.cpu.R[2 * RDX] = -1;
  return t;
}
const setXmm = (cpu: Cpu, r: number, lanes: number[]) => { for (let k = 0; k < 4; k++) cpu.xmm[4 * r + k] = lanes[k] | 0; };
const u64 = (dv: DataView, a: number) => dv.getBigUint64(a, true);

test('CPUID leaf 0DH: x87 and SSE in a 576-byte area; sub-leaf 1 XSAVEOPT, XSAVEC, XGETBV1, XSAVES with no IA32_XSS component', () => {
  const r = new Int32Array(4);
  builtinCpuid(0xd, 0, r);
  assert.deepEqual(Array.from(r), [3, 576, 576, 0]);
  builtinCpuid(0xd, 1, r);
  assert.deepEqual(Array.from(r), [0xf, 576, 0, 0]);
  builtinCpuid(0xd, 2, r);
  assert.deepEqual(Array.from(r), [0, 0, 0, 0]);
});

test('XSAVE writes the legacy region as FXSAVE does and XSTATE_BV[i] = XINUSE[i] for RFBM[i]; other header bits stay', () => {
  const { cpu, mem, dv } = setup(['0fae06' /* fxsave [rsi] */, XSAVE]);
  for (let r = 0; r < 16; r++) setXmm(cpu, r, [r + 1, r + 2, r + 3, r + 4]);
  cpu.mxcsr = 0x1fa0;
  dv.setBigUint64(DST + 512, 0x8000000000000004n, true); // XSTATE_BV: bit 2 and 63 outside RFBM
  dv.setBigUint64(DST + 520, 0x1234n, true); // XCOMP_BV: not written by XSAVE
  cpu.R[2 * 7] = DST; cpu.R[2 * 6] = SRC;
  // fxsave [rsi] first gives the reference legacy image
  mem.fill(0, SRC, SRC + 512);
  halts(cpu);
  assert.deepEqual(Array.from(mem.subarray(DST, DST + 416)), Array.from(mem.subarray(SRC, SRC + 416)));
  assert.equal(u64(dv, DST + 512), 0x8000000000000007n);
  assert.equal(u64(dv, DST + 520), 0x1234n);
});

test('XSAVE of initial state: XSTATE_BV 0 but the components are written; XSAVEOPT/XSAVEC skip them (init optimisation); MXCSR with XSAVE/XSAVEOPT', () => {
  for (const [insn, writes, compacted] of [[XSAVE, true, false], [XSAVEOPT, false, false], [XSAVEC, false, true], [XSAVES, false, true]] as const) {
    const { cpu, mem, dv } = setup([FNINIT, insn]);
    mem.fill(0xaa, DST, DST + 512);
    dv.setBigUint64(DST + 512, 0n, true);
    halts(cpu);
    assert.equal(dv.getUint16(DST, true), writes ? 0x037f : 0xaaaa, `${insn} FCW`);
    assert.equal(dv.getUint32(DST + 160, true), writes ? 0 : 0xaaaaaaaa, `${insn} XMM0`);
    assert.equal(dv.getUint32(DST + 24, true), compacted ? 0xaaaaaaaa : 0x1f80, `${insn} MXCSR`);
    assert.equal(dv.getUint32(DST + 28, true), compacted ? 0xaaaaaaaa : 0xffff, `${insn} MXCSR_MASK`);
    assert.equal(u64(dv, DST + 512), 0n, `${insn} XSTATE_BV`);
    if (compacted) assert.equal(u64(dv, DST + 520), 0x8000000000000003n, `${insn} XCOMP_BV`);
  }
});

test('XSAVEC with EDX:EAX = 1 saves only x87: XCOMP_BV = 8000000000000001H, XSTATE_BV = RFBM AND XINUSE', () => {
  const { cpu, mem, dv } = setup([XSAVEC], 1);
  setXmm(cpu, 0, [5, 0, 0, 0]);
  cpu.fxArea[0] = 0x7f; cpu.fxArea[1] = 0x02; // FCW 027F: x87 not initial
  mem.fill(0xaa, DST, DST + 576);
  halts(cpu);
  assert.equal(dv.getUint16(DST, true), 0x027f);
  assert.equal(dv.getUint32(DST + 160, true), 0xaaaaaaaa, 'XMM not saved');
  assert.equal(dv.getUint32(DST + 24, true), 0xaaaaaaaa, 'MXCSR not saved (RFBM[1] = 0)');
  assert.equal(u64(dv, DST + 512), 1n);
  assert.equal(u64(dv, DST + 520), 0x8000000000000001n);
  assert.equal(dv.getUint32(DST + 528, true), 0xaaaaaaaa, 'header bytes 63:16 not written');
});

test('XRSTOR: XSTATE_BV[i] = 0 initialises component i, 1 loads it; the standard form loads MXCSR either way, the compacted form sets 1F80H', () => {
  for (const compacted of [false, true]) {
    const { cpu, dv } = setup([XRSTOR, XGETBV]);
    for (let r = 0; r < 16; r++) setXmm(cpu, r, [7, 7, 7, 7]);
    cpu.fxArea[0] = 0x7f; cpu.fxArea[1] = 0x02; cpu.fxArea[32] = 9;
    dv.setUint32(SRC + 24, 0x1fc0, true);
    dv.setBigUint64(SRC + 512, 0n, true);
    dv.setBigUint64(SRC + 520, compacted ? 0x8000000000000003n : 0n, true);
    cpu.R[2 * RCX] = 1;
    halts(cpu);
    assert.equal(cpu.fxArea[0] | (cpu.fxArea[1] << 8), 0x037f);
    assert.equal(cpu.fxArea[32], 0);
    assert.ok(cpu.xmm.every((x) => x === 0));
    assert.equal(cpu.mxcsr, compacted ? 0x1f80 : 0x1fc0);
    // Intel: SSE state with MXCSR other than 1F80H is not initial (SDM 13.6); AMD ignores MXCSR.
    assert.equal(cpu.R[2 * RAX], compacted ? 0 : 2, 'XINUSE after initialising both');
  }
});

test('XSAVE on a modelled AMD processor: XINUSE follows the values, MXCSR only counts for the compacted forms', () => {
  for (const [insn, xstate] of [[XSAVE, 0n], [XSAVEC, 2n]] as const) {
    const { cpu, dv } = setup([FNINIT, insn]);
    cpu.vendor = 'amd';
    cpu.mxcsr = 0x1fc0;
    dv.setBigUint64(DST + 512, 0n, true);
    halts(cpu);
    assert.equal(u64(dv, DST + 512), xstate, insn);
  }
});

test('XRSTOR loads what XSAVE stored; a loaded component is in use even with initial values (XGETBV ECX = 1)', () => {
  const { cpu, dv } = setup([XRSTOR, XGETBV]);
  dv.setUint16(SRC, 0x037f, true);
  dv.setUint32(SRC + 24, 0x1f80, true);
  dv.setUint32(SRC + 160 + 16 * 15, 0xdead, true);
  dv.setBigUint64(SRC + 512, 3n, true);
  cpu.R[2 * RCX] = 1;
  halts(cpu);
  assert.equal(cpu.xmm[60], 0xdead);
  assert.equal(cpu.R[2 * RAX], 3);
});

test('XRSTOR faults before changing anything: bad XSTATE_BV, XCOMP_BV, header bytes, MXCSR, alignment', () => {
  const cases: [string, (dv: DataView) => void, number][] = [
    ['XSTATE_BV bit outside XCR0', (dv) => dv.setBigUint64(SRC + 512, 4n, true), 0],
    ['standard form, bytes 23:16 not zero', (dv) => dv.setUint8(SRC + 528, 1), 0],
    ['compacted form, XSTATE_BV not within XCOMP_BV', (dv) => { dv.setBigUint64(SRC + 512, 3n, true); dv.setBigUint64(SRC + 520, 0x8000000000000001n, true); }, 0],
    ['compacted form, XCOMP_BV outside XCR0', (dv) => dv.setBigUint64(SRC + 520, 0x8000000000000004n, true), 0],
    ['compacted form, header byte 40 not zero', (dv) => { dv.setBigUint64(SRC + 520, 0x8000000000000003n, true); dv.setUint8(SRC + 552, 1); }, 0],
    ['illegal MXCSR', (dv) => dv.setUint32(SRC + 24, 0x10000, true), 0],
    ['not 64-byte aligned', () => {}, 32],
  ];
  for (const [name, prep, off] of cases) {
    const { cpu, dv } = setup([XRSTOR]);
    cpu.R[2 * 6] = SRC + off;
    setXmm(cpu, 3, [1, 2, 3, 4]);
    prep(dv);
    faults(cpu, 13);
    assert.equal(cpu.xmm[12], 1, name);
  }
  const s = setup([XRSTORS]); // XRSTORS needs the compacted form
  faults(s.cpu, 13);
});

test('XSAVE family: #UD without CR4.OSXSAVE, #NM with CR0.TS (not CR0.EM), #GP when misaligned', () => {
  for (const insn of [XSAVE, XSAVEOPT, XSAVEC, XSAVES, XRSTOR]) {
    const a = setup([insn]); a.cpu.cr4 &= ~CR4_OSXSAVE; faults(a.cpu, 6);
    const b = setup([insn]); b.cpu.cr0 |= CR0_TS; faults(b.cpu, 7);
    const c = setup([insn]); c.cpu.R[2 * 7] = DST + 16; c.cpu.R[2 * 6] = SRC + 16; faults(c.cpu, 13);
  }
  const d = setup([XSAVE]); d.cpu.cr0 |= 4; // CR0.EM
  d.mem.fill(0, DST, DST + 1024);
  halts(d.cpu);
});

test('XGETBV: ECX = 0 gives XCR0, ECX = 1 XCR0 AND XINUSE, other values #GP', () => {
  const a = setup([XGETBV]); a.cpu.R[2 * RCX] = 0; halts(a.cpu); assert.equal(a.cpu.R[2 * RAX], 3);
  const b = setup([FNINIT, XGETBV]); b.cpu.R[2 * RCX] = 1; setXmm(b.cpu, 2, [0, 1, 0, 0]); halts(b.cpu); assert.equal(b.cpu.R[2 * RAX], 2);
  const c = setup([XGETBV]); c.cpu.R[2 * RCX] = 2; faults(c.cpu, 13);
});

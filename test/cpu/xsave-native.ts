// The XSAVE differential against the host CPU (test/cpu/xsave-native.c): random x87/SSE states are
// loaded with XRSTOR (XSTATE_BV random, so components start loaded or initialised), then XSAVE,
// XSAVEOPT or XSAVEC stores them with a random requested-feature mask into a randomly filled area,
// or a second XRSTOR (standard or compacted form, random XSTATE_BV and mask) changes them and an
// XSAVE shows the result; a final FXSAVE shows the registers. The emulator runs the same bytes as
// the host's vendor (native-host.ts hostVendor). Compared byte for byte: the whole XSAVE areas
// (legacy region, header, the bytes an instruction must leave alone) and the FXSAVE image, except
// MXCSR_MASK, which is a property of the processor model (the emulator reports FFFFH).
import { execFileSync } from 'node:child_process';
import { bareCpu, longMode, load } from './helpers';
import { buildNativeHarness, hostVendor } from './native-host';
import { RUN_HALTED } from '../../vm-core/cpu';
import { CR4_OSFXSR, RBX, RCX, RDI, RSI } from '../../vm-core/cpu/state';

const IN = 0x20000, OUT = 0x21000, AUX = 0x22000, FIN = 0x23000, CODE = 0x10000;
const AREA = 576, REC_IN = 1 + 63 + 3 * AREA, REC_OUT = 2 * AREA + 512;

const movEax = (v: number) => `b8${[0, 8, 16, 24].map((s) => ((v >>> s) & 0xff).toString(16).padStart(2, '0')).join('')}`;
const PRELUDE = movEax(3) + '31d2' + '0fae2e'; // mov eax, 3; xor edx, edx; xrstor [rsi]
const FXSAVE_RBX = '0fae03';
/** The sequences: name -> code for requested-feature mask m. */
export const XSAVE_SEQS: Record<string, (m: number) => string> = {
  xsave: (m) => PRELUDE + movEax(m) + '0fae27' + FXSAVE_RBX,
  xsave64: (m) => PRELUDE + movEax(m) + '480fae27' + FXSAVE_RBX,
  xsaveopt: (m) => PRELUDE + movEax(m) + '0fae37' + FXSAVE_RBX,
  xsavec: (m) => PRELUDE + movEax(m) + '0fc727' + FXSAVE_RBX,
  // xrstor [rdi] with mask m, then xsave [rcx] with mask 3
  xrstor: (m) => PRELUDE + movEax(m) + '0fae2f' + movEax(3) + '0fae21' + FXSAVE_RBX,
};

function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
}

/** A random XSAVE area: x87 (biased exponents, zero reserved bytes), MXCSR, XMM (often zero), header. */
function randomArea(r: () => number, b: Uint8Array, compactedOk: boolean): void {
  const dv = new DataView(b.buffer, b.byteOffset, AREA);
  b.fill(0);
  const initX87 = r() % 4 === 0, zeroXmm = r() % 3 === 0;
  if (!initX87) {
    dv.setUint16(0, r() & 0x1f7f, true);          // FCW (reserved bits 15:13, 7 clear)
    dv.setUint16(2, r() & 0xffff, true);           // FSW
    b[4] = r() & 0xff;                             // abridged FTW
    dv.setUint16(6, r() & 0x7ff, true);            // FOP
    dv.setUint32(8, r(), true);                    // FIP
    dv.setUint32(16, r(), true);                   // FDP
    for (let k = 0; k < 8; k++) {
      const o = 32 + 16 * k;
      for (let j = 0; j < 8; j++) b[o + j] = r() & 0xff;
      const e = [0, 0x7fff, 0x3fff, r() & 0x7fff][r() % 4] | (r() & 0x8000);
      dv.setUint16(o + 8, e, true);
    }
  } else dv.setUint16(0, 0x037f, true);
  dv.setUint32(24, r() % 2 ? 0x1f80 : r() & 0xffff, true); // MXCSR
  if (!zeroXmm) for (let k = 0; k < 64; k++) dv.setUint32(160 + 4 * k, r() % 5 === 0 ? 0 : r(), true);
  const xstate = r() & 3;
  dv.setUint32(512, xstate, true);
  if (compactedOk && r() % 2) {
    dv.setUint32(520, xstate | (r() & 3), true);
    dv.setUint32(524, 0x80000000, true);
  }
}

export interface XsaveDiffResult { compared: number; failures: string[]; hostUnstable: number }

/** Byte-for-byte differences between the emulator's and the host's output record. */
function compareXsaveRecord(emu: Uint8Array, host: Uint8Array): string[] {
  const diffs: string[] = [];
  for (let j = 0; j < REC_OUT; j++) {
    const area = j < AREA ? 'out' : j < 2 * AREA ? 'aux' : 'fxsave';
    const off = j < AREA ? j : j < 2 * AREA ? j - AREA : j - 2 * AREA;
    if (off >= 28 && off < 32) continue; // MXCSR_MASK
    if (area === 'fxsave' && off >= 416) continue; // FXSAVE's reserved/available bytes
    if (emu[j] !== host[j]) diffs.push(`${area}[${off}] emu ${emu[j].toString(16)} host ${host[j].toString(16)}`);
  }
  return diffs;
}

export function runXsaveDifferential(cases: number, seed: number): XsaveDiffResult {
  const r = rng(seed);
  const names = Object.keys(XSAVE_SEQS);
  const recs: { name: string; m: number; code: string; rec: Uint8Array }[] = [];
  for (let k = 0; k < cases; k++) {
    const name = names[k % names.length], m = r() & 3;
    const code = XSAVE_SEQS[name](m);
    const rec = new Uint8Array(REC_IN);
    const bytes = code.match(/../g)!.map((h) => parseInt(h, 16));
    rec[0] = bytes.length; rec.set(bytes, 1);
    randomArea(r, rec.subarray(64, 64 + AREA), false);
    if (name === 'xrstor') randomArea(r, rec.subarray(64 + AREA, 64 + 2 * AREA), true);
    else for (let j = 0; j < AREA; j++) rec[64 + AREA + j] = r() & 0xff;
    for (let j = 0; j < AREA; j++) rec[64 + 2 * AREA + j] = r() & 0xff;
    recs.push({ name, m, code, rec });
  }
  const exe = buildNativeHarness('xsave-native');
  const input = Buffer.concat(recs.map((x) => x.rec));
  const out = execFileSync(exe, { input, maxBuffer: 64 << 20 });
  // The host's own answer can change under it: a task switch between the harness's XRSTOR and XSAVE
  // makes the kernel restore the FPU state, and what it restores counts as in use (XINUSE), so an
  // XSAVEOPT/XSAVEC then writes a component it would have skipped. A case that differs is run on the
  // host a second time, and fails only if the emulator matches neither host answer.
  let rerun: Buffer | null = null;
  const vendor = hostVendor();
  const failures: string[] = [];
  let hostUnstable = 0;
  recs.forEach((x, k) => {
    const host = out.subarray(k * REC_OUT, (k + 1) * REC_OUT);
    const { cpu, mem } = bareCpu();
    if (vendor) cpu.vendor = vendor;
    longMode(cpu, mem, CODE);
    cpu.cr4 |= CR4_OSFXSR | (1 << 18);
    cpu.xcr0 = 3;
    load(mem, CODE, Uint8Array.from([...x.code.match(/../g)!.map((h) => parseInt(h, 16)), 0xf4]));
    mem.set(x.rec.subarray(64, 64 + AREA), IN);
    mem.set(x.rec.subarray(64 + AREA, 64 + 2 * AREA), OUT);
    mem.set(x.rec.subarray(64 + 2 * AREA, 64 + 3 * AREA), AUX);
    cpu.R[2 * RSI] = IN; cpu.R[2 * RDI] = OUT; cpu.R[2 * RCX] = AUX; cpu.R[2 * RBX] = FIN;
    const rr = cpu.run(100);
    if (rr !== RUN_HALTED) { failures.push(`${x.name} m=${x.m}: emulator stopped (${rr}, ${cpu.exit.message})`); return; }
    const emu = new Uint8Array(REC_OUT);
    emu.set(mem.subarray(OUT, OUT + AREA), 0);
    emu.set(mem.subarray(AUX, AUX + AREA), AREA);
    emu.set(mem.subarray(FIN, FIN + 512), 2 * AREA);
    const diffs = compareXsaveRecord(emu, host);
    if (diffs.length) {
      rerun ??= execFileSync(exe, { input, maxBuffer: 64 << 20 });
      const again = rerun.subarray(k * REC_OUT, (k + 1) * REC_OUT);
      if (!again.equals(host) && compareXsaveRecord(emu, again).length === 0) { hostUnstable++; return; }
    }
    if (diffs.length) failures.push(`${x.name} m=${x.m} case ${k}: ${diffs.slice(0, 8).join(', ')}${diffs.length > 8 ? ` (+${diffs.length - 8})` : ''}`);
  });
  return { compared: cases, failures, hostUnstable };
}

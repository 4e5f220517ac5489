// The x87 differential comparison with the host CPU, shared by test/cpu/x87-native.test.ts (a few
// thousand cases in `npm test`) and `npm run fuzz` (many more): a harness built with gcc at test
// time (x87-native.c) loads a random x87 state with FXRSTOR (random TOP, tags, control word with
// random rounding/precision control and exception masks, register values biased to the hard cases:
// zeros, denormals, pseudo-denormals, unnormals, infinities, QNaN/SNaN, rounding boundaries, huge and
// tiny exponents), runs one instruction and FXSAVEs. The emulator runs FXRSTOR, the same instruction
// and FXSAVE from the same state. Compared bit for bit: FCW, FSW (without the condition codes the
// SDM leaves undefined for that instruction), abridged FTW, ST0-7 (80 bits each), RAX (FNSTSW AX),
// RFLAGS (FCOMI), and the memory operand (stored environments without their FIP/FCS/FDP/FDS, which
// hold host addresses). FOP/FIP/FDP are not compared: AMD stores them only when ES = 1, and the
// host's code addresses differ from the emulator's (unit tests in x87.test.ts cover them).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { bareCpu, longMode } from './helpers';
import { buildNativeHarness } from './native-host';
import { setRflagsRaw } from './raw';
import { RUN_HALTED, getRflags } from '../../vm-core/cpu';
import { CR4_OSFXSR, RAX, RBX, RSI } from '../../vm-core/cpu/state';

/** Memory operand kinds (what random memory looks like). */
type Mem = 'none' | 'f32' | 'f64' | 'f80' | 'i16' | 'i32' | 'i64' | 'bcd' | 'cw' | 'env14' | 'env28' | 'save94' | 'save108' | 'out';
/** FSW condition codes compared: all, none of C0/C2/C3 (arithmetic), or C1/C2 only (trigonometric). */
const CC_ALL = 0x4700, CC_C1 = 0x0200, CC_C1C2 = 0x0600;
/** FCOMI: C1 is cleared on Intel and left alone on AMD (vendor-specific), C0/C2/C3 unchanged. */
const CC_COMI = 0x4500;
export interface X87Op { hex: string; name: string; mem: Mem; cc: number }
function op(hex: string, name: string, mem: Mem = 'none', cc = CC_C1): X87Op { return { hex, name, mem, cc }; }

export const X87_OPS: X87Op[] = [
  // Arithmetic, register forms.
  op('d8c1', 'fadd st0,st1'), op('d8c9', 'fmul st0,st1'), op('d8e1', 'fsub st0,st1'), op('d8e9', 'fsubr st0,st1'),
  op('d8f1', 'fdiv st0,st1'), op('d8f9', 'fdivr st0,st1'), op('d8c3', 'fadd st0,st3'), op('d8f3', 'fdiv st0,st3'),
  op('dcc1', 'fadd st1,st0'), op('dce1', 'fsubr st1,st0'), op('dce9', 'fsub st1,st0'), op('dcf1', 'fdivr st1,st0'),
  op('dcf9', 'fdiv st1,st0'), op('dcc9', 'fmul st1,st0'), op('dec1', 'faddp'), op('dec9', 'fmulp'), op('dee1', 'fsubrp'),
  op('dee9', 'fsubp'), op('def1', 'fdivrp'), op('def9', 'fdivp'), op('d8c0', 'fadd st0,st0'),
  // Arithmetic, memory forms.
  op('d806', 'fadd m32', 'f32'), op('d80e', 'fmul m32', 'f32'), op('d826', 'fsub m32', 'f32'), op('d82e', 'fsubr m32', 'f32'),
  op('d836', 'fdiv m32', 'f32'), op('d83e', 'fdivr m32', 'f32'), op('dc06', 'fadd m64', 'f64'), op('dc0e', 'fmul m64', 'f64'),
  op('dc26', 'fsub m64', 'f64'), op('dc36', 'fdiv m64', 'f64'), op('dc3e', 'fdivr m64', 'f64'), op('da06', 'fiadd m32', 'i32'),
  op('da0e', 'fimul m32', 'i32'), op('da36', 'fidiv m32', 'i32'), op('de06', 'fiadd m16', 'i16'), op('de3e', 'fidivr m16', 'i16'),
  op('de26', 'fisub m16', 'i16'),
  // Compares.
  op('d8d1', 'fcom st1', 'none', CC_ALL), op('d8d9', 'fcomp st1', 'none', CC_ALL), op('ded9', 'fcompp', 'none', CC_ALL),
  op('dde1', 'fucom st1', 'none', CC_ALL), op('dde9', 'fucomp st1', 'none', CC_ALL), op('dae9', 'fucompp', 'none', CC_ALL),
  op('d816', 'fcom m32', 'f32', CC_ALL), op('dc1e', 'fcomp m64', 'f64', CC_ALL), op('da16', 'ficom m32', 'i32', CC_ALL),
  op('de1e', 'ficomp m16', 'i16', CC_ALL), op('dbf1', 'fcomi st1', 'none', CC_COMI), op('dbe9', 'fucomi st1', 'none', CC_COMI),
  op('dff1', 'fcomip st1', 'none', CC_COMI), op('dfe9', 'fucomip st1', 'none', CC_COMI), op('d9e4', 'ftst', 'none', CC_ALL),
  op('d9e5', 'fxam', 'none', CC_ALL),
  // Loads.
  op('d906', 'fld m32', 'f32'), op('dd06', 'fld m64', 'f64'), op('db2e', 'fld m80', 'f80'), op('df06', 'fild m16', 'i16'),
  op('db06', 'fild m32', 'i32'), op('df2e', 'fild m64', 'i64'), op('df26', 'fbld', 'bcd'), op('d9c1', 'fld st1'),
  op('d9c0', 'fld st0'), op('d9e8', 'fld1'), op('d9eb', 'fldpi'), op('d9e9', 'fldl2t'), op('d9ea', 'fldl2e'),
  op('d9ec', 'fldlg2'), op('d9ed', 'fldln2'), op('d9ee', 'fldz'),
  // Stores.
  op('d916', 'fst m32', 'out'), op('d91e', 'fstp m32', 'out'), op('dd16', 'fst m64', 'out'), op('dd1e', 'fstp m64', 'out'),
  op('db3e', 'fstp m80', 'out'), op('df16', 'fist m16', 'out'), op('db16', 'fist m32', 'out'), op('db1e', 'fistp m32', 'out'),
  op('df3e', 'fistp m64', 'out'), op('df36', 'fbstp', 'out'), op('db0e', 'fisttp m32', 'out'), op('dd0e', 'fisttp m64', 'out'),
  op('df0e', 'fisttp m16', 'out'), op('ddd1', 'fst st1'), op('ddd9', 'fstp st1'),
  // Stack and register manipulation.
  op('d9c9', 'fxch st1'), op('d9e0', 'fchs'), op('d9e1', 'fabs'), op('ddc1', 'ffree st1', 'none', 0), op('dfc1', 'ffreep st1', 'none', 0),
  op('d9f7', 'fincstp'), op('d9f6', 'fdecstp'), op('d9d0', 'fnop'), op('dac1', 'fcmovb'), op('dac9', 'fcmove'),
  op('dad1', 'fcmovbe'), op('dad9', 'fcmovu'), op('dbc1', 'fcmovnb'), op('dbc9', 'fcmovne'), op('dbd1', 'fcmovnbe'),
  op('dbd9', 'fcmovnu'),
  // FSQRT and friends.
  op('d9fa', 'fsqrt'), op('d9f8', 'fprem', 'none', CC_ALL), op('d9f5', 'fprem1', 'none', CC_ALL), op('d9fd', 'fscale'),
  op('d9f4', 'fxtract'), op('d9fc', 'frndint'),
  // Control.
  op('dfe0', 'fnstsw ax', 'none', CC_ALL), op('dbe2', 'fnclex', 'none', CC_ALL), op('dbe3', 'fninit', 'none', CC_ALL),
  op('d93e', 'fnstcw m16', 'out', CC_ALL), op('d92e', 'fldcw m16', 'cw', CC_ALL), op('dd3e', 'fnstsw m16', 'out', CC_ALL),
  op('d936', 'fnstenv m28', 'out', CC_ALL), op('66d936', 'fnstenv m14', 'out', CC_ALL), op('d926', 'fldenv m28', 'env28', CC_ALL),
  op('66d926', 'fldenv m14', 'env14', CC_ALL), op('dd36', 'fnsave m108', 'out', CC_ALL), op('dd26', 'frstor m108', 'save108', CC_ALL),
  op('66dd26', 'frstor m94', 'save94', CC_ALL), op('9b', 'fwait', 'none', CC_ALL),
];
/** Transcendental forms: compared separately (the hardware's own approximations). */
export const X87_TRANS_OPS: X87Op[] = [
  op('d9f0', 'f2xm1'), op('d9f1', 'fyl2x'), op('d9f9', 'fyl2xp1'), op('d9f2', 'fptan', 'none', CC_C1C2), op('d9f3', 'fpatan'),
  op('d9fe', 'fsin', 'none', CC_C1C2), op('d9ff', 'fcos', 'none', CC_C1C2), op('d9fb', 'fsincos', 'none', CC_C1C2),
];

const MEM = 128;
export const REC_IN = 1 + 15 + 512 + 8 + 8 + MEM, REC_OUT = 512 + 8 + 8 + MEM;

/** Deterministic xorshift generator. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

/** A random 80-bit value biased to the hard cases, written at dv[o]. `trans`: mostly in the instructions' domains. */
function value80(dv: DataView, o: number, next: () => number, trans: boolean): void {
  const k = next() % (trans ? 24 : 20);
  let se = (next() & 1) << 15, hi = next() | 0x80000000, lo = next();
  const e = next();
  switch (k) {
    case 0: hi = 0; lo = 0; break; // zero
    case 1: hi = next() >>> (next() & 31); break; // denormal (exponent 0, J = 0)
    case 2: hi = next() | 0x80000000; break; // pseudo-denormal (exponent 0, J = 1)
    case 3: se |= 0x7fff; hi = 0x80000000; lo = 0; break; // infinity
    case 4: se |= 0x7fff; hi = (next() | 0xc0000000) >>> 0; break; // QNaN
    case 5: se |= 0x7fff; hi = ((next() & 0x3fffffff) | 0x80000000) >>> 0; if (hi === 0x80000000 && lo === 0) lo = 1; break; // SNaN
    case 6: se |= 1 + (e % 0x7ffe); hi = next() & 0x7fffffff; break; // unnormal
    case 7: se |= 0x3fff + (e % 128) - 64; hi = 0x80000000 | (next() & 0xffff0000); lo = 0; break; // short significand
    case 8: se |= 0x3fff + (e % 128) - 64; hi = 0xffffffff; lo = (0xfffff000 | next()) >>> 0; break; // all ones: rounding carries
    case 9: se |= 0x3fff + (e % 128) - 64; lo = (lo & ~0xfff) | [0x400, 0x7ff, 0x800, 0xc00, 0x3ff, 0x801][next() % 6]; break; // ties at 53 bits
    case 10: se |= 0x3fff + (e % 128) - 64; lo = 0; hi = (hi & ~0xff) | [0x80, 0x7f, 0x81, 0x40][next() % 4]; break; // ties at 24 bits
    case 11: se |= 1 + (e % 80); break; // tiny normals (underflow)
    case 12: se |= 0x7ffe - (e % 80); break; // huge (overflow)
    case 13: se |= 0x3fff + 63 - (e % 70); break; // integer-sized
    case 14: se |= (0x3fff - 127 + (e % 8)) ; break; // near the single range ends
    case 15: se |= (0x3fff + 127 - (e % 8)); break;
    case 16: se |= (0x3fff - 1023 - (e % 60)); break; // single/double denormal range
    case 17: se |= (0x3fff + 1023 - (e % 8)); break;
    default: se |= 0x3fff + (e % 64) - 32; break; // ordinary
  }
  // |x| < 1 - sqrt(2)/2 (FYL2XP1's domain, within F2XM1's): outside them the SDM leaves results undefined.
  if (trans && k >= 20) { se = (se & 0x8000) | (0x3ffd - (e % 8)); hi = (hi & 0x95ffffff) >>> 0; }
  dv.setUint32(o, lo >>> 0, true); dv.setUint32(o + 4, hi >>> 0, true); dv.setUint16(o + 8, se, true);
}

/** Fill one input record (after length and code) for `o`. */
export function randomState(rec: Uint8Array, o: X87Op, next: () => number, trans: boolean): void {
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.length);
  rec.fill(0);
  const top = next() & 7;
  // FCW: reserved bit 6 set, random PC (mostly 53/64 bits), RC, and masks (mostly all masked).
  const pc = [3, 3, 2, 0, 2, 3, 1, 3][next() & 7];
  const masks = next() % 4 === 0 ? next() & 0x3f : 0x3f;
  const fcw = 0x40 | masks | (pc << 8) | ((next() & 3) << 10);
  dv.setUint16(0, fcw, true);
  // FSW: TOP, random C0-C3, flags only among the masked ones (so nothing is pending).
  dv.setUint16(2, (top << 11) | (next() & 0x4700) | (next() & masks & 0x3f), true);
  // Tags: mostly all valid; sometimes random (empty ST(0), ST(1), ST(7) exercise the stack faults).
  rec[4] = next() % 4 === 0 ? next() & 0xff : next() % 3 === 0 ? (0xff & ~(1 << ((top + 7) & 7))) : 0xff;
  dv.setUint32(24, 0x1f80, true); // MXCSR
  for (let s = 0; s < 8; s++) value80(dv, 32 + 16 * s, next, trans);
  if (o.name === 'f2xm1' || o.name === 'fyl2xp1') {
    // Keep a finite ST(0) inside |x| < 1 - sqrt(2)/2: outside, the SDM leaves the result undefined.
    const se = dv.getUint16(40, true);
    if ((se & 0x7fff) >= 0x3ffd && (se & 0x7fff) !== 0x7fff) {
      dv.setUint16(40, (se & 0x8000) | (0x3ffd - (next() % 8)), true);
      dv.setUint32(36, (dv.getUint32(36, true) & 0x95ffffff) >>> 0, true);
    }
  }
  dv.setUint32(512, next(), true); dv.setUint32(516, next(), true); // RAX
  dv.setUint32(520, 0x202 | (next() & 0x8d5), true); // RFLAGS: IF, random CF PF AF ZF SF OF
  const m = 528;
  switch (o.mem) {
    case 'f32': {
      const k = next() % 6;
      const v = k === 0 ? next() & 0x807fffff : k === 1 ? (next() | 0x7f800000) : k === 2 ? (next() & 0x80000000) | 0x7f800000 : next();
      dv.setUint32(m, v >>> 0, true);
      break;
    }
    case 'f64': {
      const k = next() % 6;
      const hi = k === 0 ? next() & 0x800fffff : k === 1 ? (next() | 0x7ff00000) : k === 2 ? (next() & 0x80000000) | 0x7ff00000 : k === 3 ? (next() & 0x800fffff) | (0x3ff00000 + ((next() % 64) << 20)) : next();
      dv.setUint32(m, k === 2 ? 0 : next(), true); dv.setUint32(m + 4, hi >>> 0, true);
      break;
    }
    case 'f80': value80(dv, m, next, false); break;
    case 'i16': dv.setUint16(m, [0, 0x8000, 0x7fff, 0xffff, 1][next() % 8] ?? next(), true); break;
    case 'i32': dv.setUint32(m, [0, 0x80000000, 0x7fffffff, 0xffffffff, 1][next() % 8] ?? next(), true); break;
    case 'i64': dv.setUint32(m, next(), true); dv.setUint32(m + 4, next() % 4 === 0 ? 0x80000000 : next(), true); break;
    case 'bcd': {
      for (let b = 0; b < 9; b++) rec[m + b] = ((next() % 10) << 4) | (next() % 10);
      rec[m + 9] = next() & 0x80;
      break;
    }
    case 'cw': dv.setUint16(m, 0x40 | (next() & 0x0f3f), true); break;
    case 'env14': case 'env28': case 'save94': case 'save108': {
      const big = o.mem === 'env28' || o.mem === 'save108';
      for (let b = 0; b < MEM; b++) rec[m + b] = next() & 0xff;
      const cw = 0x40 | 0x3f | (next() & 0x0f00);
      const sw = next() & 0x7f7f & ~0x80; // ES clear, masked flags only
      if (big) { dv.setUint32(m, 0xffff0000 | cw, true); dv.setUint32(m + 4, 0xffff0000 | sw, true); dv.setUint32(m + 8, 0xffff0000 | (next() & 0xffff), true); }
      else { dv.setUint16(m, cw, true); dv.setUint16(m + 2, sw, true); dv.setUint16(m + 4, next() & 0xffff, true); }
      const n = big ? 28 : 14;
      if (o.mem.startsWith('save')) for (let s = 0; s < 8; s++) value80(dv, m + n + 10 * s, next, false);
      break;
    }
    default: for (let b = 0; b < 16; b++) rec[m + b] = next() & 0xff;
  }
}

/** Bytes of the memory buffer compared for `o` (stored environments skip the instruction/data pointers). */
function memRanges(o: X87Op): [number, number][] {
  if (o.name === 'fnstenv m28') return [[0, 12]];
  if (o.name === 'fnstenv m14') return [[0, 6]];
  if (o.name === 'fnsave m108') return [[0, 12], [28, 108]];
  return [[0, MEM]];
}

/** True when an "FSW host X emu Y" difference is only in the bits of `mask`. */
function sameBut(d: string, mask: number): boolean {
  const m = /FSW host (\w+) emu (\w+)/.exec(d);
  return !!m && ((parseInt(m[1], 16) ^ parseInt(m[2], 16)) & ~mask) === 0;
}

/** The host's vendor: the emulator models the same one, so vendor-specific behaviour is compared too. */
export function hostVendor(): 'intel' | 'amd' {
  try { return /AuthenticAMD/.test(readFileSync('/proc/cpuinfo', 'utf8')) ? 'amd' : 'intel'; } catch { return 'intel'; }
}

export interface X87Result {
  compared: number; failures: string[]; mismatchByOp: Record<string, number>;
  /** Cases whose only differences are register values within one unit in the last place (and C1). */
  oneUlp: number;
}
/** Distance in units of the last place between two 80-bit values (same sign and class), else Infinity. */
function ulpDistance(a: Uint8Array, b: Uint8Array): number {
  const va = new DataView(a.buffer, a.byteOffset, 10), vb = new DataView(b.buffer, b.byteOffset, 10);
  if (va.getUint16(8, true) !== vb.getUint16(8, true)) {
    // Adjacent binades: the significand wraps from all ones to 1000...0.
    const ea = va.getUint16(8, true), eb = vb.getUint16(8, true);
    if (Math.abs(ea - eb) !== 1 || (ea ^ eb) & 0x8000) return Infinity;
    const lo = ea < eb ? va : vb, hi = ea < eb ? vb : va;
    const dl = 2 ** 64 - (lo.getUint32(4, true) * 2 ** 32 + lo.getUint32(0, true));
    const dh = (hi.getUint32(4, true) - 0x80000000) * 2 ** 33 + hi.getUint32(0, true) * 2;
    return dl + dh;
  }
  return Math.abs((va.getUint32(4, true) - vb.getUint32(4, true)) * 2 ** 32 + (va.getUint32(0, true) - vb.getUint32(0, true)));
}

/**
 * Run `cases` random states of every op in `ops` on the host and in the emulator; returns the failures
 * (at most `maxFailures` described) and the number of differing cases per op.
 */
export function runX87Differential(ops: X87Op[], cases: number, seed: number, trans: boolean, maxFailures = 12): X87Result {
  const exe = buildNativeHarness('x87-native');
  const codes = ops.map((o) => Uint8Array.from(o.hex.match(/../g)!.map((b) => parseInt(b, 16))));
  const input = new Uint8Array(codes.length * cases * REC_IN);
  let r = 0;
  codes.forEach((code, n) => {
    // Each case's state depends only on the seed, the encoding and the case number.
    let h = seed >>> 0;
    for (const b of code) h = Math.imul(h ^ b, 0x9e3779b1) >>> 0;
    for (let k = 0; k < cases; k++, r += REC_IN) {
      const next = xorshift((h + Math.imul(k + 1, 0x85ebca6b)) >>> 0);
      for (let w = 0; w < 4; w++) next();
      input[r] = code.length;
      input.set(code, r + 1);
      randomState(input.subarray(r + 16, r + REC_IN), ops[n], next, trans);
    }
  });
  const out = execFileSync(exe, { input, maxBuffer: 256 << 20 });
  if (out.length !== codes.length * cases * REC_OUT) throw new Error(`harness output ${out.length} bytes`);

  const CODE = 0x10000, IMG = 0x40000, MEMA = 0x50000;
  const { cpu, mem } = bareCpu();
  longMode(cpu, mem, CODE);
  cpu.cr4 |= CR4_OSFXSR;
  cpu.vendor = hostVendor();
  codes.forEach((code, n) => {
    const a = CODE + 32 * n;
    mem.set([0x0f, 0xae, 0x0b], a); // fxrstor [rbx]
    mem.set(code, a + 3);
    mem.set([0x0f, 0xae, 0x03, 0xf4], a + 3 + code.length); // fxsave [rbx]; hlt
  });
  const res: X87Result = { compared: 0, failures: [], mismatchByOp: {}, oneUlp: 0 };
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  r = 0;
  let w = 0;
  for (let n = 0; n < codes.length; n++) {
    const o = ops[n];
    for (let k = 0; k < cases; k++, r += REC_IN, w += REC_OUT) {
      const st = input.subarray(r + 16, r + REC_IN);
      const sdv = new DataView(st.buffer, st.byteOffset, st.length);
      mem.set(st.subarray(0, 512), IMG);
      mem.set(st.subarray(528, 528 + MEM), MEMA);
      cpu.R[2 * RAX] = sdv.getInt32(512, true); cpu.R[2 * RAX + 1] = sdv.getInt32(516, true);
      cpu.R[2 * RBX] = IMG; cpu.R[2 * RBX + 1] = 0;
      cpu.R[2 * RSI] = MEMA; cpu.R[2 * RSI + 1] = 0;
      setRflagsRaw(cpu, sdv.getUint32(520, true));
      cpu.rip = CODE + 32 * n;
      cpu.halted = false;
      const run = cpu.run(10);
      const want = out.subarray(w, w + REC_OUT);
      const wdv = new DataView(want.buffer, want.byteOffset, want.length);
      const got = new Uint8Array(REC_OUT);
      got.set(mem.subarray(IMG, IMG + 512), 0);
      const gdv = new DataView(got.buffer);
      gdv.setInt32(512, cpu.R[2 * RAX], true); gdv.setInt32(516, cpu.R[2 * RAX + 1], true);
      gdv.setUint32(520, getRflags(cpu), true);
      got.set(mem.subarray(MEMA, MEMA + MEM), 528);
      // What is compared.
      const diffs: string[] = [];
      let valueOnly = true;
      const cmp = (what: string, a: number, b: number) => { if (a !== b) diffs.push(`${what} host ${a.toString(16)} emu ${b.toString(16)}`); };
      cmp('FCW', wdv.getUint16(0, true), gdv.getUint16(0, true));
      const swMask = 0xffff & ~(0x4700 & ~o.cc);
      cmp('FSW', wdv.getUint16(2, true) & swMask, gdv.getUint16(2, true) & swMask);
      cmp('FTW', want[4], got[4]);
      for (let s = 0; s < 8; s++) {
        const a = hex(want.subarray(32 + 16 * s, 42 + 16 * s)), b = hex(got.subarray(32 + 16 * s, 42 + 16 * s));
        if (a !== b) {
          diffs.push(`ST${s} host ${a} emu ${b}`);
          if (ulpDistance(want.subarray(32 + 16 * s, 42 + 16 * s), got.subarray(32 + 16 * s, 42 + 16 * s)) > 1) valueOnly = false;
        }
      }
      cmp('RAX', wdv.getUint32(512, true), gdv.getUint32(512, true));
      cmp('RFLAGS', wdv.getUint32(520, true) & 0x8d5, gdv.getUint32(520, true) & 0x8d5);
      for (const [a, b] of memRanges(o)) {
        const x = hex(want.subarray(528 + a, 528 + b)), y = hex(got.subarray(528 + a, 528 + b));
        if (x !== y) diffs.push(`mem[${a}:${b}] host ${x} emu ${y}`);
      }
      if (run !== RUN_HALTED) diffs.push(`run ${run}: ${cpu.exit.message}`);
      res.compared++;
      if (diffs.length && valueOnly && diffs.every((d) => d.startsWith('ST') || (d.startsWith('FSW') && sameBut(d, 0x200)))) res.oneUlp++;
      if (diffs.length) {
        res.mismatchByOp[o.name] = (res.mismatchByOp[o.name] ?? 0) + 1;
        if (res.failures.length < maxFailures) {
          res.failures.push(`${o.name} (${o.hex}) case ${k}: ${diffs.join('; ')}\n  in fcw ${sdv.getUint16(0, true).toString(16)} fsw ${sdv.getUint16(2, true).toString(16)} ftw ${st[4].toString(16)} ` +
            `st0 ${hex(st.subarray(32, 42))} st1 ${hex(st.subarray(48, 58))} st7 ${hex(st.subarray(144, 154))} mem ${hex(st.subarray(528, 544))}`);
        }
      }
    }
  }
  return res;
}

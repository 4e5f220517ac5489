// Differential test of the MMX handlers against the host CPU: a harness built with gcc at test time
// (test/cpu/mmx-native.c) loads a random x87/MMX state with FXRSTOR (random TOP, tags, condition
// codes, exponents, MM0-7, XMM0-1), runs one instruction natively, and FXSAVEs. The emulator runs
// FXRSTOR, the same instruction and FXSAVE from the same state. Compared: the x87 environment
// (FCW, FSW with TOP, abridged FTW, FOP, FIP, FDP), all eight ST/MM slots including bits 79:64,
// XMM0-15, RAX and the 16 bytes at [RSI] = [RDI] (memory forms, MASKMOVQ). The emulator models the
// host's vendor (native-host.ts hostVendor): FOP/FIP/FDP in FXSAVE differ between Intel (always
// stored) and AMD (zeros while FSW.ES is clear); on a host of another vendor they are not compared.
// Skips with a message where gcc, x86-64 or SSSE3 on the host is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { bareCpu, longMode } from './helpers';
import { nativeHostProblem, buildNativeHarness, hostVendor } from './native-host';
import { RUN_HALTED } from '../../vm-core/cpu';
import { CR4_OSFXSR, RAX, RBX, RDI, RSI } from '../../vm-core/cpu/state';

// Register forms (every mm form the emulator implements, on MM0/MM1 mostly) and some memory forms
// through [rsi]; encodings from nasm.
export const OPS: string[] = [
  '0f6fc1', // movq mm0, mm1
  '0f6fea', // movq mm5, mm2
  '0f7fc8', // movq mm0, mm1 (0F 7F store form)
  'f30fd6c1', // movq2dq xmm0, mm1
  'f20fd6c1', // movdq2q mm0, xmm1
  '0f6ec0', // movd mm0, eax
  '480f6ec0', // movq mm0, rax
  '0f6ef0', // movd mm6, eax
  '0f7ec8', // movd eax, mm1
  '480f7ec8', // movq rax, mm1
  '0f7ef8', // movd eax, mm7
  '0fdbc1', // pand mm0, mm1
  '0fdfc1', // pandn mm0, mm1
  '0febc1', // por mm0, mm1
  '0fefc1', // pxor mm0, mm1
  '0fefdb', // pxor mm3, mm3
  '0ffcc1', // paddb mm0, mm1
  '0ffdc1', // paddw mm0, mm1
  '0ffec1', // paddd mm0, mm1
  '0fd4c1', // paddq mm0, mm1
  '0ff8c1', // psubb mm0, mm1
  '0ff9c1', // psubw mm0, mm1
  '0ffac1', // psubd mm0, mm1
  '0ffbc1', // psubq mm0, mm1
  '0fecc1', // paddsb mm0, mm1
  '0fedc1', // paddsw mm0, mm1
  '0fdcc1', // paddusb mm0, mm1
  '0fddc1', // paddusw mm0, mm1
  '0fe8c1', // psubsb mm0, mm1
  '0fe9c1', // psubsw mm0, mm1
  '0fd8c1', // psubusb mm0, mm1
  '0fd9c1', // psubusw mm0, mm1
  '0fd5c1', // pmullw mm0, mm1
  '0fe5c1', // pmulhw mm0, mm1
  '0fe4c1', // pmulhuw mm0, mm1
  '0ff4c1', // pmuludq mm0, mm1
  '0ff5c1', // pmaddwd mm0, mm1
  '0f74c1', // pcmpeqb mm0, mm1
  '0f75c1', // pcmpeqw mm0, mm1
  '0f76c1', // pcmpeqd mm0, mm1
  '0f74e4', // pcmpeqb mm4, mm4
  '0f64c1', // pcmpgtb mm0, mm1
  '0f65c1', // pcmpgtw mm0, mm1
  '0f66c1', // pcmpgtd mm0, mm1
  '0fdac1', // pminub mm0, mm1
  '0fdec1', // pmaxub mm0, mm1
  '0feac1', // pminsw mm0, mm1
  '0feec1', // pmaxsw mm0, mm1
  '0fe0c1', // pavgb mm0, mm1
  '0fe3c1', // pavgw mm0, mm1
  '0ff6c1', // psadbw mm0, mm1
  '0f63c1', // packsswb mm0, mm1
  '0f6bc1', // packssdw mm0, mm1
  '0f67c1', // packuswb mm0, mm1
  '0f60c1', // punpcklbw mm0, mm1
  '0f61c1', // punpcklwd mm0, mm1
  '0f62c1', // punpckldq mm0, mm1
  '0f68c1', // punpckhbw mm0, mm1
  '0f69c1', // punpckhwd mm0, mm1
  '0f6ac1', // punpckhdq mm0, mm1
  '0f70c11b', // pshufw mm0, mm1, 0x1b
  '0f70c1a5', // pshufw mm0, mm1, 0xa5
  '0f70c04e', // pshufw mm0, mm0, 0x4e
  '0ff1c1', // psllw mm0, mm1
  '0fd1c1', // psrlw mm0, mm1
  '0fe1c1', // psraw mm0, mm1
  '0ff2c1', // pslld mm0, mm1
  '0fd2c1', // psrld mm0, mm1
  '0fe2c1', // psrad mm0, mm1
  '0ff3c1', // psllq mm0, mm1
  '0fd3c1', // psrlq mm0, mm1
  '0f71f003', // psllw mm0, 3
  '0f71f011', // psllw mm0, 17
  '0f71d009', // psrlw mm0, 9
  '0f71e005', // psraw mm0, 5
  '0f71e0c8', // psraw mm0, 200
  '0f72f01f', // pslld mm0, 31
  '0f72d007', // psrld mm0, 7
  '0f72d020', // psrld mm0, 32
  '0f72e00d', // psrad mm0, 13
  '0f72e028', // psrad mm0, 40
  '0f73f021', // psllq mm0, 33
  '0f73f001', // psllq mm0, 1
  '0f73d03f', // psrlq mm0, 63
  '0f73d00c', // psrlq mm0, 12
  '0f73d040', // psrlq mm0, 64
  '0fc4c000', // pinsrw mm0, eax, 0
  '0fc4c006', // pinsrw mm0, eax, 6
  '0fc5c101', // pextrw eax, mm1, 1
  '0fc5c107', // pextrw eax, mm1, 7
  '0fd7c1', // pmovmskb eax, mm1
  '480fc5c102', // pextrw rax, mm1, 2 (REX.W)
  '480fd7c1', // pmovmskb rax, mm1 (REX.W)
  '480fc4c003', // pinsrw mm0, rax, 3 (REX.W; nasm spells it eax)
  '0ff7c1', // maskmovq mm0, mm1
  '0f3800c1', // pshufb mm0, mm1
  '0f3801c1', // phaddw mm0, mm1
  '0f3802c1', // phaddd mm0, mm1
  '0f3803c1', // phaddsw mm0, mm1
  '0f3805c1', // phsubw mm0, mm1
  '0f3806c1', // phsubd mm0, mm1
  '0f3807c1', // phsubsw mm0, mm1
  '0f3804c1', // pmaddubsw mm0, mm1
  '0f380bc1', // pmulhrsw mm0, mm1
  '0f3808c1', // psignb mm0, mm1
  '0f3809c1', // psignw mm0, mm1
  '0f380ac1', // psignd mm0, mm1
  '0f381cc1', // pabsb mm0, mm1
  '0f381dc1', // pabsw mm0, mm1
  '0f381ec1', // pabsd mm0, mm1
  '0f3a0fc100', // palignr mm0, mm1, 0
  '0f3a0fc103', // palignr mm0, mm1, 3
  '0f3a0fc108', // palignr mm0, mm1, 8
  '0f3a0fc10d', // palignr mm0, mm1, 13
  '0f3a0fc110', // palignr mm0, mm1, 16
  '0ffefd', // paddd mm7, mm5
  '0ff9d6', // psubw mm2, mm6
  '0f6f06', // movq mm0, [rsi]
  '0f6e06', // movd mm0, [rsi]
  '0f7f0e', // movq [rsi], mm1
  '0f7e0e', // movd [rsi], mm1
  '0fe70e', // movntq [rsi], mm1
  '0ffd06', // paddw mm0, [rsi]
  '0ff516', // pmaddwd mm2, [rsi]
  '0f6006', // punpcklbw mm0, [rsi]
  '0f6a06', // punpckhdq mm0, [rsi]
  '0fc40602', // pinsrw mm0, [rsi], 2
  '0f70061b', // pshufw mm0, [rsi], 0x1b
  '0f3a0f0605', // palignr mm0, [rsi], 5
  '0ff306', // psllq mm0, [rsi]
  '0f380006', // pshufb mm0, [rsi]
];

export const CASES_PER_OP = 64;
const REC_IN = 1 + 15 + 512 + 8 + 16, REC_OUT = 512 + 8 + 16;
/** Compared ranges of the output record: x87 environment, ST0-7, XMM0-15, RAX, memory. */
const COMPARED: [number, number][] = [[0, 24], [32, 160], [160, 416], [512, 536]];
/** The same without FOP, FIP and FDP (bytes 6-23), whose FXSAVE behaviour is vendor-specific. */
const COMPARED_VENDOR_NEUTRAL: [number, number][] = [[0, 6], ...COMPARED.slice(1)];


/** Deterministic xorshift generator. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}
/** Random bytes biased towards boundary values (0, 0x7f, 0x80, 0xff). */
function filler(next: () => number): () => number {
  return () => {
    const s = next(), p = s & 7;
    return p === 0 ? 0 : p === 1 ? 0x80 : p === 2 ? 0x7f : p === 3 ? 0xff : (s >>> 8) & 0xff;
  };
}

/** One input record's state after the code bytes: FXSAVE image, RAX, memory. */
function randomState(rec: Uint8Array, k: number, next: () => number): void {
  const byte = filler(next);
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.length);
  rec.fill(0);
  const top = next() & 7;
  dv.setUint16(0, 0x037f | ((next() & 3) << 10), true); // FCW: all exceptions masked, random rounding
  // FSW: TOP, random C0-C3 and (masked) exception flags; ES/B clear, so nothing is pending.
  dv.setUint16(2, (top << 11) | (next() & 0x4700) | (next() & 0x7f), true);
  rec[4] = next() & 0xff; // abridged FTW
  dv.setUint16(6, next() & 0x7ff, true); // FOP
  dv.setUint32(8, next(), true); // FIP
  dv.setUint32(16, next(), true); // FDP
  dv.setUint32(24, 0x1f80, true); // MXCSR
  for (let s = 0; s < 8; s++) for (let b = 0; b < 10; b++) rec[32 + 16 * s + b] = byte();
  for (let b = 160; b < 192; b++) rec[b] = byte(); // XMM0, XMM1
  for (let b = 512; b < 536; b++) rec[b] = byte(); // RAX, memory
  if (k % 4 === 1) {
    // Small shift counts in MM1 (physical register 1 is slot ST((1 - TOP) & 7)) and in memory.
    const slot = 32 + 16 * ((1 - top) & 7);
    rec.fill(0, slot, slot + 8); rec[slot] = next() % 72;
    rec.fill(0, 520, 528); rec[520] = next() % 72;
  }
}

const problem = nativeHostProblem('ssse3', 'SSSE3');

test('MMX instructions agree with the host CPU (registers, x87 TOP/tags/exponents, GPR, memory)', { skip: problem ? `skipped: ${problem}` : false }, () => {
  const exe = buildNativeHarness('mmx-native');
  assert.ok(existsSync(exe));

  const codes = OPS.map((h) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16))));
  const input = new Uint8Array(codes.length * CASES_PER_OP * REC_IN);
  const next = xorshift(0x4d4d58);
  let o = 0;
  for (const code of codes) {
    for (let k = 0; k < CASES_PER_OP; k++, o += REC_IN) {
      input[o] = code.length;
      input.set(code, o + 1);
      randomState(input.subarray(o + 16, o + REC_IN), k, next);
    }
  }
  const out = execFileSync(exe, { input, maxBuffer: 64 << 20 });
  assert.equal(out.length, codes.length * CASES_PER_OP * REC_OUT, 'harness output size');

  // The emulator: each op at its own address as FXRSTOR [rbx]; op; FXSAVE [rbx]; HLT.
  const CODE = 0x10000, IMG = 0x40000, MEM = 0x50000;
  const { cpu, mem } = bareCpu();
  longMode(cpu, mem, CODE);
  cpu.cr4 |= CR4_OSFXSR;
  const vendor = hostVendor();
  if (vendor) cpu.vendor = vendor;
  const compared = vendor ? COMPARED : COMPARED_VENDOR_NEUTRAL;
  codes.forEach((code, n) => {
    const a = CODE + 32 * n;
    mem.set([0x0f, 0xae, 0x0b], a);
    mem.set(code, a + 3);
    mem.set([0x0f, 0xae, 0x03, 0xf4], a + 3 + code.length);
  });
  const failures: string[] = [];
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  let r = 0, w = 0, cases = 0;
  for (let n = 0; n < codes.length; n++) {
    for (let k = 0; k < CASES_PER_OP; k++, r += REC_IN, w += REC_OUT) {
      const st = input.subarray(r + 16, r + REC_IN);
      mem.set(st.subarray(0, 512), IMG);
      mem.set(st.subarray(520, 536), MEM);
      const dv = new DataView(st.buffer, st.byteOffset + 512, 8);
      cpu.R[2 * RAX] = dv.getInt32(0, true); cpu.R[2 * RAX + 1] = dv.getInt32(4, true);
      cpu.R[2 * RBX] = IMG; cpu.R[2 * RBX + 1] = 0;
      cpu.R[2 * RSI] = MEM; cpu.R[2 * RSI + 1] = 0;
      cpu.R[2 * RDI] = MEM; cpu.R[2 * RDI + 1] = 0;
      cpu.rip = CODE + 32 * n;
      cpu.halted = false;
      const res = cpu.run(10);
      const got = new Uint8Array(REC_OUT);
      got.set(mem.subarray(IMG, IMG + 512), 0);
      const g = new DataView(got.buffer);
      g.setInt32(512, cpu.R[2 * RAX], true); g.setInt32(516, cpu.R[2 * RAX + 1], true);
      got.set(mem.subarray(MEM, MEM + 16), 520);
      const want = out.subarray(w, w + REC_OUT);
      // The host itself must show the MMX transition: TOP = 0, all tags valid.
      assert.equal((want[3] >> 3) & 7, 0, `host TOP after ${OPS[n]}`);
      assert.equal(want[4], 0xff, `host FTW after ${OPS[n]}`);
      const bad = compared.filter(([a, b]) => Buffer.compare(Buffer.from(got.subarray(a, b)), Buffer.from(want.subarray(a, b))) !== 0);
      cases++;
      if (res !== RUN_HALTED || bad.length) {
        failures.push(`${OPS[n]} case ${k}: run ${res} ${cpu.exit.message} differs in ${bad.map(([a, b]) => `${a}-${b}`).join(' ')}\n` +
          bad.map(([a, b]) => `  in   ${hex(st.subarray(a, b))}\n  host ${hex(want.subarray(a, b))}\n  emu  ${hex(got.subarray(a, b))}`).join('\n'));
        if (failures.length > 10) break;
      }
    }
    if (failures.length > 10) break;
  }
  assert.equal(failures.length, 0, failures.join('\n'));
  assert.equal(cases, OPS.length * CASES_PER_OP);
});

// Differential test of the SSE handlers against the host CPU: a harness built with gcc at test time
// (test/cpu/sse-native.c) runs each instruction natively from random XMM0-2/RAX states, and the
// emulator runs the same bytes from the same state; registers (and flags for PTEST) must agree.
// Skips with a message where gcc, x86-64 or SSE4.1 on the host is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { bareCpu, longMode } from './helpers';
import { nativeHostProblem, buildNativeHarness } from './native-host';
import { RUN_HALTED, getRflags } from '../../vm-core/cpu';
import { CR4_OSFXSR } from '../../vm-core/cpu/state';

// Every form is register-to-register on XMM0-2 (or RAX), assembled with nasm once.
const OPS: string[] = [
  '660fdbc1', // pand xmm0, xmm1
  '660fdfc1', // pandn xmm0, xmm1
  '660febc1', // por xmm0, xmm1
  '660fefc1', // pxor xmm0, xmm1
  '0f54c1', // andps xmm0, xmm1
  '0f55c1', // andnps xmm0, xmm1
  '0f56c1', // orps xmm0, xmm1
  '0f57c1', // xorps xmm0, xmm1
  '660f54c1', // andpd xmm0, xmm1
  '660f57c1', // xorpd xmm0, xmm1
  '660ffcc1', // paddb xmm0, xmm1
  '660ffdc1', // paddw xmm0, xmm1
  '660ffec1', // paddd xmm0, xmm1
  '660fd4c1', // paddq xmm0, xmm1
  '660ff8c1', // psubb xmm0, xmm1
  '660ff9c1', // psubw xmm0, xmm1
  '660ffac1', // psubd xmm0, xmm1
  '660ffbc1', // psubq xmm0, xmm1
  '660fecc1', // paddsb xmm0, xmm1
  '660fedc1', // paddsw xmm0, xmm1
  '660fdcc1', // paddusb xmm0, xmm1
  '660fddc1', // paddusw xmm0, xmm1
  '660fe8c1', // psubsb xmm0, xmm1
  '660fe9c1', // psubsw xmm0, xmm1
  '660fd8c1', // psubusb xmm0, xmm1
  '660fd9c1', // psubusw xmm0, xmm1
  '660f74c1', // pcmpeqb xmm0, xmm1
  '660f75c1', // pcmpeqw xmm0, xmm1
  '660f76c1', // pcmpeqd xmm0, xmm1
  '660f3829c1', // pcmpeqq xmm0, xmm1
  '660f64c1', // pcmpgtb xmm0, xmm1
  '660f65c1', // pcmpgtw xmm0, xmm1
  '660f66c1', // pcmpgtd xmm0, xmm1
  '660f3837c1', // pcmpgtq xmm0, xmm1
  '660fdac1', // pminub xmm0, xmm1
  '660fdec1', // pmaxub xmm0, xmm1
  '660f3838c1', // pminsb xmm0, xmm1
  '660f383cc1', // pmaxsb xmm0, xmm1
  '660feac1', // pminsw xmm0, xmm1
  '660feec1', // pmaxsw xmm0, xmm1
  '660f383ac1', // pminuw xmm0, xmm1
  '660f383ec1', // pmaxuw xmm0, xmm1
  '660f3839c1', // pminsd xmm0, xmm1
  '660f383dc1', // pmaxsd xmm0, xmm1
  '660f383bc1', // pminud xmm0, xmm1
  '660f383fc1', // pmaxud xmm0, xmm1
  '660f381cc1', // pabsb xmm0, xmm1
  '660f381dc1', // pabsw xmm0, xmm1
  '660f381ec1', // pabsd xmm0, xmm1
  '660fe0c1', // pavgb xmm0, xmm1
  '660fe3c1', // pavgw xmm0, xmm1
  '660ff6c1', // psadbw xmm0, xmm1
  '660fd5c1', // pmullw xmm0, xmm1
  '660fe5c1', // pmulhw xmm0, xmm1
  '660fe4c1', // pmulhuw xmm0, xmm1
  '660f3840c1', // pmulld xmm0, xmm1
  '660ff5c1', // pmaddwd xmm0, xmm1
  '660ff4c1', // pmuludq xmm0, xmm1
  '660f3828c1', // pmuldq xmm0, xmm1
  '660f63c1', // packsswb xmm0, xmm1
  '660f67c1', // packuswb xmm0, xmm1
  '660f6bc1', // packssdw xmm0, xmm1
  '660f382bc1', // packusdw xmm0, xmm1
  '660f60c1', // punpcklbw xmm0, xmm1
  '660f61c1', // punpcklwd xmm0, xmm1
  '660f62c1', // punpckldq xmm0, xmm1
  '660f6cc1', // punpcklqdq xmm0, xmm1
  '660f68c1', // punpckhbw xmm0, xmm1
  '660f69c1', // punpckhwd xmm0, xmm1
  '660f6ac1', // punpckhdq xmm0, xmm1
  '660f6dc1', // punpckhqdq xmm0, xmm1
  '0f14c1', // unpcklps xmm0, xmm1
  '0f15c1', // unpckhps xmm0, xmm1
  '660f14c1', // unpcklpd xmm0, xmm1
  '660f15c1', // unpckhpd xmm0, xmm1
  '660f3830c1', // pmovzxbw xmm0, xmm1
  '660f3831c1', // pmovzxbd xmm0, xmm1
  '660f3832c1', // pmovzxbq xmm0, xmm1
  '660f3833c1', // pmovzxwd xmm0, xmm1
  '660f3834c1', // pmovzxwq xmm0, xmm1
  '660f3835c1', // pmovzxdq xmm0, xmm1
  '660f3820c1', // pmovsxbw xmm0, xmm1
  '660f3821c1', // pmovsxbd xmm0, xmm1
  '660f3822c1', // pmovsxbq xmm0, xmm1
  '660f3823c1', // pmovsxwd xmm0, xmm1
  '660f3824c1', // pmovsxwq xmm0, xmm1
  '660f3825c1', // pmovsxdq xmm0, xmm1
  '660f70c11b', // pshufd xmm0, xmm1, 0x1b
  '660f70c1a5', // pshufd xmm0, xmm1, 0xa5
  'f20f70c193', // pshuflw xmm0, xmm1, 0x93
  'f30f70c14e', // pshufhw xmm0, xmm1, 0x4e
  '660f3800c1', // pshufb xmm0, xmm1
  '0fc6c172', // shufps xmm0, xmm1, 0x72
  '660fc6c101', // shufpd xmm0, xmm1, 1
  '660fc6c102', // shufpd xmm0, xmm1, 2
  '660f3a0fc100', // palignr xmm0, xmm1, 0
  '660f3a0fc105', // palignr xmm0, xmm1, 5
  '660f3a0fc111', // palignr xmm0, xmm1, 17
  '660f3a0fc121', // palignr xmm0, xmm1, 33
  '660f3a0ec1a6', // pblendw xmm0, xmm1, 0xa6
  'f20f12c1', // movddup xmm0, xmm1
  'f30f12c1', // movsldup xmm0, xmm1
  'f30f16c1', // movshdup xmm0, xmm1
  'f30f10c1', // movss xmm0, xmm1
  'f20f10c1', // movsd xmm0, xmm1
  'f30f7ec1', // movq xmm0, xmm1
  '0f16c1', // movlhps xmm0, xmm1
  '0f12c1', // movhlps xmm0, xmm1
  '660f6fc1', // movdqa xmm0, xmm1
  '660ff1c1', // psllw xmm0, xmm1
  '660fd1c1', // psrlw xmm0, xmm1
  '660fe1c1', // psraw xmm0, xmm1
  '660ff2c1', // pslld xmm0, xmm1
  '660fd2c1', // psrld xmm0, xmm1
  '660fe2c1', // psrad xmm0, xmm1
  '660ff3c1', // psllq xmm0, xmm1
  '660fd3c1', // psrlq xmm0, xmm1
  '660f71f003', // psllw xmm0, 3
  '660f71f011', // psllw xmm0, 17
  '660f71d009', // psrlw xmm0, 9
  '660f71e005', // psraw xmm0, 5
  '660f71e0c8', // psraw xmm0, 200
  '660f72f01f', // pslld xmm0, 31
  '660f72d007', // psrld xmm0, 7
  '660f72e00d', // psrad xmm0, 13
  '660f73f021', // psllq xmm0, 33
  '660f73f001', // psllq xmm0, 1
  '660f73d03f', // psrlq xmm0, 63
  '660f73d00c', // psrlq xmm0, 12
  '660f73f807', // pslldq xmm0, 7
  '660f73d809', // psrldq xmm0, 9
  '660f73d814', // psrldq xmm0, 20
  '660f3817c1', // ptest xmm0, xmm1
  '660fd7c1', // pmovmskb eax, xmm1
  '0f50c1', // movmskps eax, xmm1
  '660f50c1', // movmskpd eax, xmm1
  '660fc5c103', // pextrw eax, xmm1, 3
  '660f3a14c80d', // pextrb eax, xmm1, 13
  '660f3a16c802', // pextrd eax, xmm1, 2
  '66480f3a16c801', // pextrq rax, xmm1, 1
  '660fc4c006', // pinsrw xmm0, eax, 6
  '660f3a20c009', // pinsrb xmm0, eax, 9
  '660f3a22c003', // pinsrd xmm0, eax, 3
  '66480f3a22c001', // pinsrq xmm0, rax, 1
  '660f6ec0', // movd xmm0, eax
  '66480f6ec0', // movq xmm0, rax
  '660f7ec8', // movd eax, xmm1
  '66480f7ec8', // movq rax, xmm1
  '660f3810d1', // pblendvb xmm2, xmm1
  '660f3800d0', // pshufb xmm2, xmm0
];

const CASES_PER_OP = 40;
const REC_IN = 1 + 15 + 48 + 8, REC_OUT = 48 + 8 + 8;
const FLAGS = 0x8d5; // CF PF AF ZF SF OF


/** Deterministic random bytes biased towards boundary values (0, 0x7f, 0x80, 0xff). */
function filler(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const p = s & 7;
    return p === 0 ? 0 : p === 1 ? 0x80 : p === 2 ? 0x7f : p === 3 ? 0xff : (s >>> 8) & 0xff;
  };
}

const problem = nativeHostProblem('sse4_1', 'SSE4.1');

test('SSE instructions agree with the host CPU', { skip: problem ? `skipped: ${problem}` : false }, () => {
  const exe = buildNativeHarness('sse-native');
  assert.ok(existsSync(exe));

  // Inputs: for each op, CASES_PER_OP random states (XMM1 sometimes a small shift count / mask).
  const codes = OPS.map((h) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16))));
  const input = new Uint8Array(codes.length * CASES_PER_OP * REC_IN);
  const rnd = filler(12345);
  let o = 0;
  for (const code of codes) {
    for (let k = 0; k < CASES_PER_OP; k++) {
      input[o] = code.length;
      input.set(code, o + 1);
      for (let b = 0; b < 56; b++) input[o + 16 + b] = rnd();
      if (k % 4 === 1) { input.fill(0, o + 32, o + 48); input[o + 32] = rnd() & 0x7f; } // small xmm1 counts
      o += REC_IN;
    }
  }
  const out = execFileSync(exe, { input, maxBuffer: 64 << 20 });
  assert.equal(out.length, codes.length * CASES_PER_OP * REC_OUT, 'harness output size');

  // The emulator: one 64-bit processor, each op at its own address followed by HLT.
  const { cpu, mem } = bareCpu();
  longMode(cpu, mem, 0x10000);
  cpu.cr4 |= CR4_OSFXSR;
  codes.forEach((code, n) => { mem.set(code, 0x10000 + 32 * n); mem[0x10000 + 32 * n + code.length] = 0xf4; });
  const xm = new Uint8Array(cpu.xmm.buffer, cpu.xmm.byteOffset, 48);
  const failures: string[] = [];
  let r = 0, w = 0;
  for (let n = 0; n < codes.length; n++) {
    for (let k = 0; k < CASES_PER_OP; k++, r += REC_IN, w += REC_OUT) {
      xm.set(input.subarray(r + 16, r + 64));
      const dv = new DataView(input.buffer, r + 64, 8);
      cpu.R[0] = dv.getInt32(0, true); cpu.R[1] = dv.getInt32(4, true);
      cpu.rip = 0x10000 + 32 * n;
      cpu.halted = false;
      const res = cpu.run(10);
      const want = out.subarray(w, w + REC_OUT);
      const got = new Uint8Array(REC_OUT);
      got.set(xm, 0);
      const g = new DataView(got.buffer);
      g.setInt32(48, cpu.R[0], true); g.setInt32(52, cpu.R[1], true);
      const wantFlags = new DataView(want.buffer, want.byteOffset + 56, 4).getUint32(0, true) & FLAGS;
      const isPtest = /^660f3817/.test(OPS[n]);
      const flagsOk = !isPtest || (getRflags(cpu) & FLAGS) === wantFlags;
      if (res !== RUN_HALTED || !flagsOk || Buffer.compare(Buffer.from(got.subarray(0, 56)), Buffer.from(want.subarray(0, 56))) !== 0) {
        const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
        failures.push(`${OPS[n]} case ${k}: run ${res} ${cpu.exit.message}\n  in   ${hex(input.subarray(r + 16, r + 72))}\n` +
          `  host ${hex(want.subarray(0, 56))} flags ${wantFlags.toString(16)}\n  emu  ${hex(got.subarray(0, 56))} flags ${(getRflags(cpu) & FLAGS).toString(16)}`);
        if (failures.length > 10) break;
      }
    }
    if (failures.length > 10) break;
  }
  assert.equal(failures.length, 0, failures.join('\n'));
});

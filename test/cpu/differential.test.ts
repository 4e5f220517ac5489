// Differential test against the host CPU (issue 2): random sequences of general-purpose integer
// instructions run natively (test/native/native-runner.c, built with gcc at test time) and in the
// emulator in 64-bit long mode from the same register and memory state; every GPR, the data
// region and the architecturally defined arithmetic flags (plus DF) must agree. Flags the SDM
// leaves undefined after the instruction that last wrote them are masked out.
//
//   DIFF_SEED=<n>   change the seed (default fixed)      DIFF_COUNT=<n>  number of sequences
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, Decoder, DecoderOptions, Formatter, FormatterSyntax, Instruction } from 'iced-x86';
import { Cpu, PhysBus, RUN_EXIT, EXIT_REASON_EXCEPTION_NMI } from '../../vm-core/cpu';
import { getReg64, setReg64 } from '../../vm-core/cpu/state';
import { getRflags } from '../../vm-core/cpu/flags';
import { longMode } from './helpers';
import { setRflagsRaw } from './raw';
import { buildRunner, hostCpuFlags, runNative, DATA_ADDR, DATA_SIZE, NativeCase, NativeResult } from '../native/harness';
import { ARITH, AF, CF, DF, Generator, OF, PF, Rng, SF, ZF, icedFlags, Sequence } from '../native/generator';

const SEED = Number(process.env.DIFF_SEED ?? 0x5eed2);
const COUNT = Number(process.env.DIFF_COUNT ?? 2000);
const MIN_INSNS = 60;
const CODE_ADDR = 0x100000;
const STACK_TOP = DATA_ADDR + 0x1800;

// ---------------------------------------------------------------- per-instruction flag effects

interface InsnInfo {
  offset: number;
  len: number;
  name: string;
  text: string;
  written: number;   // defined by the instruction (written, cleared or set)
  undefined: number; // left undefined
  shift?: { op: string; bits: number; count: number; double: boolean }; // count -1: CL
  repString?: { asz: number; conditional: boolean };
}

const fmt = new Formatter(FormatterSyntax.Intel);

function decodeAll(code: Uint8Array): InsnInfo[] {
  const d = new Decoder(64, code, DecoderOptions.None);
  d.ip = BigInt(CODE_ADDR);
  const out: InsnInfo[] = [];
  const ins = new Instruction();
  while (d.canDecode) {
    d.decodeOut(ins);
    const name = Code[ins.code];
    const info: InsnInfo = {
      offset: Number(ins.ip) - CODE_ADDR, len: ins.length, name, text: fmt.format(ins),
      written: icedFlags(ins.rflagsWritten | ins.rflagsCleared | ins.rflagsSet), undefined: icedFlags(ins.rflagsUndefined),
    };
    let m = /^(Rol|Ror|Rcl|Rcr|Shl|Sal|Shr|Sar)_rm(8|16|32|64)_(1|imm8|CL)$/.exec(name);
    if (m) info.shift = { op: m[1], bits: Number(m[2]), count: m[3] === 'CL' ? -1 : m[3] === '1' ? 1 : ins.immediate8, double: false };
    else if ((m = /^(Shld|Shrd)_rm(16|32|64)_r\d+_(imm8|CL)$/.exec(name))) {
      info.shift = { op: m[1], bits: Number(m[2]), count: m[3] === 'CL' ? -1 : ins.immediate8, double: true };
    }
    if (/^(Cmps|Scas)[bwdq]_/.test(name) && (ins.hasRepePrefix || ins.hasRepnePrefix)) {
      info.repString = { asz: hasAddrPrefix(code, info.offset, ins.length) ? 32 : 64, conditional: true };
    }
    out.push(info);
  }
  ins.free();
  d.free();
  return out;
}
function hasAddrPrefix(code: Uint8Array, off: number, len: number): boolean {
  for (let k = off; k < off + len; k++) {
    const b = code[k];
    if (b === 0x67) return true;
    if (![0x66, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65].includes(b)) return false;
  }
  return false;
}

/** The undefined-flag set after executing `info` from the given state (SDM flag rules per count). */
function nextUndefined(undef: number, info: InsnInfo, cpu: Cpu): number {
  const s = info.shift;
  if (s) {
    const raw = s.count < 0 ? cpu.R[2] & 0xff : s.count;
    const n = raw & (s.bits === 64 ? 63 : 31);
    if (n === 0) return undef; // a masked count of 0 changes no flags
    const ofDef = n === 1 ? OF : 0;
    if (s.double) {
      if (s.bits === 16 && n > 16) return undef | ARITH; // result and flags undefined
      return (undef & ~(CF | SF | ZF | PF | ofDef)) | AF | (OF & ~ofDef);
    }
    switch (s.op) {
      case 'Rol': case 'Ror':
        return (undef & ~(CF | ofDef)) | (OF & ~ofDef);
      case 'Rcl': case 'Rcr': {
        const t = s.bits === 8 ? n % 9 : s.bits === 16 ? n % 17 : n;
        return (undef & ~((t ? CF : 0) | ofDef)) | (OF & ~ofDef);
      }
      default: {
        // SHL/SHR: CF is undefined when the count is at least the operand width (8/16-bit only).
        const cfUndef = (s.op !== 'Sar' && n >= s.bits) ? CF : 0;
        return (undef & ~(SF | ZF | PF | ofDef | (CF & ~cfUndef))) | AF | (OF & ~ofDef) | cfUndef;
      }
    }
  }
  if (info.repString) {
    const R = cpu.R;
    const zero = info.repString.asz === 64 ? (R[2] | R[3]) === 0 : R[2] === 0;
    if (zero) return undef; // no iteration: flags unchanged
  }
  return (undef & ~info.written) | info.undefined;
}

// ---------------------------------------------------------------- the emulator side

interface EmuResult {
  fault: number;      // -1 none, else the vector
  offset: number;     // RIP - code start at the end or the fault
  regs: bigint[];
  rflags: number;
  undef: number;
  data: Uint8Array;
  executed: number;
  error?: string;
  /** Offsets executed, each with RFLAGS after it (kept for failure reports). */
  trace: string[];
}

class Emulator {
  private bus = new PhysBus();
  private mem = new Uint8Array(2 << 20);
  private data = new Uint8Array(DATA_SIZE);
  private cpu!: Cpu;
  constructor() {
    this.bus.setRegion(0, 0, this.mem, false);
    this.bus.setRegion(1, DATA_ADDR, this.data, false);
    this.fresh();
  }
  private fresh(): void {
    this.cpu = new Cpu(this.bus);
    longMode(this.cpu, this.mem, CODE_ADDR);
    this.cpu.intercepts.exceptionBitmap = 0xffffffff; // every exception becomes an exit we can read
  }

  run(seq: Sequence, infos: InsnInfo[]): EmuResult {
    const cpu = this.cpu, code = seq.code;
    this.mem.fill(0, CODE_ADDR, CODE_ADDR + 0x10000);
    this.mem.set(code, CODE_ADDR);
    cpu.invalidateAllCode();
    this.data.set(seq.data);
    for (let k = 0; k < 16; k++) setReg64(cpu, k, seq.regs[k]);
    setRflagsRaw(cpu, seq.rflags);
    cpu.rip = CODE_ADDR;
    const byOffset = new Map(infos.map((x) => [x.offset, x]));
    const end = CODE_ADDR + code.length;
    let undef = 0; // the initial flags are all defined
    let executed = 0, fault = -1, error: string | undefined;
    const trace: string[] = [];
    for (let guard = 0; cpu.rip !== end; guard++) {
      if (guard > 20000) { error = 'runaway: more than 20000 steps'; break; }
      const info = byOffset.get(cpu.rip - CODE_ADDR);
      if (!info) { error = `RIP ${cpu.rip.toString(16)} is not at an instruction boundary`; break; }
      const before = nextUndefined(undef, info, cpu);
      const r = cpu.run(1);
      if (r === RUN_EXIT) {
        if (cpu.exit.reason === EXIT_REASON_EXCEPTION_NMI) { fault = cpu.exit.intrInfo & 0xff; break; }
        error = `exit ${cpu.exit.reason}: ${cpu.exit.message}`;
        break;
      }
      undef = before;
      executed++;
      trace.push(`${info.offset}:${flagText(getRflags(cpu))}`);
    }
    const regs = Array.from({ length: 16 }, (_, k) => getReg64(cpu, k));
    const res: EmuResult = { fault, offset: cpu.rip - CODE_ADDR, regs, rflags: getRflags(cpu), undef, data: this.data.slice(), executed, error, trace };
    if (fault >= 0 || error) this.fresh(); // leave no pending event behind
    return res;
  }
}

// ---------------------------------------------------------------- comparison and reporting

const SIG_VECTOR: Record<number, number> = { 8: 0, 4: 6, 11: 13, 7: 13 };
const REG_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

function flagText(f: number): string {
  return [[CF, 'CF'], [PF, 'PF'], [AF, 'AF'], [ZF, 'ZF'], [SF, 'SF'], [OF, 'OF'], [DF, 'DF']].filter(([b]) => f & (b as number)).map(([, n]) => n).join(' ') || '-';
}

/** Differences between the native and emulated outcome (empty when they agree). */
function compare(n: NativeResult, e: EmuResult): string[] {
  const diffs: string[] = [];
  if (e.error) diffs.push(`emulator: ${e.error}`);
  const nFault = n.signal ? SIG_VECTOR[n.signal] ?? 100 + n.signal : -1;
  if (nFault !== e.fault) diffs.push(`fault: native ${n.signal ? `signal ${n.signal} (vector ${nFault})` : 'none'}, emulator ${e.fault < 0 ? 'none' : `vector ${e.fault}`}`);
  if (n.offset !== e.offset) diffs.push(`stopped at offset: native ${n.offset}, emulator ${e.offset}`);
  for (let k = 0; k < 16; k++) {
    if (n.regs[k] !== e.regs[k]) diffs.push(`${REG_NAMES[k]}: native 0x${n.regs[k].toString(16)}, emulator 0x${e.regs[k].toString(16)}`);
  }
  const mask = (ARITH & ~e.undef) | DF;
  const fd = (n.rflags ^ e.rflags) & mask;
  if (fd) diffs.push(`flags differ in ${flagText(fd)}: native ${flagText(n.rflags & mask)}, emulator ${flagText(e.rflags & mask)} (undefined: ${flagText(e.undef)})`);
  if (!n.signal || !e.error) {
    for (let k = 0; k < DATA_SIZE; k++) {
      if (n.data[k] !== e.data[k]) {
        diffs.push(`memory 0x${(DATA_ADDR + k).toString(16)}: native 0x${n.data[k].toString(16)}, emulator 0x${e.data[k].toString(16)}`);
        if (diffs.length > 12) break;
      }
    }
  }
  return diffs;
}

function listing(infos: InsnInfo[], code: Uint8Array, mark: number): string {
  return infos.map((x, k) => {
    const hex = Buffer.from(code.subarray(x.offset, x.offset + x.len)).toString('hex').padEnd(24);
    return `${k === mark ? '>>' : '  '} ${x.offset.toString().padStart(4)}: ${hex} ${x.text}`;
  }).join('\n');
}

/** Code with every instruction from index `k` on replaced by NOPs (branch targets stay valid). */
function prefixCode(code: Uint8Array, infos: InsnInfo[], k: number): Uint8Array {
  const c = code.slice();
  if (k < infos.length) c.fill(0x90, infos[k].offset);
  return c;
}

function explainFailure(runner: string, emu: Emulator, seq: Sequence, infos: InsnInfo[], diffs: string[], index: number): string {
  // Bisect by prefix: the first prefix whose outcome differs ends with the diverging instruction.
  const prefixes: NativeCase[] = [];
  for (let k = 1; k <= infos.length; k++) prefixes.push({ ...seq, code: prefixCode(seq.code, infos, k) });
  const nat = runNative(runner, prefixes);
  let first = infos.length - 1, firstDiffs = diffs, trace: string[] = [];
  for (let k = 1; k <= infos.length; k++) {
    const code = prefixes[k - 1].code;
    const e = emu.run({ ...seq, code }, decodeAll(code));
    const d = compare(nat[k - 1], e);
    if (d.length) { first = k - 1; firstDiffs = d; trace = e.trace; break; }
  }
  const regs = seq.regs.map((v, k) => `${REG_NAMES[k]}=0x${v.toString(16)}`).join(' ');
  return [
    `sequence #${index} (DIFF_SEED=${SEED}) differs from the host CPU:`,
    ...diffs.map((d) => '  ' + d),
    `first diverging instruction (by prefix): #${first} ${infos[first]?.text}`,
    ...firstDiffs.map((d) => '  ' + d),
    `initial state: ${regs} rflags=0x${seq.rflags.toString(16)}`,
    `emulator path (offset:flags after) of that prefix: ${trace.join(' ')}`,
    listing(infos, seq.code, first),
  ].join('\n');
}

// ---------------------------------------------------------------- the test

test('random instruction sequences agree with the host CPU', (t) => {
  const built = buildRunner();
  if (!built.path) { t.skip(`differential test skipped: ${built.reason}`); return; }
  const runner = built.path;
  const host = hostCpuFlags();
  const features = {
    bmi1: host.has('bmi1'), bmi2: host.has('bmi2'), lzcnt: host.has('abm'), popcnt: host.has('popcnt'),
    movbe: host.has('movbe'), adx: host.has('adx'), lahf: host.has('lahf_lm'),
  };
  const missing = Object.entries(features).filter(([, v]) => !v).map(([k]) => k);
  if (missing.length) t.diagnostic(`host CPU lacks ${missing.join(', ')}: those instructions are not generated`);

  const rng = new Rng(SEED);
  const gen = new Generator(rng, features);
  const seqs: Sequence[] = [];
  const infos: InsnInfo[][] = [];
  let staticInsns = 0;
  for (let k = 0; k < COUNT; k++) {
    const { code, insns } = gen.generate(MIN_INSNS, k % 50 === 49);
    staticInsns += insns;
    const regs = Array.from({ length: 16 }, () => rng.u64());
    regs[4] = BigInt(STACK_TOP);
    const data = new Uint8Array(DATA_SIZE);
    for (let b = 0; b < DATA_SIZE; b += 4) new DataView(data.buffer).setUint32(b, rng.u32(), true);
    const rflags = 2 | (rng.u32() & ARITH) | (rng.chance(0.2) ? DF : 0);
    seqs.push({ code, regs, rflags, data });
    infos.push(decodeAll(code));
  }
  const native = runNative(runner, seqs);
  const emu = new Emulator();
  let executed = 0, faults = 0;
  for (let k = 0; k < COUNT; k++) {
    const e = emu.run(seqs[k], infos[k]);
    executed += e.executed;
    if (e.fault >= 0) faults++;
    const diffs = compare(native[k], e);
    if (diffs.length) assert.fail(explainFailure(runner, emu, seqs[k], infos[k], diffs, k));
  }
  t.diagnostic(`${COUNT} sequences (${staticInsns} instructions generated, ${executed} executed and compared, ${faults} ending in #DE) agree with the host CPU (seed ${SEED})`);
});

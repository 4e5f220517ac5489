// Random x86-64 instruction sequences for the differential test (test/cpu/differential.test.ts),
// encoded with iced-x86. Every sequence runs in user mode with RSP pointing into the data region
// and all memory operands inside it, so it can run natively and in the emulator alike.
//
// Instructions are emitted in blocks (a main instruction and the set-up it needs); forward Jcc /
// JMP / LOOP / JRCXZ skip whole blocks. The generator tracks which arithmetic flags may be
// undefined (SDM) and inserts a flag-defining CMP/ADD/SUB before any instruction that reads one,
// so the results never depend on undefined flags.
import { Code, Decoder, DecoderOptions, Encoder, Instruction, MemoryOperand, Register } from 'iced-x86';
import { DATA_ADDR } from './harness';

export const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800, DF = 0x400;
export const ARITH = CF | PF | AF | ZF | SF | OF;

/** iced RflagsBits -> RFLAGS bits (arithmetic flags and DF). */
export function icedFlags(b: number): number {
  return (b & 1 ? OF : 0) | (b & 2 ? SF : 0) | (b & 4 ? ZF : 0) | (b & 8 ? AF : 0) | (b & 16 ? CF : 0) |
    (b & 32 ? PF : 0) | (b & 64 ? DF : 0);
}

/** Small deterministic PRNG (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number { return this.u32() % n; }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]; }
  chance(p: number): boolean { return this.u32() / 4294967296 < p; }
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  /** A "interesting" 64-bit value: edges, small numbers and random bits. */
  u64(): bigint {
    switch (this.int(8)) {
      case 0: return BigInt(this.int(16));
      case 1: return (1n << 64n) - BigInt(1 + this.int(4));
      case 2: return BigInt.asUintN(64, 1n << BigInt(this.int(64)));
      case 3: return BigInt(this.u32());
      case 4: return BigInt.asUintN(64, (1n << 63n) - BigInt(this.int(3)));
      case 5: return BigInt.asUintN(64, BigInt.asIntN(32, BigInt(this.u32())));
      default: return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
    }
  }
}

export interface Features { bmi1: boolean; bmi2: boolean; lzcnt: boolean; popcnt: boolean; movbe: boolean; adx: boolean; lahf: boolean }

const RSP = 4;
const SIZES = [1, 2, 4, 8] as const;
const CCS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
/** Flags read by condition code cc (SDM Vol. 2 Appendix B.1.4.7). */
const CC_READS = [OF, OF, CF, CF, ZF, ZF, CF | ZF, CF | ZF, SF, SF, PF, PF, SF | OF, SF | OF, ZF | SF | OF, ZF | SF | OF];

function reg(size: number, n: number): Register {
  switch (size) {
    case 1: return n < 4 ? Register.AL + n : Register.SPL + n - 4;
    case 2: return Register.AX + n;
    case 4: return Register.EAX + n;
    default: return Register.RAX + n;
  }
}
const HIGH8 = [Register.AH, Register.CH, Register.DH, Register.BH];

function code(name: string): Code {
  const v = (Code as unknown as Record<string, number>)[name];
  if (v === undefined) throw new Error(`no iced Code ${name}`);
  return v;
}

interface Chunk { bytes: Uint8Array }
type Block = Chunk[];

export interface Sequence {
  code: Uint8Array;
  regs: bigint[];
  rflags: number;
  data: Uint8Array;
}

const SHIFT_RE = /^(Rol|Ror|Rcl|Rcr|Shl|Sal|Shr|Sar)_rm(8|16|32|64)_(1|imm8|CL)$/;
const SHD_RE = /^(Shld|Shrd)_rm(16|32|64)_r(16|32|64)_(imm8|CL)$/;

export class Generator {
  private enc = new Encoder(64);
  private blocks: Block[] = [];
  private cur: Block = [];
  /** Flags that may be undefined at this point (conservative). */
  private undef = 0;
  /** Pending forward branches: block index where they land, and the undefined set at the branch. */
  private joins: { at: number; undef: number }[] = [];
  private count = 0;

  constructor(private rng: Rng, private f: Features) {}

  // ------------------------------------------------------------------ emission

  private emit(ins: Instruction): void {
    this.track(ins);
    const len = this.enc.encode(ins, 0n);
    const bytes = this.enc.takeBuffer();
    if (bytes.length !== len) throw new Error('encoder length mismatch');
    this.cur.push({ bytes });
    ins.free();
    this.count++;
  }
  /** Raw bytes (decoded once for the flag bookkeeping). */
  private raw(bytes: number[]): void {
    const b = Uint8Array.from(bytes);
    const d = new Decoder(64, b, DecoderOptions.None);
    const ins = d.decode();
    d.free();
    if (ins.isInvalid || ins.length !== b.length) throw new Error(`bad raw instruction ${Buffer.from(b).toString('hex')}`);
    this.track(ins);
    ins.free();
    this.cur.push({ bytes: b });
    this.count++;
  }

  /** Insert a flag definer first if `ins` reads a possibly undefined flag; then account for its effect. */
  private track(ins: Instruction): void {
    const read = icedFlags(ins.rflagsRead) & ARITH;
    if (read & this.undef) this.defineFlags();
    const written = icedFlags(ins.rflagsWritten | ins.rflagsCleared | ins.rflagsSet) & ARITH;
    const undefined = icedFlags(ins.rflagsUndefined) & ARITH;
    const name = Code[ins.code];
    let m = SHIFT_RE.exec(name);
    if (m || (m = SHD_RE.exec(name))) {
      const bits = Number(m[2]);
      const byCl = name.endsWith('_CL');
      const count = byCl ? -1 : name.endsWith('_1') ? 1 : ins.immediate8 & (bits === 64 ? 63 : 31);
      const cfMaybe = /^(Shl|Sal|Shr)$/.test(m[1]) && bits <= 16 ? CF : 0;
      if (count === 0) return;
      if (count < 0) this.undef |= undefined | cfMaybe | OF;
      else this.undef = (this.undef & ~written) | undefined | cfMaybe | (count === 1 ? 0 : OF);
      return;
    }
    // A repeated CMPS/SCAS with a zero count changes no flags.
    if (/^(Cmps|Scas)[bwdq]_/.test(name) && (ins.hasRepePrefix || ins.hasRepnePrefix)) { this.undef |= undefined; return; }
    this.undef = (this.undef & ~written) | undefined;
  }

  /**
   * CMP between random registers or with an immediate: defines all six flags and writes no
   * register (it may sit between a base-register set-up and its use).
   */
  private defineFlags(): void {
    const size = this.rng.pick(SIZES), op = 'Cmp';
    const d = this.gpr(), ins = this.rng.chance(0.5)
      ? Instruction.createRegReg(code(`${op}_rm${size * 8}_r${size * 8}`), reg(size, d), reg(size, this.gpr()))
      : Instruction.createRegI32(code(`${op}_rm${size * 8}_imm8`), reg(size, d), this.rng.range(-128, 127));
    this.undef = 0;
    const len = this.enc.encode(ins, 0n);
    this.cur.push({ bytes: this.enc.takeBuffer().subarray(0, len) });
    ins.free();
    this.count++;
  }

  private endBlock(): void {
    if (this.cur.length) { this.blocks.push(this.cur); this.cur = []; }
    this.mergeJoins();
  }
  private mergeJoins(): void {
    // A pending forward branch may land at any block boundary up to its target (its displacement
    // is fixed later and may be shortened): merge the flag state of the branch path there.
    for (const j of this.joins) if (j.at >= this.blocks.length) this.undef |= j.undef;
    this.joins = this.joins.filter((j) => j.at > this.blocks.length);
  }

  // ------------------------------------------------------------------ operands

  /** A GPR number other than RSP. */
  private gpr(): number {
    const n = this.rng.int(15);
    return n >= RSP ? n + 1 : n;
  }
  /** Register of `size`, avoiding RSP; for 8-bit sometimes AH..BH (then `legacy` must allow it). */
  private regOf(size: number, legacy: boolean): Register {
    if (size === 1 && legacy) return this.rng.chance(0.5) ? HIGH8[this.rng.int(4)] : Register.AL + this.rng.int(4);
    return reg(size, this.gpr());
  }
  /** Memory operand in the first data page: absolute (64- or 32-bit addressing) or base + disp. */
  private mem(size: number, align = 1, legacy = false): MemoryOperand {
    return this.memF(size, align, legacy)();
  }
  /** The same as a maker, for using one location twice (iced consumes MemoryOperand objects). */
  private memF(size: number, align = 1, legacy = false): (extra?: number) => MemoryOperand {
    void size;
    let off = this.rng.int(0x1000 - 16);
    off -= off % align;
    const addr = DATA_ADDR + off;
    if (!legacy && this.rng.chance(0.3)) {
      // mov base, addr - disp; then [base + disp]. The base is not RSP, nor RAX/RCX/RDX, which
      // set-ups (CMPXCHG's accumulator, a CL count) may write before the location is used.
      let base: number;
      do base = this.gpr(); while (base <= 2);
      const disp = this.rng.range(-128, 127);
      this.emit(Instruction.createRegI64(Code.Mov_r64_imm64, reg(8, base), BigInt(addr - disp)));
      return (extra = 0) => new MemoryOperand(Register.RAX + base, Register.None, 1, BigInt(disp + extra), 1, false, Register.None);
    }
    const dsz = this.rng.chance(0.2) ? 4 : 8;
    return (extra = 0) => new MemoryOperand(Register.None, Register.None, 1, BigInt(addr + extra), dsz, false, Register.None);
  }

  // ------------------------------------------------------------------ instruction groups

  private alu(): void {
    const size = this.rng.pick(SIZES), bits = size * 8, legacy = this.rng.chance(0.3);
    const op = this.rng.pick(['Add', 'Or', 'Adc', 'Sbb', 'And', 'Sub', 'Xor', 'Cmp', 'Test']);
    const form = this.rng.int(op === 'Test' ? 2 : 4);
    const d = this.regOf(size, legacy);
    if (form === 0) { // r/m, r
      const s = this.regOf(size, legacy);
      this.emit(this.rng.chance(0.3) ? Instruction.createMemReg(code(`${op}_rm${bits}_r${bits}`), this.mem(size, 1, legacy), s)
        : Instruction.createRegReg(code(`${op}_rm${bits}_r${bits}`), d, s));
    } else if (form === 1) { // r/m, imm
      const immBits = bits === 64 ? 32 : bits;
      const v = this.rng.chance(0.5) ? this.rng.range(-5, 5) : Number(BigInt.asIntN(immBits, this.rng.u64()));
      const c = code(`${op}_rm${bits}_imm${immBits}`);
      this.emit(this.rng.chance(0.3) ? Instruction.createMemI32(c, this.mem(size), v) : Instruction.createRegI32(c, d, v));
    } else if (form === 2) { // r, r/m
      this.emit(Instruction.createRegMem(code(`${op}_r${bits}_rm${bits}`), d, this.mem(size, 1, legacy)));
    } else { // r/m, imm8 (sign-extended)
      const c = bits === 8 ? code(`${op}_rm8_imm8`) : code(`${op}_rm${bits}_imm8`);
      this.emit(Instruction.createRegI32(c, d, this.rng.range(-128, 127)));
    }
  }

  private unary(): void {
    const size = this.rng.pick(SIZES), op = this.rng.pick(['Inc', 'Dec', 'Neg', 'Not']);
    const c = code(`${op}_rm${size * 8}`);
    this.emit(this.rng.chance(0.3) ? Instruction.createMem(c, this.mem(size)) : Instruction.createReg(c, this.regOf(size, true)));
  }

  private shift(): void {
    const size = this.rng.pick(SIZES), bits = size * 8;
    const op = this.rng.pick(['Rol', 'Ror', 'Rcl', 'Rcr', 'Shl', 'Sal', 'Shr', 'Sar']);
    const kind = this.rng.int(3);
    const useMem = this.rng.chance(0.25);
    const dst = this.regOf(size, true);
    if (kind === 2) {
      if (this.rng.chance(0.5)) this.emit(Instruction.createRegI32(Code.Mov_r8_imm8, Register.CL, this.rng.int(80)));
      const c = code(`${op}_rm${bits}_CL`);
      const d = dst === Register.CL && this.rng.chance(0.5) ? Register.DL : dst;
      this.emit(useMem ? Instruction.createMemReg(c, this.mem(size), Register.CL) : Instruction.createRegReg(c, d, Register.CL));
    } else {
      const c = code(`${op}_rm${bits}_${kind === 0 ? '1' : 'imm8'}`);
      const n = kind === 0 ? 1 : this.rng.chance(0.7) ? this.rng.int(bits + 2) : this.rng.int(256);
      this.emit(useMem ? Instruction.createMemI32(c, this.mem(size), n) : Instruction.createRegI32(c, dst, n));
    }
  }

  private shiftDouble(): void {
    const size = this.rng.pick([2, 4, 8]), bits = size * 8, op = this.rng.pick(['Shld', 'Shrd']);
    const d = this.regOf(size, false), s = this.regOf(size, false);
    const m = this.rng.chance(0.25) ? this.mem(size) : null;
    if (this.rng.chance(0.5)) {
      // Counts above 16 leave 16-bit results undefined: keep CL within 0..15 there.
      if (size === 2) this.emit(Instruction.createRegI32(Code.And_rm8_imm8, Register.CL, 15));
      const c = code(`${op}_rm${bits}_r${bits}_CL`);
      this.emit(m ? Instruction.createMemRegReg(c, m, s, Register.CL) : Instruction.createRegRegReg(c, d, s, Register.CL));
    } else {
      const n = size === 2 ? this.rng.int(17) : this.rng.int(bits);
      const c = code(`${op}_rm${bits}_r${bits}_imm8`);
      this.emit(m ? Instruction.createMemRegI32(c, m, s, n) : Instruction.createRegRegI32(c, d, s, n));
    }
  }

  private multiply(): void {
    const size = this.rng.pick(SIZES), bits = size * 8, form = size === 1 ? 0 : this.rng.int(3);
    if (form === 0) {
      const c = code(`${this.rng.pick(['Mul', 'Imul'])}_rm${bits}`);
      this.emit(this.rng.chance(0.3) ? Instruction.createMem(c, this.mem(size)) : Instruction.createReg(c, this.regOf(size, true)));
    } else if (form === 1) {
      const c = code(`Imul_r${bits}_rm${bits}`), d = this.regOf(size, false);
      this.emit(this.rng.chance(0.3) ? Instruction.createRegMem(c, d, this.mem(size)) : Instruction.createRegReg(c, d, this.regOf(size, false)));
    } else {
      const imm8 = this.rng.chance(0.5), immBits = bits === 64 ? 32 : bits;
      const c = code(`Imul_r${bits}_rm${bits}_imm${imm8 ? 8 : immBits}`), d = this.regOf(size, false);
      const v = imm8 ? this.rng.range(-128, 127) : Number(BigInt.asIntN(immBits, this.rng.u64()));
      this.emit(this.rng.chance(0.3) ? Instruction.createRegMemI32(c, d, this.mem(size), v) : Instruction.createRegRegI32(c, d, this.regOf(size, false), v));
    }
  }

  /** DIV/IDIV prepared so the quotient fits (unless `wild`: then #DE is likely, and compared). */
  private divide(wild: boolean): void {
    const size = this.rng.pick(SIZES), bits = size * 8, signed = this.rng.chance(0.5);
    const c = code(`${signed ? 'Idiv' : 'Div'}_rm${bits}`);
    // Divisor: a register other than rAX/rDX (AL/AH for bytes), or memory.
    let n: number;
    do n = this.gpr(); while (n === 0 || n === 2);
    const useMem = this.rng.chance(0.3);
    const m = useMem ? this.memF(size, 1, true) : null;
    const dreg = reg(size, n);
    const orDivisor = (v: number) => {
      const oc = code(`Or_rm${bits}_imm${bits === 64 ? 32 : bits}`);
      if (m) this.emit(Instruction.createMemI32(oc, m(), v));
      else this.emit(Instruction.createRegI32(oc, dreg, v));
    };
    if (!wild) {
      const high = size === 1 ? Register.AH : reg(size, 2);
      if (signed) {
        this.emit(Instruction.create(code(['Cbw', 'Cwd', 'Cdq', 'Cqo'][Math.log2(size)])));
        orDivisor(1);
      } else if (this.rng.chance(0.5)) {
        this.emit(Instruction.createRegI32(code(size === 1 ? 'Mov_rm8_imm8' : `Mov_r${bits === 64 ? 32 : bits}_imm${bits === 64 ? 32 : bits}`), size === 8 ? Register.EDX : high, 0));
        orDivisor(1);
      } else {
        // High half < 2^(N-1) <= divisor.
        this.emit(Instruction.createRegI32(code(`Shr_rm${bits}_1`), high, 1));
        orDivisor(bits === 8 ? -0x80 : bits === 16 ? -0x8000 : -0x80000000);
      }
    }
    this.emit(m ? Instruction.createMem(c, m()) : Instruction.createReg(c, dreg));
  }

  private bitTest(): void {
    const size = this.rng.pick([2, 4, 8]), bits = size * 8, op = this.rng.pick(['Bt', 'Bts', 'Btr', 'Btc']);
    const form = this.rng.int(4);
    if (form === 0) {
      this.emit(Instruction.createRegReg(code(`${op}_rm${bits}_r${bits}`), this.regOf(size, false), this.regOf(size, false)));
    } else if (form === 1) {
      const c = code(`${op}_rm${bits}_imm8`);
      const v = this.rng.int(256);
      this.emit(this.rng.chance(0.4) ? Instruction.createMemI32(c, this.mem(size), v) : Instruction.createRegI32(c, this.regOf(size, false), v));
    } else {
      // Memory bit string with a register offset reaching outside the operand (-1024..4095 bits).
      const r = this.gpr(), off = this.rng.range(-1024, 4095);
      this.emit(size === 8 ? Instruction.createRegI64(Code.Mov_r64_imm64, reg(8, r), BigInt(off))
        : Instruction.createRegI32(code(`Mov_r${bits}_imm${bits}`), reg(size, r), off & (size === 2 ? 0xffff : -1)));
      const addr = DATA_ADDR + 0x800 + this.rng.range(-64, 64);
      this.emit(Instruction.createMemReg(code(`${op}_rm${bits}_r${bits}`),
        new MemoryOperand(Register.None, Register.None, 1, BigInt(addr), 8, false, Register.None), reg(size, r)));
    }
  }

  private bitScan(): void {
    const ops = ['Bsf', 'Bsr'];
    if (this.f.popcnt) ops.push('Popcnt');
    if (this.f.lzcnt) ops.push('Lzcnt');
    if (this.f.bmi1) ops.push('Tzcnt');
    if (this.rng.chance(0.15)) { // BSWAP (16-bit: undefined by the SDM; processors clear the word)
      const size = this.rng.pick([2, 4, 8]);
      this.emit(Instruction.createReg(code(`Bswap_r${size * 8}`), this.regOf(size, false)));
      return;
    }
    const op = this.rng.pick(ops), size = this.rng.pick([2, 4, 8]), bits = size * 8;
    const c = code(`${op}_r${bits}_rm${bits}`), d = this.regOf(size, false);
    if (this.rng.chance(0.15)) this.emit(Instruction.createRegI32(code(`Mov_r32_imm32`), reg(4, this.gpr()), 0));
    this.emit(this.rng.chance(0.3) ? Instruction.createRegMem(c, d, this.mem(size)) : Instruction.createRegReg(c, d, this.regOf(size, false)));
  }

  private bmi(): void {
    const ops: string[] = [];
    if (this.f.bmi1) ops.push('Andn', 'Bextr', 'Blsi', 'Blsmsk', 'Blsr');
    if (this.f.bmi2) ops.push('Bzhi', 'Mulx', 'Pdep', 'Pext', 'Rorx', 'Sarx', 'Shlx', 'Shrx');
    if (ops.length === 0) { this.alu(); return; }
    const op = this.rng.pick(ops), size = this.rng.pick([4, 8]), bits = size * 8;
    const r = () => this.regOf(size, false);
    const useMem = this.rng.chance(0.3);
    switch (op) {
      case 'Andn': case 'Mulx': case 'Pdep': case 'Pext': {
        const c = code(`VEX_${op}_r${bits}_r${bits}_rm${bits}`);
        this.emit(useMem ? Instruction.createRegRegMem(c, r(), r(), this.mem(size)) : Instruction.createRegRegReg(c, r(), r(), r()));
        break;
      }
      case 'Bextr': case 'Bzhi': case 'Sarx': case 'Shlx': case 'Shrx': {
        if (this.rng.chance(0.5)) {
          // A control register with interesting start/length (or index) bytes.
          const ctl = this.gpr(), v = this.rng.int(80) | (this.rng.int(80) << 8);
          this.emit(Instruction.createRegI32(Code.Mov_r32_imm32, reg(4, ctl), v));
        }
        const c = code(`VEX_${op}_r${bits}_rm${bits}_r${bits}`);
        this.emit(useMem ? Instruction.createRegMemReg(c, r(), this.mem(size), r()) : Instruction.createRegRegReg(c, r(), r(), r()));
        break;
      }
      case 'Rorx': {
        const c = code(`VEX_Rorx_r${bits}_rm${bits}_imm8`), n = this.rng.int(256);
        this.emit(useMem ? Instruction.createRegMemI32(c, r(), this.mem(size), n) : Instruction.createRegRegI32(c, r(), r(), n));
        break;
      }
      default: {
        const c = code(`VEX_${op}_r${bits}_rm${bits}`);
        this.emit(useMem ? Instruction.createRegMem(c, r(), this.mem(size)) : Instruction.createRegReg(c, r(), r()));
      }
    }
  }

  private exchange(): void {
    const size = this.rng.pick(SIZES), bits = size * 8, legacy = this.rng.chance(0.3);
    const op = this.rng.pick(['Cmpxchg', 'Xadd', 'Xchg']);
    const c = code(`${op}_rm${bits}_r${bits}`), s = this.regOf(size, legacy);
    if (this.rng.chance(0.4)) {
      const m = this.memF(size, 1, legacy);
      if (op === 'Cmpxchg' && this.rng.chance(0.5)) {
        // Make the compare succeed sometimes: load the accumulator from the same location.
        this.emit(Instruction.createRegMem(code(`Mov_r${bits}_rm${bits}`), reg(size, 0), m()));
      }
      this.emit(Instruction.createMemReg(c, m(), s));
    } else {
      const d = this.regOf(size, legacy);
      if (op === 'Cmpxchg' && this.rng.chance(0.4)) this.emit(Instruction.createRegReg(code(`Mov_rm${bits}_r${bits}`), reg(size, 0), d));
      this.emit(Instruction.createRegReg(c, d, s));
    }
  }

  private cmpxchgWide(): void {
    const wide = this.rng.chance(0.5);
    const m = this.memF(wide ? 16 : 8, wide ? 16 : 1);
    // Load the accumulator from the operand sometimes so the compare can succeed.
    if (this.rng.chance(0.5)) {
      this.emit(Instruction.createRegMem(wide ? Code.Mov_r64_rm64 : Code.Mov_r32_rm32, wide ? Register.RAX : Register.EAX, m()));
      this.emit(Instruction.createRegMem(wide ? Code.Mov_r64_rm64 : Code.Mov_r32_rm32, wide ? Register.RDX : Register.EDX, m(wide ? 8 : 4)));
    }
    this.emit(Instruction.createMem(wide ? Code.Cmpxchg16b_m128 : Code.Cmpxchg8b_m64, m()));
  }

  private movbe(): void {
    if (!this.f.movbe) { this.moves(); return; }
    const size = this.rng.pick([2, 4, 8]), bits = size * 8;
    if (this.rng.chance(0.5)) this.emit(Instruction.createRegMem(code(`Movbe_r${bits}_m${bits}`), this.regOf(size, false), this.mem(size)));
    else this.emit(Instruction.createMemReg(code(`Movbe_m${bits}_r${bits}`), this.mem(size), this.regOf(size, false)));
  }

  private conditional(): void {
    const cc = this.rng.int(16);
    if (this.rng.chance(0.5)) {
      const size = this.rng.pick([2, 4, 8]), bits = size * 8, c = code(`Cmov${CCS[cc]}_r${bits}_rm${bits}`);
      const d = this.regOf(size, false);
      this.emit(this.rng.chance(0.3) ? Instruction.createRegMem(c, d, this.mem(size)) : Instruction.createRegReg(c, d, this.regOf(size, false)));
    } else {
      const c = code(`Set${CCS[cc]}_rm8`);
      this.emit(this.rng.chance(0.3) ? Instruction.createMem(c, this.mem(1, 1, true)) : Instruction.createReg(c, this.regOf(1, true)));
    }
  }

  private moves(): void {
    const k = this.rng.int(6);
    if (k === 0) {
      const dsize = this.rng.pick([2, 4, 8]), ssize = dsize === 2 ? 1 : this.rng.pick([1, 2]);
      const op = this.rng.pick(['Movzx', 'Movsx']);
      const c = code(`${op}_r${dsize * 8}_rm${ssize * 8}`);
      this.emit(this.rng.chance(0.3) ? Instruction.createRegMem(c, this.regOf(dsize, false), this.mem(ssize))
        : Instruction.createRegReg(c, this.regOf(dsize, false), this.regOf(ssize, false)));
    } else if (k === 1) {
      this.emit(this.rng.chance(0.3) ? Instruction.createRegMem(Code.Movsxd_r64_rm32, this.regOf(8, false), this.mem(4))
        : Instruction.createRegReg(Code.Movsxd_r64_rm32, this.regOf(8, false), this.regOf(4, false)));
    } else if (k === 2) {
      // LEA with arbitrary base/index values (no memory access): 64- or 32-bit addressing.
      const size = this.rng.pick([2, 4, 8]), a32 = this.rng.chance(0.3);
      const base = this.rng.chance(0.8) ? (a32 ? Register.EAX : Register.RAX) + this.gpr() : Register.None;
      const index = this.rng.chance(0.6) ? (a32 ? Register.EAX : Register.RAX) + this.gpr() : Register.None;
      const disp = this.rng.chance(0.5) ? this.rng.range(-200, 200) : Number(BigInt.asIntN(32, this.rng.u64()));
      const m = new MemoryOperand(base, index, this.rng.pick([1, 2, 4, 8]), BigInt(disp), a32 ? 4 : 8, false, Register.None);
      this.emit(Instruction.createRegMem(code(`Lea_r${size * 8}_m`), this.regOf(size, false), m));
    } else if (k === 3) {
      const size = this.rng.pick(SIZES), bits = size * 8;
      if (this.rng.chance(0.5)) this.emit(Instruction.createRegMem(code(`Mov_r${bits}_rm${bits}`), this.regOf(size, false), this.mem(size)));
      else this.emit(Instruction.createMemReg(code(`Mov_rm${bits}_r${bits}`), this.mem(size), this.regOf(size, false)));
    } else if (k === 4) {
      const size = this.rng.pick(SIZES);
      if (size === 8) this.emit(Instruction.createRegI64(Code.Mov_r64_imm64, this.regOf(8, false), BigInt.asIntN(64, this.rng.u64())));
      else this.emit(Instruction.createRegI32(code(`Mov_r${size * 8}_imm${size * 8}`), this.regOf(size, true), Number(BigInt.asIntN(size * 8, this.rng.u64()))));
    } else {
      this.emit(Instruction.create(code(this.rng.pick(['Cbw', 'Cwde', 'Cdqe', 'Cwd', 'Cdq', 'Cqo']))));
    }
  }

  private flagOps(): void {
    const ops = ['Clc', 'Stc', 'Cmc', 'Cld', 'Std'];
    if (this.f.lahf) ops.push('Lahf', 'Sahf');
    this.emit(Instruction.create(code(this.rng.pick(ops))));
    if (this.f.adx && this.rng.chance(0.3)) {
      const size = this.rng.pick([4, 8]), c = code(`${this.rng.pick(['Adcx', 'Adox'])}_r${size * 8}_rm${size * 8}`);
      this.emit(this.rng.chance(0.3) ? Instruction.createRegMem(c, this.regOf(size, false), this.mem(size))
        : Instruction.createRegReg(c, this.regOf(size, false), this.regOf(size, false)));
    }
  }

  /** MOVS/CMPS/SCAS/LODS/STOS with RSI/RDI in the data page and a small count, optional REP. */
  private string(): void {
    const a32 = this.rng.chance(0.25);
    const setIdx = (r: number) => this.emit(Instruction.createRegI32(Code.Mov_r32_imm32, reg(4, r), DATA_ADDR + this.rng.range(0x100, 0xef0)));
    setIdx(6); setIdx(7);
    this.emit(Instruction.createRegI32(Code.Mov_r32_imm32, Register.ECX, this.rng.int(9)));
    if (this.rng.chance(0.3)) this.emit(Instruction.create(this.rng.chance(0.5) ? Code.Std : Code.Cld));
    const size = this.rng.pick(SIZES);
    const op = this.rng.pick(['movs', 'cmps', 'scas', 'lods', 'stos']);
    const base = { movs: 0xa4, cmps: 0xa6, stos: 0xaa, lods: 0xac, scas: 0xae }[op]! + (size === 1 ? 0 : 1);
    const bytes: number[] = [];
    if (size === 2) bytes.push(0x66);
    if (a32) bytes.push(0x67);
    const rep = this.rng.int(3); // 0 none, 1 F3, 2 F2
    if (rep === 1) bytes.push(0xf3); else if (rep === 2) bytes.push(0xf2);
    if ((op === 'movs' || op === 'cmps' || op === 'lods') && this.rng.chance(0.2)) bytes.push(this.rng.pick([0x2e, 0x36, 0x3e, 0x26]));
    if (size === 8) bytes.push(0x48);
    bytes.push(base);
    this.raw(bytes);
  }

  private xlat(): void {
    this.emit(Instruction.createRegI64(Code.Mov_r64_imm64, Register.RBX, BigInt(DATA_ADDR + this.rng.range(0, 0xe00))));
    this.raw(this.rng.chance(0.3) ? [0x67, 0xd7] : [0xd7]);
  }

  private stack(): void {
    if (this.rng.chance(0.4)) {
      // ENTER with nesting levels copies frame pointers from [RBP - 8k]; LEAVE undoes it.
      this.emit(Instruction.createRegI64(Code.Mov_r64_imm64, Register.RBP, BigInt(DATA_ADDR + 0x1c00 + 8 * this.rng.int(32))));
      const alloc = this.rng.int(64), level = this.rng.pick([0, 0, 1, 2, 3, 5]);
      this.raw([0xc8, alloc & 0xff, alloc >> 8, level]);
      this.raw([0xc9]);
      return;
    }
    const k = this.rng.int(3);
    if (k === 0) this.emit(Instruction.createReg(Code.Push_r64, this.regOf(8, false)));
    else if (k === 1) this.emit(Instruction.createMem(Code.Push_rm64, this.mem(8)));
    else this.emit(Instruction.createI32(Code.Pushq_imm32, Number(BigInt.asIntN(32, this.rng.u64()))));
    if (this.rng.chance(0.5)) this.emit(Instruction.createReg(Code.Pop_r64, this.regOf(8, false)));
    else this.emit(Instruction.createMem(Code.Pop_rm64, this.mem(8)));
  }

  /** A forward branch over the next 1-3 blocks (Jcc, JMP, LOOP/LOOPcc, JRCXZ). */
  private branch(): { opcode: number[]; skip: number } {
    const k = this.rng.int(10);
    let op: number[];
    if (k < 6) op = [0x70 | this.rng.int(16)];
    else if (k === 6) op = [0xeb];
    else if (k === 7) op = [0xe3];
    else op = [this.rng.pick([0xe0, 0xe1, 0xe2])];
    return { opcode: op, skip: 1 + this.rng.int(3) };
  }

  // ------------------------------------------------------------------ sequences

  /** One random sequence of at least `minInsns` instructions. */
  generate(minInsns: number, wildDiv: boolean): { code: Uint8Array; insns: number } {
    this.blocks = []; this.cur = []; this.undef = ARITH; this.joins = []; this.count = 0;
    const branches: { block: number; chunk: number; opcode: number[]; skip: number }[] = [];
    let wildPlaced = !wildDiv;
    while (this.count < minInsns) {
      const g = this.rng.int(100);
      if (g < 14) this.alu();
      else if (g < 19) this.unary();
      else if (g < 31) this.shift();
      else if (g < 36) this.shiftDouble();
      else if (g < 42) this.multiply();
      else if (g < 47) this.divide(false);
      else if (g < 52) this.bitTest();
      else if (g < 56) this.bitScan();
      else if (g < 62) this.bmi();
      else if (g < 67) this.exchange();
      else if (g < 69) this.cmpxchgWide();
      else if (g < 71) this.movbe();
      else if (g < 77) this.conditional();
      else if (g < 83) this.moves();
      else if (g < 86) this.flagOps();
      else if (g < 91) this.string();
      else if (g < 92) this.xlat();
      else if (g < 94) this.stack();
      else {
        // A branch block holds the branch (and the flag definer it may need: a branch landing
        // on this block must not skip it). The displacement is fixed once all blocks exist.
        const b = this.branch();
        const reads = b.opcode[0] < 0x80 ? CC_READS[b.opcode[0] & 15] : b.opcode[0] === 0xe1 || b.opcode[0] === 0xe0 ? ZF : 0;
        this.endBlock();
        if (reads & this.undef) this.defineFlags();
        this.cur.push({ bytes: new Uint8Array(b.opcode.length + 1) }); // patched below
        branches.push({ block: this.blocks.length, chunk: this.cur.length - 1, ...b });
        this.blocks.push(this.cur);
        this.cur = [];
        this.count++;
        this.mergeJoins(); // earlier branches may land right after this one
        this.joins.push({ at: this.blocks.length + b.skip, undef: this.undef });
        continue;
      }
      if (!wildPlaced && this.count > minInsns / 2 && this.rng.chance(0.2)) { this.divide(true); wildPlaced = true; }
      this.endBlock();
    }
    this.endBlock();
    for (const b of branches) {
      let disp = 0;
      for (let k = b.block + 1; k <= b.block + b.skip && k < this.blocks.length; k++) {
        const len = this.blocks[k].reduce((n, ch) => n + ch.bytes.length, 0);
        if (disp + len > 127) break;
        disp += len;
      }
      this.blocks[b.block][b.chunk] = { bytes: Uint8Array.from([...b.opcode, disp]) };
    }
    const all = this.blocks.flat().map((ch) => ch.bytes);
    const out = new Uint8Array(all.reduce((n, b) => n + b.length, 0));
    let p = 0;
    for (const b of all) { out.set(b, p); p += b.length; }
    return { code: out, insns: this.count };
  }
}

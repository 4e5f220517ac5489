// Lowering of a block of IR (ir.ts) to one WebAssembly function over the processor's state in its
// WebAssembly.Memory (state.ts): GPRs at 0 (16 x i64, the R[] halves), the lazy flags at LF_OFF
// (flags.ts fields, int32 each, then RFLAGS), the exit RIP at RIP_OFF (f64) and a scratch value at SCR_OFF.
// The function takes the instruction budget and returns the instructions it retired; it stops
// before any instruction it cannot finish exactly (TLB miss, page crossing, segment or canonical
// violation, MMIO: the interpreter runs that one), after a write to a page holding decoded code,
// and before a pass that would exceed the budget.
import { Fn, Op, I32, I64, F64, FuncType, ImportFunc, encodeModule } from './wasm';
import { Addr, A_ADD, A_AND, A_CMP, A_OR, A_SUB, A_TEST, A_XOR, Dst, IrInsn, Src } from './ir';
import { OP_ADD, OP_DEC, OP_INC, OP_LOGIC, OP_NEG, OP_NONE, OP_SUB, SZ32, SZ64 } from '../flags';
import { ARITH_FLAGS, RSP, SS } from '../state';

export const LF_OFF = 128, RIP_OFF = 176, SCR_OFF = 184;
/** Lazy-flag fields in memory order (LF_OFF + 4 * k). */
export const LF_FIELDS = ['lfOp', 'lfSz', 'lfDst', 'lfSrc', 'lfRes', 'lfDstHi', 'lfSrcHi', 'lfResHi', 'lfCin', 'rflags'] as const;
const F_OP = 0, F_SZ = 1, F_DST = 2, F_SRC = 3, F_RES = 4, F_DSTHI = 5, F_SRCHI = 6, F_RESHI = 7, F_CIN = 8, F_RFL = 9;

// Imported helpers (jit.ts), in function-index order.
const TYPES: FuncType[] = [
  { params: [I32], results: [I32] },                 // 0: the block; cond(cc)
  { params: [I32, F64, I32, I32], results: [I32] },  // 1: ld(seg, off, size, write)
  { params: [I32, F64, I32, I32, I32], results: [I32] }, // 2: st(seg, off, size, lo, hi)
  { params: [I32, I32], results: [I32] },            // 3: stw(lo, hi)
  { params: [], results: [I32] },                    // 4: cf()
];
const IMPORTS: ImportFunc[] = [
  { module: 'e', name: 'ld', type: 1 }, { module: 'e', name: 'st', type: 2 }, { module: 'e', name: 'stw', type: 3 },
  { module: 'e', name: 'cond', type: 0 }, { module: 'e', name: 'cf', type: 4 },
];
const F_LD = 0, F_ST = 1, F_STW = 2, F_COND = 3, F_CF = 4;

/** What the compiler knows at a point of the block about the lazy flags' producer. */
interface FlagState { known: boolean; op: number; sz: number }

class Lowering {
  readonly f = new Fn(1);
  private readonly budget = 0;
  private readonly done: number;
  private readonly lf: number[] = [];
  private readonly a32: number; private readonly b32: number; private readonly r32: number;
  private readonly a64: number; private readonly b64: number; private readonly r64: number;
  private readonly st: number;
  private readonly eRip: number;
  private readonly eK: number;
  private readonly t32: number;
  private flags: FlagState = { known: false, op: 0, sz: 0 };

  constructor(private readonly insns: IrInsn[]) {
    const f = this.f;
    this.done = f.local(I32);
    for (let k = 0; k < LF_FIELDS.length; k++) this.lf.push(f.local(I32));
    this.a32 = f.local(I32); this.b32 = f.local(I32); this.r32 = f.local(I32); this.st = f.local(I32); this.t32 = f.local(I32);
    this.a64 = f.local(I64); this.b64 = f.local(I64); this.r64 = f.local(I64);
    this.eRip = f.local(F64); this.eK = f.local(I32);
  }

  build(): void {
    const f = this.f, n = this.insns.length, start = this.insns[0].rip;
    for (let k = 0; k < this.lf.length; k++) f.i32(0).mem(Op.i32_load, LF_OFF + 4 * k).set(this.lf[k]);
    // block $exit { loop $pass { ... } }: every way out sets eRip/eK and branches to $exit, whose
    // code (after it) writes the flags and RIP back once.
    f.blockStart(Op.block);
    f.blockStart(Op.loop);
    // A pass runs only when the whole of it fits in the budget (instruction counts stay exact).
    f.get(this.budget).get(this.done).op(Op.i32_sub).i32(n).op(Op.i32_lt_s);
    this.ifStart();
    this.exit(start, 0);
    this.ifEnd();
    this.flags = { known: false, op: 0, sz: 0 };
    for (let k = 0; k < n; k++) this.insn(this.insns[k], k, start);
    const last = this.insns[n - 1];
    if (last.op.t !== 'branch') this.exit(last.next, n);
    f.op(Op.end); // loop
    f.op(Op.end); // block $exit
    this.flushFlags();
    f.i32(0).get(this.eRip).mem(Op.f64_store, RIP_OFF);
    f.get(this.done).get(this.eK).op(Op.i32_add);
  }

  /** `if` blocks open inside the loop (branch depths are relative to them). */
  private depth = 0;
  private ifStart(): void { this.f.blockStart(Op.if_); this.depth++; }
  private ifEnd(): void { this.f.op(Op.end); this.depth--; }

  /** Leave with RIP = rip after k instructions of this pass: write the flags and RIP back, return done + k. */
  private exit(rip: number, k: number): void {
    this.f.f64(rip).set(this.eRip).i32(k).set(this.eK).br(Op.br, this.depth + 1);
  }
  private flushFlags(): void {
    for (let k = 0; k < this.lf.length; k++) this.f.i32(0).get(this.lf[k]).mem(Op.i32_store, LF_OFF + 4 * k);
  }
  /** Leave before instruction k (status 0 on the stack means the helper could not do the access). */
  private exitIfZero(rip: number, k: number): void {
    this.f.op(Op.i32_eqz);
    this.ifStart();
    this.exit(rip, k);
    this.ifEnd();
  }

  private insn(x: IrInsn, k: number, start: number): void {
    const f = this.f, op = x.op;
    switch (op.t) {
      case 'nop': return;
      case 'mov': {
        if (op.dst.k === 'reg') {
          this.regStoreBegin();
          this.src(op.src, op.size, x, k);
          this.regStoreEnd(op.dst.r, op.size);
        } else {
          this.stValue(op.src, op.size, x, k);
          this.store(op.dst.a, op.size, x, k);
        }
        return;
      }
      case 'alu': this.alu(op.op, op.size, op.dst, op.src, x, k); return;
      case 'incdec': this.incdec(op.dec, op.size, op.r); return;
      case 'lea': {
        this.regStoreBegin();
        if (op.a.asz === 64) { this.ea64(op.a); if (op.size === 4) f.op(Op.i32_wrap_i64); }
        else { this.ea32(op.a); if (op.size === 8) f.op(Op.i64_extend_i32_u); }
        this.regStoreEnd(op.r, op.size);
        return;
      }
      case 'shift': this.shift(op.kind, op.size, op.r, op.count); return;
      case 'ext': {
        this.regStoreBegin();
        if (op.src.k === 'reg') {
          const r = op.src.r, off = r < 16 ? 8 * r : 8 * (r - 16) + 1;
          f.i32(0);
          if (op.from === 4) f.mem(Op.i64_load32_s, off);
          else f.mem(op.from === 1 ? (op.signed ? Op.i32_load8_s : Op.i32_load8_u) : (op.signed ? Op.i32_load16_s : Op.i32_load16_u), off);
        } else {
          // The access is done into SCR (zero-extended), then extended from there.
          this.load(op.src.a, op.from, false, x, k);
          f.i32(0);
          if (op.from === 4) f.mem(Op.i64_load32_s, SCR_OFF);
          else f.mem(op.from === 1 ? (op.signed ? Op.i32_load8_s : Op.i32_load8_u) : (op.signed ? Op.i32_load16_s : Op.i32_load16_u), SCR_OFF);
        }
        if (op.from !== 4 && op.size === 8) f.op(op.signed ? Op.i64_extend_i32_s : Op.i64_extend_i32_u);
        // A 32-bit destination is zero-extended (regStoreEnd); a 64-bit one takes the value as is.
        if (op.from === 4 || op.size === 8) f.mem(Op.i64_store, 8 * op.r); else this.regStoreEnd(op.r, 4);
        return;
      }
      case 'setcc': {
        f.i32(0);
        this.condition(op.cc);
        f.mem(Op.i32_store8, op.r < 16 ? 8 * op.r : 8 * (op.r - 16) + 1);
        return;
      }
      case 'cmov': {
        // The destination is written either way: the source when the condition holds, else itself
        // (a 32-bit destination is zero-extended even then, SDM Vol. 2 CMOVcc).
        this.regStoreBegin();
        this.regLoad(op.s, op.size);
        this.regLoad(op.r, op.size);
        this.condition(op.cc);
        f.op(Op.select);
        this.regStoreEnd(op.r, op.size);
        return;
      }
      case 'push': {
        // The write comes first (a fault leaves RSP as it was), then RSP -= 8; PUSH RSP stores the old value.
        this.regLoad(op.r, 8); f.set(this.a64);
        this.regLoad(RSP, 8); f.i64(8, 0).op(Op.i64_sub).set(this.b64);
        f.i32(SS).get(this.b64).op(Op.f64_convert_i64_s).i32(8);
        this.loHi(8);
        f.call(F_ST).tee(this.st);
        this.exitIfZero(x.rip, k);
        f.i32(0).get(this.b64).mem(Op.i64_store, 8 * RSP);
        this.afterWrite(x, k);
        return;
      }
      case 'pop': {
        this.regLoad(RSP, 8); f.set(this.b64);
        f.i32(SS).get(this.b64).op(Op.f64_convert_i64_s).i32(8).i32(0).call(F_LD);
        this.exitIfZero(x.rip, k);
        // RSP first, then the register: POP RSP leaves the value read.
        f.i32(0).get(this.b64).i64(8, 0).op(Op.i64_add).mem(Op.i64_store, 8 * RSP);
        this.regStoreBegin(); this.scratch(8); this.regStoreEnd(op.r, 8);
        return;
      }
      case 'not': {
        this.regStoreBegin(); this.regLoad(op.r, op.size);
        if (op.size === 8) f.i64(-1, -1).op(Op.i64_xor); else f.i32(-1).op(Op.i32_xor);
        this.regStoreEnd(op.r, op.size);
        return;
      }
      case 'neg': {
        const w = op.size === 8, A = w ? this.a64 : this.a32, Rr = w ? this.r64 : this.r32;
        this.regLoad(op.r, op.size); f.set(A);
        if (w) f.i64(0, 0).get(A).op(Op.i64_sub); else f.i32(0).get(A).op(Op.i32_sub);
        f.set(Rr);
        this.regStoreBegin(); f.get(Rr); this.regStoreEnd(op.r, op.size);
        this.setLf(F_OP, OP_NEG); this.setLf(F_SZ, w ? SZ64 : SZ32);
        this.setLf(F_DST, 0); if (w) this.setLf(F_DSTHI, 0);
        this.lfFrom(F_SRC, F_SRCHI, A, w);
        this.lfFrom(F_RES, F_RESHI, Rr, w);
        this.flags = { known: true, op: OP_NEG, sz: w ? SZ64 : SZ32 };
        return;
      }
      case 'branch': {
        const n = this.insns.length;
        const taken = (): void => {
          if (op.target === start) { f.get(this.done).i32(n).op(Op.i32_add).set(this.done).br(Op.br, this.depth); }
          else this.exit(op.target, n);
        };
        if (op.cc < 0) { // JMP: taken is the only way on
          if (op.target === start) { f.get(this.done).i32(n).op(Op.i32_add).set(this.done).br(Op.br, this.depth); }
          else this.exit(op.target, n);
          return;
        }
        this.condition(op.cc);
        this.ifStart();
        taken();
        this.ifEnd();
        this.exit(x.next, n);
        return;
      }
    }
  }

  // ------------------------------------------------------------ registers

  private regStoreBegin(): void { this.f.i32(0); }
  /** Value of `size` on the stack (i32 for 4, i64 for 8) -> GPR r (32-bit writes zero-extend). */
  private regStoreEnd(r: number, size: number): void {
    if (size === 4) this.f.op(Op.i64_extend_i32_u);
    this.f.mem(Op.i64_store, 8 * r);
  }
  private regLoad(r: number, size: number): void {
    this.f.i32(0).mem(size === 4 ? Op.i32_load : Op.i64_load, 8 * r);
  }

  // ------------------------------------------------------------ memory

  /** The effective address (asz 64) as i64 on the stack. */
  private ea64(a: Addr): void {
    const f = this.f;
    f.i64(a.dispLo, a.dispHi);
    if (a.base >= 0) { this.regLoad(a.base, 8); f.op(Op.i64_add); }
    if (a.index >= 0) { this.regLoad(a.index, 8); if (a.scale !== 1) f.i64(a.scale, 0).op(Op.i64_mul); f.op(Op.i64_add); }
  }
  private ea32(a: Addr): void {
    const f = this.f;
    f.i32(a.dispLo);
    if (a.base >= 0) { this.regLoad(a.base, 4); f.op(Op.i32_add); }
    if (a.index >= 0) { this.regLoad(a.index, 4); if (a.scale !== 1) f.i32(a.scale).op(Op.i32_mul); f.op(Op.i32_add); }
  }
  /** seg, offset (f64) on the stack for a helper call. */
  private segOff(a: Addr): void {
    this.f.i32(a.seg);
    if (a.asz === 64) { this.ea64(a); this.f.op(Op.f64_convert_i64_s); } else { this.ea32(a); this.f.op(Op.f64_convert_i32_u); }
  }
  /** Load [a] of `size` into SCR (exit before the instruction when the helper cannot). */
  private load(a: Addr, size: number, write: boolean, x: IrInsn, k: number): void {
    this.segOff(a);
    this.f.i32(size).i32(write ? 1 : 0).call(F_LD);
    this.exitIfZero(x.rip, k);
  }
  private scratch(size: number): void {
    this.f.i32(0).mem(size === 4 ? Op.i32_load : Op.i64_load, SCR_OFF);
  }
  /** The value to store: into a32 (size 4) or a64 (size 8). */
  private stValue(src: Src, size: number, x: IrInsn, k: number): void {
    this.src(src, size, x, k);
    this.f.set(size === 4 ? this.a32 : this.a64);
  }
  /** Store a32/a64 to [a]: exit before the instruction on a miss, after it when code was written. */
  private store(a: Addr, size: number, x: IrInsn, k: number): void {
    const f = this.f;
    this.segOff(a);
    f.i32(size);
    this.loHi(size);
    f.call(F_ST).tee(this.st);
    this.exitIfZero(x.rip, k);
    this.afterWrite(x, k);
  }
  /** lo, hi of a32/a64 on the stack. */
  private loHi(size: number): void {
    const f = this.f;
    if (size === 4) f.get(this.a32).i32(0);
    else f.get(this.a64).op(Op.i32_wrap_i64).get(this.a64).i64(32, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64);
  }
  /** Status 2 in `st`: the write hit a page with decoded code; leave after this instruction. */
  private afterWrite(x: IrInsn, k: number): void {
    const f = this.f;
    f.get(this.st).i32(2).op(Op.i32_eq);
    this.ifStart();
    this.exit(x.next, k + 1);
    this.ifEnd();
  }

  /** Push a source operand's value (i32 for size 4, i64 for 8). */
  private src(s: Src, size: number, x: IrInsn, k: number): void {
    const f = this.f;
    if (s.k === 'reg') this.regLoad(s.r, size);
    else if (s.k === 'imm') { if (size === 4) f.i32(s.lo); else f.i64(s.lo, s.hi); }
    else { this.load(s.a, size, false, x, k); this.scratch(size); }
  }

  // ------------------------------------------------------------ arithmetic and flags

  private alu(op: number, size: number, dst: Dst, src: Src, x: IrInsn, k: number): void {
    const f = this.f, w = size === 8;
    const A = w ? this.a64 : this.a32, B = w ? this.b64 : this.b32, Rr = w ? this.r64 : this.r32;
    const writes = op !== A_CMP && op !== A_TEST;
    // Operands: memory first (all-or-nothing: an access that cannot be done leaves before any change).
    if (dst.k === 'mem') { this.load(dst.a, size, writes, x, k); this.scratch(size); f.set(A); }
    else { this.regLoad(dst.r, size); f.set(A); }
    this.src(src, size, x, k); f.set(B);
    f.get(A).get(B);
    let lop: number;
    switch (op) {
      case A_ADD: f.op(w ? Op.i64_add : Op.i32_add); lop = OP_ADD; break;
      case A_SUB: case A_CMP: f.op(w ? Op.i64_sub : Op.i32_sub); lop = OP_SUB; break;
      case A_AND: case A_TEST: f.op(w ? Op.i64_and : Op.i32_and); lop = OP_LOGIC; break;
      case A_OR: f.op(w ? Op.i64_or : Op.i32_or); lop = OP_LOGIC; break;
      default: f.op(w ? Op.i64_xor : Op.i32_xor); lop = OP_LOGIC; break;
    }
    void A_XOR;
    f.set(Rr);
    if (writes && dst.k === 'mem') {
      // Read-modify-write: the write goes to the location the read checked for writing (cannot miss).
      if (w) f.get(Rr).op(Op.i32_wrap_i64).get(Rr).i64(32, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64);
      else f.get(Rr).i32(0);
      f.call(F_STW).set(this.st);
    } else if (writes && dst.k === 'reg') {
      this.regStoreBegin(); f.get(Rr); this.regStoreEnd(dst.r, size);
    }
    // The lazy flags, as the interpreter's handlers record them.
    this.setLf(F_OP, lop); this.setLf(F_SZ, w ? SZ64 : SZ32);
    if (lop !== OP_LOGIC) { this.lfFrom(F_DST, F_DSTHI, A, w); this.lfFrom(F_SRC, F_SRCHI, B, w); }
    this.lfFrom(F_RES, F_RESHI, Rr, w);
    this.flags = { known: true, op: lop, sz: w ? SZ64 : SZ32 };
    if (writes && dst.k === 'mem') this.afterWrite(x, k);
  }

  private incdec(dec: boolean, size: number, r: number): void {
    const f = this.f, w = size === 8;
    const A = w ? this.a64 : this.a32, Rr = w ? this.r64 : this.r32;
    // CF survives INC/DEC (SDM Vol. 2 INC): the current CF goes to lfCin.
    this.cf(); f.set(this.lf[F_CIN]);
    this.regLoad(r, size); f.tee(A);
    if (w) f.i64(1, 0).op(dec ? Op.i64_sub : Op.i64_add); else f.i32(1).op(dec ? Op.i32_sub : Op.i32_add);
    f.set(Rr);
    this.regStoreBegin(); f.get(Rr); this.regStoreEnd(r, size);
    this.setLf(F_OP, dec ? OP_DEC : OP_INC); this.setLf(F_SZ, w ? SZ64 : SZ32);
    this.lfFrom(F_DST, F_DSTHI, A, w);
    this.setLf(F_SRC, 1); if (w) this.setLf(F_SRCHI, 0);
    this.lfFrom(F_RES, F_RESHI, Rr, w);
    this.flags = { known: true, op: dec ? OP_DEC : OP_INC, sz: w ? SZ64 : SZ32 };
  }

  /**
   * SHL/SHR/SAR by a constant non-zero count, with the flags exec/shift.ts gives: CF the last bit
   * out, OF as for a count of 1 (SHL: sign != CF, SHR: the operand's sign, SAR: 0), AF 0, all
   * written into RFLAGS (lazy flags off).
   */
  private shift(kind: 'shl' | 'shr' | 'sar', size: number, r: number, n: number): void {
    const f = this.f, w = size === 8, A = w ? this.a64 : this.a32, Rr = w ? this.r64 : this.r32, cf = this.b32, fl = this.t32;
    const bits = w ? 64 : 32;
    this.regLoad(r, size); f.set(A);
    const shr = w ? (kind === 'sar' ? Op.i64_shr_s : Op.i64_shr_u) : (kind === 'sar' ? Op.i32_shr_s : Op.i32_shr_u);
    // CF
    f.get(A);
    if (kind === 'shl') { if (w) f.i64(bits - n, 0); else f.i32(bits - n); f.op(w ? Op.i64_shr_u : Op.i32_shr_u); }
    else { if (w) f.i64(n - 1, 0); else f.i32(n - 1); f.op(shr); }
    if (w) f.op(Op.i32_wrap_i64);
    f.i32(1).op(Op.i32_and).set(cf);
    // Result
    f.get(A); if (w) f.i64(n, 0); else f.i32(n);
    f.op(kind === 'shl' ? (w ? Op.i64_shl : Op.i32_shl) : shr).set(Rr);
    this.regStoreBegin(); f.get(Rr); this.regStoreEnd(r, size);
    // Low and high words of the result for SF/ZF/PF (fl is r32, so compute into b32-free temps).
    const lo = this.st; // i32 scratch (the store status is not live here)
    f.get(Rr); if (w) f.op(Op.i32_wrap_i64); f.set(lo);
    // flags = CF | PF | ZF | SF | OF
    f.get(cf);
    f.get(lo).i32(0xff).op(Op.i32_and).op(Op.i32_popcnt).i32(1).op(Op.i32_and).i32(1).op(Op.i32_xor).i32(2).op(Op.i32_shl).op(Op.i32_or);
    f.get(Rr); if (w) f.op(Op.i64_eqz); else f.op(Op.i32_eqz);
    f.i32(6).op(Op.i32_shl).op(Op.i32_or);
    // SF: the result's sign
    f.get(Rr); if (w) { f.i64(63, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64); } else f.i32(31).op(Op.i32_shr_u);
    f.i32(7).op(Op.i32_shl).op(Op.i32_or);
    if (kind === 'shl') {
      f.get(Rr); if (w) { f.i64(63, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64); } else f.i32(31).op(Op.i32_shr_u);
      f.get(cf).op(Op.i32_xor).i32(11).op(Op.i32_shl).op(Op.i32_or);
    } else if (kind === 'shr') {
      f.get(A); if (w) { f.i64(63, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64); } else f.i32(31).op(Op.i32_shr_u);
      f.i32(11).op(Op.i32_shl).op(Op.i32_or);
    }
    f.set(fl);
    f.get(this.lf[F_RFL]).i32(~ARITH_FLAGS).op(Op.i32_and).get(fl).op(Op.i32_or).set(this.lf[F_RFL]);
    this.setLf(F_OP, OP_NONE);
    this.flags = { known: true, op: OP_NONE, sz: 0 };
  }

  /** An RFLAGS bit (lazy flags off) as 0/1. */
  private rflBit(bit: number): void {
    this.f.get(this.lf[F_RFL]).i32(bit).op(Op.i32_shr_u).i32(1).op(Op.i32_and);
  }

  private setLf(field: number, v: number): void { this.f.i32(v).set(this.lf[field]); }
  /** lf field (and its Hi for 64-bit) from a value local. */
  private lfFrom(lo: number, hi: number, local: number, w: boolean): void {
    const f = this.f;
    if (!w) { f.get(local).set(this.lf[lo]); return; }
    f.get(local).op(Op.i32_wrap_i64).set(this.lf[lo]);
    f.get(local).i64(32, 0).op(Op.i64_shr_u).op(Op.i32_wrap_i64).set(this.lf[hi]);
  }
  /** The 64-bit value of an lf field pair as i64. */
  private lf64(lo: number, hi: number): void {
    const f = this.f;
    f.get(this.lf[lo]).op(Op.i64_extend_i32_u).get(this.lf[hi]).op(Op.i64_extend_i32_u).i64(32, 0).op(Op.i64_shl).op(Op.i64_or);
  }

  /** Current CF (0/1) on the stack. */
  private cf(): void {
    const f = this.f, s = this.flags;
    if (!s.known) { this.flushFlags(); f.call(F_CF); return; }
    this.cfKnown(s);
  }
  private cfKnown(s: FlagState): void {
    const f = this.f, w = s.sz === SZ64;
    switch (s.op) {
      case OP_ADD:
        if (w) { this.lf64(F_RES, F_RESHI); this.lf64(F_DST, F_DSTHI); f.op(Op.i64_lt_u); }
        else f.get(this.lf[F_RES]).get(this.lf[F_DST]).op(Op.i32_lt_u);
        return;
      case OP_SUB:
        if (w) { this.lf64(F_DST, F_DSTHI); this.lf64(F_SRC, F_SRCHI); f.op(Op.i64_lt_u); }
        else f.get(this.lf[F_DST]).get(this.lf[F_SRC]).op(Op.i32_lt_u);
        return;
      case OP_LOGIC: f.i32(0); return;
      case OP_NONE: this.rflBit(0); return;
      case OP_NEG: // CF = source != 0, i.e. result != 0
        if (w) f.get(this.lf[F_RES]).get(this.lf[F_RESHI]).op(Op.i32_or).i32(0).op(Op.i32_ne);
        else f.get(this.lf[F_RES]).i32(0).op(Op.i32_ne);
        return;
      default: f.get(this.lf[F_CIN]); return; // INC, DEC
    }
  }
  private zf(s: FlagState): void {
    const f = this.f;
    if (s.op === OP_NONE) { this.rflBit(6); return; }
    if (s.sz === SZ64) f.get(this.lf[F_RES]).get(this.lf[F_RESHI]).op(Op.i32_or).op(Op.i32_eqz);
    else f.get(this.lf[F_RES]).op(Op.i32_eqz);
  }
  private sf(s: FlagState): void {
    if (s.op === OP_NONE) { this.rflBit(7); return; }
    this.f.get(this.lf[s.sz === SZ64 ? F_RESHI : F_RES]).i32(31).op(Op.i32_shr_u);
  }
  private pf(s: FlagState): void {
    if (s.op === OP_NONE) { this.rflBit(2); return; }
    this.f.get(this.lf[F_RES]).i32(0xff).op(Op.i32_and).op(Op.i32_popcnt).i32(1).op(Op.i32_and).i32(1).op(Op.i32_xor);
  }
  private of(s: FlagState): void {
    const f = this.f, w = s.sz === SZ64;
    const D = this.lf[w ? F_DSTHI : F_DST], S = this.lf[w ? F_SRCHI : F_SRC], R = this.lf[w ? F_RESHI : F_RES];
    switch (s.op) {
      case OP_NONE: this.rflBit(11); return;
      case OP_NEG: // the result is the most negative value
        f.get(R).i32(0x80000000 | 0).op(Op.i32_eq);
        if (w) f.get(this.lf[F_RES]).op(Op.i32_eqz).op(Op.i32_and);
        return;
      case OP_ADD: f.get(D).get(R).op(Op.i32_xor).get(S).get(R).op(Op.i32_xor).op(Op.i32_and).i32(31).op(Op.i32_shr_u); return;
      case OP_SUB: f.get(D).get(S).op(Op.i32_xor).get(D).get(R).op(Op.i32_xor).op(Op.i32_and).i32(31).op(Op.i32_shr_u); return;
      case OP_LOGIC: f.i32(0); return;
      case OP_INC:
        f.get(R).i32(0x80000000 | 0).op(Op.i32_eq);
        if (w) f.get(this.lf[F_RES]).op(Op.i32_eqz).op(Op.i32_and);
        return;
      default: // DEC
        f.get(R).i32(0x7fffffff).op(Op.i32_eq);
        if (w) f.get(this.lf[F_RES]).i32(-1).op(Op.i32_eq).op(Op.i32_and);
        return;
    }
  }

  /** Condition cc (SDM Vol. 2 Appendix B.1.4.7) as 0/1 on the stack. */
  private condition(cc: number): void {
    const f = this.f, s = this.flags;
    if (!s.known) { this.flushFlags(); f.i32(cc).call(F_COND); return; }
    const w = s.sz === SZ64;
    if (s.op === OP_SUB && (cc >> 1) !== 0 && (cc >> 1) !== 4 && (cc >> 1) !== 5) {
      // After SUB/CMP the conditions are comparisons of the operands.
      const cmp = [0, w ? Op.i64_lt_u : Op.i32_lt_u, w ? Op.i64_eq : Op.i32_eq, w ? Op.i64_le_u : Op.i32_le_u, 0, 0,
        w ? Op.i64_lt_s : Op.i32_lt_s, w ? Op.i64_le_s : Op.i32_le_s][cc >> 1] as Op;
      if (w) { this.lf64(F_DST, F_DSTHI); this.lf64(F_SRC, F_SRCHI); } else f.get(this.lf[F_DST]).get(this.lf[F_SRC]);
      f.op(cmp);
    } else {
      switch (cc >> 1) {
        case 0: this.of(s); break;
        case 1: this.cfKnown(s); break;
        case 2: this.zf(s); break;
        case 3: this.cfKnown(s); this.zf(s); f.op(Op.i32_or); break;
        case 4: this.sf(s); break;
        case 5: this.pf(s); break;
        case 6: this.sf(s); this.of(s); f.op(Op.i32_ne); break;
        default: this.zf(s); this.sf(s); this.of(s); f.op(Op.i32_ne); f.op(Op.i32_or); break;
      }
    }
    if (cc & 1) f.op(Op.i32_eqz);
  }
}

/** The wasm module bytes of a block (at least one instruction). */
export function compileBlock(insns: IrInsn[]): Uint8Array {
  const l = new Lowering(insns);
  l.build();
  return encodeModule(TYPES, IMPORTS, 0, l.f);
}

// The block compiler's runtime: counts how often each block head (an instruction reached by a jump,
// not by falling through) starts, compiles hot blocks to WebAssembly (compile.ts), caches the
// instance on the decoded instruction (so it dies with the decoded page: a write to the page, the
// decoded-code cache's eviction or a map change drops both), and runs them from the execute loop.
// The interpreter stays the reference: a block retires exactly the instructions the interpreter
// would, in the same order, and leaves to it everything else (see compile.ts).
import type { Cpu } from '../cpu';
import { Insn } from '../insn';
import { decodeInsn } from '../decode';
import { condition, getCF } from '../flags';
import { PAGE_SIZE } from '../phys';
import { classify, IrInsn } from './ir';
import { compileBlock, LF_OFF, RIP_OFF, SCR_OFF } from './compile';

/** Block-head executions before a block is compiled. */
export const JIT_THRESHOLD = 200;
/** Longest block, in instructions. */
export const JIT_MAX_BLOCK = 64;
/** Compiled blocks kept; past it every block is dropped and hot code compiles again. */
export const JIT_MAX_BLOCKS = 2048;
/** A block that could not run its first instruction this many times in a row is discarded. */
const JIT_MAX_STALLS = 16;

export class JitBlock {
  stalls = 0;
  constructor(readonly run: (budget: number) => number, readonly rip: number, readonly bits: number,
    readonly csBase: number, readonly csLimit: number, readonly length: number) {}
}

/** Per-processor compiler state and the helpers compiled code imports. */
export class Jit {
  threshold = JIT_THRESHOLD;
  /** Blocks compiled / instructions retired in compiled code (statistics for tests and benchmarks). */
  compiled = 0;
  retired = 0;
  private holders: Insn[] = [];
  private readonly lf: Int32Array;
  private readonly ripF: Float64Array;
  private readonly scr: Int32Array;
  private readonly imports: WebAssembly.Imports;
  // The location a read-for-write checked (read-modify-write forms).
  private wIdx = 0; private wLin = 0; private wSize = 0;
  private readonly tlbMask: number;

  constructor(private readonly c: Cpu) {
    const buf = c.wasmMemory.buffer;
    this.lf = new Int32Array(buf, LF_OFF, 10);
    this.ripF = new Float64Array(buf, RIP_OFF, 1);
    this.scr = new Int32Array(buf, SCR_OFF, 2);
    this.tlbMask = c.tlbR.tag.length - 1;
    this.imports = { e: {
      m: c.wasmMemory,
      ld: (seg: number, off: number, size: number, write: number) => this.ld(seg, off, size, write),
      st: (seg: number, off: number, size: number, lo: number, hi: number) => this.st(seg, off, size, lo, hi),
      stw: (lo: number, hi: number) => this.stw(lo, hi),
      cond: (cc: number) => { this.loadFlags(); return condition(this.c, cc) ? 1 : 0; },
      cf: () => { this.loadFlags(); return getCF(this.c) ? 1 : 0; },
    } };
  }

  /** Drop every compiled block (breakpoints changed, the cache is full). */
  flush(): void {
    for (const i of this.holders) { i.jit = undefined; i.jitHits = 0; }
    this.holders = [];
  }

  /**
   * Run the compiled block at `insn` (reached at `rip` by a jump) with at most `budget` instructions;
   * returns the instructions retired (0: none, the interpreter runs `insn`). Compiles it once hot.
   */
  enter(insn: Insn, rip: number, budget: number): number {
    let b = insn.jit;
    if (b === undefined) {
      if (++insn.jitHits < this.threshold) return 0;
      b = this.compile(insn, rip);
    }
    const c = this.c;
    if (b === null || budget < b.length || b.rip !== rip || b.bits !== c.codeBits || b.csBase !== c.csBase || b.csLimit !== c.csLimit) return 0;
    const L = this.lf;
    L[0] = c.lfOp; L[1] = c.lfSz; L[2] = c.lfDst; L[3] = c.lfSrc; L[4] = c.lfRes;
    L[5] = c.lfDstHi; L[6] = c.lfSrcHi; L[7] = c.lfResHi; L[8] = c.lfCin; L[9] = c.rflags;
    const n = b.run(budget);
    this.loadFlags();
    c.rip = this.ripF[0];
    if (n === 0) { if (++b.stalls >= JIT_MAX_STALLS) insn.jit = null; return 0; }
    b.stalls = 0;
    this.retired += n;
    return n;
  }

  private loadFlags(): void {
    const c = this.c, L = this.lf;
    c.lfOp = L[0]; c.lfSz = L[1]; c.lfDst = L[2]; c.lfSrc = L[3]; c.lfRes = L[4];
    c.lfDstHi = L[5]; c.lfSrcHi = L[6]; c.lfResHi = L[7]; c.lfCin = L[8]; c.rflags = L[9];
  }

  /** Decode forward from `insn` within its page and compile what the compiler handles (null: nothing). */
  private compile(insn: Insn, rip: number): JitBlock | null {
    const c = this.c, bits = c.codeBits;
    let block: JitBlock | null = null;
    const ir = bits === 16 ? [] : this.blockIr(insn, rip);
    if (ir.length > 0) {
      const mod = new WebAssembly.Module(compileBlock(ir));
      const inst = new WebAssembly.Instance(mod, this.imports);
      const run = inst.exports.f as (budget: number) => number;
      block = new JitBlock(run, rip, bits, c.csBase, c.csLimit, ir.length);
      this.compiled++;
    }
    if (this.holders.length >= JIT_MAX_BLOCKS) this.flush();
    insn.jit = block;
    this.holders.push(insn);
    return block;
  }

  private blockIr(first: Insn, rip: number): IrInsn[] {
    const c = this.c, bits = c.codeBits;
    const ppn = c.fetchPpn, region = c.bus.regionAt(ppn * PAGE_SIZE);
    const out: IrInsn[] = [];
    if (!region) return out;
    const page = region.buf.subarray(ppn * PAGE_SIZE - region.gpa, ppn * PAGE_SIZE - region.gpa + PAGE_SIZE);
    const lin0 = bits === 64 ? rip : (c.csBase + rip) >>> 0;
    let off = ((lin0 % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE;
    let i: Insn = first, r = rip;
    while (out.length < JIT_MAX_BLOCK) {
      if (off + i.len > PAGE_SIZE) break; // the block stays in its page
      let next = r + i.len;
      if (bits !== 64) { if (next - 1 > c.csLimit) break; next = next >>> 0; }
      const op = classify(i, r, next, bits, c.csLimit);
      if (!op) break;
      out.push({ op, rip: r, next });
      if (op.t === 'branch') break;
      off += i.len; r = next;
      if (off >= PAGE_SIZE) break;
      const d = decodeInsn(page.subarray(off, Math.min(PAGE_SIZE, off + 15)), bits);
      if (d.needMore) break;
      i = d.insn;
    }
    return out;
  }

  // ------------------------------------------------------------ helpers imported by compiled code

  /** Linear address of a data access, or NaN when it needs the interpreter (memLin's checks). */
  private lin(seg: number, off: number, size: number, write: boolean): number {
    const c = this.c;
    if (c.codeBits === 64) {
      // Compiled code only uses ES/CS/SS/DS in 64-bit mode: no base, the offset must be canonical.
      return off >= -0x800000000000 && off <= 0x800000000000 - size ? off : NaN;
    }
    const s = c.seg[seg], end = off + size - 1;
    if (write ? (off < s.writeLo || end > s.writeHi) : (off < s.readLo || end > s.readHi)) return NaN;
    return (s.base + off) >>> 0;
  }

  private ld(seg: number, off: number, size: number, write: number): number {
    const c = this.c, lin = this.lin(seg, off, size, write !== 0);
    if (lin !== lin) return 0;
    const t = write ? c.tlbW : c.tlbR, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & this.tlbMask;
    if (t.tag[idx] !== vpn * 4 + c.accMode || (lin & 0xfff) > PAGE_SIZE - size) return 0;
    const dv = t.dv[idx], a = lin + t.delta[idx];
    if (size >= 4) {
      this.scr[0] = dv.getInt32(a, true);
      if (size === 8) this.scr[1] = dv.getInt32(a + 4, true);
    } else this.scr[0] = size === 1 ? dv.getUint8(a) : dv.getUint16(a, true);
    this.wIdx = idx; this.wLin = lin; this.wSize = size;
    return 1;
  }

  private st(seg: number, off: number, size: number, lo: number, hi: number): number {
    const c = this.c, lin = this.lin(seg, off, size, true);
    if (lin !== lin) return 0;
    const t = c.tlbW, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & this.tlbMask;
    if (t.tag[idx] !== vpn * 4 + c.accMode || (lin & 0xfff) > PAGE_SIZE - size) return 0;
    return this.write(idx, lin, size, lo, hi);
  }

  private stw(lo: number, hi: number): number { return this.write(this.wIdx, this.wLin, this.wSize, lo, hi); }

  /** The interpreter's storeAt: write through the TLB entry, then invalidate decoded code there (2). */
  private write(idx: number, lin: number, size: number, lo: number, hi: number): number {
    const t = this.c.tlbW, dv = t.dv[idx], a = lin + t.delta[idx];
    dv.setInt32(a, lo, true);
    if (size === 8) dv.setInt32(a + 4, hi, true);
    const ppn = t.ppn[idx], bus = this.c.bus;
    if (bus.codePage[ppn]) { bus.noteWrite(ppn * PAGE_SIZE + (a & 0xfff), size); return 2; }
    return 1;
  }
}

// One x86-64 logical processor: the execute loop, memory access through segmentation and paging,
// faults and hardware exits. Instruction semantics live in exec/, address translation in mmu.ts,
// event delivery in events.ts, descriptor loads in segmentation.ts.
import { CpuState, CR0_AM, CR0_PE, CR0_PG, CS, EFER_LMA, SS, VM, AC, updateSegmentChecks, CR4_SMAP, RF, TF } from './state';
import { PhysBus, PAGE_SIZE } from './phys';
import { Intercepts } from './intercepts';
import { HwExitInfo, HW_UNEMULATED, EXIT_REASON_EPT_VIOLATION, EPT_VIOLATION_READ, EPT_VIOLATION_WRITE, EPT_VIOLATION_FETCH } from './exits';
import { Insn, BASE_RIP } from './insn';
import { decodeInsn, fallback } from './decode';
import { OP_NONE, OP_ADD, OP_SUB, OP_LOGIC, OP_INC, OP_DEC, SZ32, getCF, getZF } from './flags';
import { FOP_ADD32, FOP_SUB32, FOP_CMP32, FOP_XOR32, FOP_AND32, FOP_OR32, FOP_DEC32, FOP_INC32, FOP_JNZ64, FOP_JZ64, FOP_JMP64,
  FOP_LD32, FOP_ST32, FOP_LD64, FOP_ST64, FOP_ADDM32 } from './insn';
import { pageWalk, ACC_WRITE, ACC_USER, ACC_FETCH, ACC_IMPLICIT } from './mmu';
import { defaultEnv, CpuEnv } from './env';
import { Jit } from './jit/jit';
import { EVT_NONE, EVT_EXCEPTION, raiseFaultDuringDelivery, instructionBoundary, afterInstruction, checkCodeBreakpoints, noteDataAccess, boundaryWork } from './events';

/** Observer of near calls and returns (the debugger's shadow call stack). */
export interface CallTracker {
  /** A CALL completed: `ret` is the return address, `target` the callee, `sp` the stack pointer after the push. */
  call(c: Cpu, ret: number, target: number, sp: number): void;
  /** A RET completed to `target`, with `sp` the stack pointer after the pop. */
  ret(c: Cpu, target: number, sp: number): void;
}

export { CpuFault, CpuExitSignal, FAULT, EXIT } from './signals';
import { FAULT, EXIT } from './signals';

/** run() results. */
export const RUN_BUDGET = 0, RUN_EXIT = 1, RUN_HALTED = 2, RUN_STOPPED = 3, RUN_SHUTDOWN = 4;

/**
 * Callbacks the hypervisor's instruction emulator installs while it emulates one instruction
 * (emulateOne): MMIO and port I/O go here instead of causing exits. A callback that needs
 * userspace calls c.beginExit(HW_EMULATOR_USERSPACE) and c.throwExit().
 */
export interface EmulatorHooks {
  /** Returns the low 32 bits; for size 8 the high half goes in c.hi. */
  mmioRead(gpa: number, size: number): number;
  mmioWrite(gpa: number, size: number, lo: number, hi: number): void;
  pioIn(port: number, size: number): number;
  pioOut(port: number, size: number, value: number): void;
}
/** @deprecated name kept for callers: the MMIO part of EmulatorHooks. */
export type MmioHandler = EmulatorHooks;

const TLB_SIZE = 4096, TLB_MASK = TLB_SIZE - 1;
/** Bounds of the decoded-instruction cache (an Insn is some hundreds of bytes, a page's array 32 KiB). */
// 8,192 instructions (about 1 KB of heap each): V8's heap grows with the live size before it
// collects, so the bound sets the peak. 2M instructions of straight-line code reached 663 MB RSS at
// 131,072; the 10M-instruction soak of `npm run fuzz` peaked at 273-302 MB at 16,384 (over its 300 MB
// limit after this session's merges; which change added the difference is not known) and at 256 MB at 8,192.
export const CODE_CACHE_MAX_INSNS = 1 << 13, CODE_CACHE_MAX_PAGES = 1024;
/** Access-mode component of TLB tags: supervisor, supervisor with SMAP override (AC=1), user. */
const MODE_SUP = 0, MODE_SUP_AC = 1, MODE_USER = 2;
/** Fast-path key that no TLB tag carries: every data access takes the slow path (#AC checks, data breakpoints). */
const MODE_SLOW = 3;

class Tlb {
  readonly tag = new Float64Array(TLB_SIZE).fill(-1);
  readonly delta = new Float64Array(TLB_SIZE);
  readonly ppn = new Float64Array(TLB_SIZE);
  readonly global = new Uint8Array(TLB_SIZE);
  readonly buf: Uint8Array[] = new Array(TLB_SIZE).fill(new Uint8Array(0));
  readonly dv: DataView[] = new Array(TLB_SIZE).fill(new DataView(new ArrayBuffer(0)));
  flush(keepGlobal: boolean): void {
    if (!keepGlobal) { this.tag.fill(-1); return; }
    for (let i = 0; i < TLB_SIZE; i++) if (!this.global[i]) this.tag[i] = -1;
  }
  flushPage(vpn: number): void {
    const i = vpn & TLB_MASK;
    const t = this.tag[i];
    // Tags of upper-half (negative) addresses are negative too; -1 alone means empty.
    if (t !== -1 && Math.floor(t / 4) === vpn) this.tag[i] = -1;
  }
}

export class Cpu extends CpuState {
  readonly bus: PhysBus;
  readonly intercepts = new Intercepts();
  /** The exit-information record of the last hardware exit. */
  readonly exit = new HwExitInfo();
  env: CpuEnv = defaultEnv;

  // Lazy flags (flags.ts).
  lfOp = OP_NONE; lfSz = 0; lfDst = 0; lfSrc = 0; lfRes = 0; lfDstHi = 0; lfSrcHi = 0; lfResHi = 0; lfCin = 0;

  /** Scratch for 64-bit reads: high half of the last 64-bit value read. */
  hi = 0;
  /** RIP of the instruction being executed (faults restore it). */
  insnRip = 0;
  /** The instruction being executed. */
  cur: Insn | null = null;
  /** The instruction that raised the event being delivered (for reports made during delivery). */
  eventOrigin: Insn | null = null;

  /** When set, every instruction goes through the slow path (events, shadows, TF, debug hooks). */
  slow = true;
  /** Access-mode part of TLB tags (MODE_*). */
  accMode = MODE_SUP;
  /** Offset limit of CS for instruction fetch (Infinity in 64-bit mode). */
  csLimit = 0xffff;
  /** CS base cached for instruction fetch (kept by updateMode). */
  csBase = 0;
  /** PAE PDPTEs (loaded on MOV CR3 etc. in PAE mode; KVM's EXREG_PDPTR), as numbers. */
  readonly pdpte = [0, 0, 0, 0];

  readonly tlbR = new Tlb();
  readonly tlbW = new Tlb();
  readonly tlbX = new Tlb();

  /**
   * Decoded-instruction cache: physical page number -> instruction at each offset. Bounded (a
   * guest with megabytes of code, a kernel, must not take gigabytes): past CODE_CACHE_MAX_INSNS
   * instructions or CODE_CACHE_MAX_PAGES pages the oldest pages are dropped (Map order: first
   * decoded, first dropped) and decoded again when they run again.
   */
  private codeCache = new Map<number, (Insn | undefined)[]>();
  /** Instructions in codeCache. */
  private codeCacheInsns = 0;
  private fetchLin = NaN;       // linear base of the page being executed
  /** Bumped whenever the linear->decoded-code mapping may change (chains are only valid within one). */
  private fetchGen = 0;
  private fetchPage: (Insn | undefined)[] = [];
  /** Guest-physical page number of the page being executed (the block compiler decodes from it). */
  fetchPpn = 0;
  /** The block compiler (jit/), or null: the interpreter runs everything (the default). */
  jit: Jit | null = null;
  /** Turn the block compiler on or off (off drops every compiled block). */
  setJit(on: boolean): void {
    if (!on && this.jit) this.jit.flush();
    this.jit = on ? (this.jit ?? new Jit(this)) : null;
  }

  /** Pending event (exception/interrupt) to deliver before the next instruction (events.ts). */
  evType = EVT_NONE; evVector = 0; evError = 0; evHasError = false; evInsnLen = 0;
  /** Set while delivering an event (for #DF/triple-fault classification and IDT-vectoring info). */
  delivering = -1;
  deliveringType = EVT_NONE;
  /** IDT-vectoring information of the event being delivered (reported by exits during delivery). */
  vectoringInfo = 0;
  vectoringError = 0;
  /** A third fault happened: the next boundary takes the triple-fault path. */
  pendingTripleFault = false;
  /**
   * The last chain of faults (events.ts raiseFaultDuringDelivery), what a triple fault reports: the
   * fault an instruction raised, then each fault its delivery raised (8 where two made a #DF); the
   * instruction it started at, and the #PF address of the last.
   */
  readonly faultChain = new Int32Array(8);
  faultChainLen = 0;
  faultChainRip = 0;
  faultChainAddr = NaN;
  /** Linear address of the last #PF (becomes CR2 on delivery, the exit qualification on a #PF exit). */
  pfAddr = 0;
  /** Error code of the last page walk that failed (mmu.ts). */
  pfError = 0;
  /** Set when the processor is in shutdown (triple fault without an intercept). */
  shutdown = false;
  /** Emulator hooks while the hypervisor emulates an instruction (KVM's emulator path). */
  mmioHandler: EmulatorHooks | null = null;
  /** Processor vendor: decides VMCALL vs VMMCALL and the EFER.SVME bit. */
  vendor: 'intel' | 'amd' = 'intel';
  /** RDMSR/WRMSR value scratch (msr.ts). */
  msrLo = 0; msrHi = 0;
  /** Debug hook: called before each instruction when set (debugger breakpoints); return true to stop. */
  beforeInsn: ((c: Cpu) => boolean) | null = null;
  /** Debugger code breakpoints by linear address, and the linear pages holding any (fast check). */
  private bpLin = new Set<number>();
  private bpPages = new Set<number>();
  private fetchHasBp = false;
  /** A breakpoint at this linear address is stepped over once (resuming from it). */
  bpSkip = NaN;
  /** Linear address of the breakpoint that made run() return RUN_STOPPED (NaN otherwise). */
  bpHit = NaN;
  /** Debug hook: near CALL/RET observer for the debugger's call stack (exec/control.ts). */
  callTrack: CallTracker | null = null;
  /** Progress without reaching an instruction boundary, for notify VM exits (deterministic units). */
  noBoundaryCount = 0;
  /** An instruction handler took a hardware exit with vmExit()/endExit() and returned. */
  exitPending = false;
  /**
   * Set by SYSCALL/SYSRET: the single-step trap follows RFLAGS.TF at the end of the instruction,
   * not at its start (they load RFLAGS; KVM's emulator does the same, commit "fix singlestepping over syscall").
   */
  tfAtEnd = false;
  /** `slow` as it was when the pending exit was taken. */
  private exitSlow = false;

  constructor(bus: PhysBus) {
    super();
    this.bus = bus;
    bus.addCodeWriteListener((ppn) => this.invalidateCode(ppn));
    bus.addEpochListener(() => this.tlbW.flush(false));
    bus.addMapListener(() => this.flushTlb(false)); // an overlay page appeared or went (phys.ts)
    for (const s of this.seg) updateSegmentChecks(s, true);
    this.seg[CS].selector = 0xf000; this.seg[CS].base = 0xffff0000; this.seg[CS].ar = 0x9b;
    this.updateMode();
  }

  // ---------------------------------------------------------------- registers (SDM Vol. 1 3.4.1)

  get8(r: number): number {
    return r < 16 ? this.R[2 * r] & 0xff : (this.R[2 * (r - 16)] >> 8) & 0xff;
  }
  set8(r: number, v: number): void {
    if (r < 16) this.R[2 * r] = (this.R[2 * r] & ~0xff) | (v & 0xff);
    else { const k = 2 * (r - 16); this.R[k] = (this.R[k] & ~0xff00) | ((v & 0xff) << 8); }
  }
  get16(r: number): number { return this.R[2 * r] & 0xffff; }
  set16(r: number, v: number): void { this.R[2 * r] = (this.R[2 * r] & ~0xffff) | (v & 0xffff); }
  get32(r: number): number { return this.R[2 * r]; }
  /** 32-bit writes zero-extend into the full register (SDM Vol. 1 3.4.1.1). */
  set32(r: number, v: number): void { this.R[2 * r] = v; this.R[2 * r + 1] = 0; }
  set64(r: number, lo: number, hi: number): void { this.R[2 * r] = lo; this.R[2 * r + 1] = hi; }
  /** Read a register of `size` bytes as an unsigned number (size 8: low half, high in this.hi). */
  getReg(r: number, size: number): number {
    switch (size) {
      case 1: return this.get8(r);
      case 2: return this.get16(r);
      case 4: return this.R[2 * r] >>> 0;
      default: this.hi = this.R[2 * r + 1]; return this.R[2 * r] >>> 0;
    }
  }
  setReg(r: number, size: number, v: number, hi = 0): void {
    switch (size) {
      case 1: this.set8(r, v); break;
      case 2: this.set16(r, v); break;
      case 4: this.set32(r, v | 0); break;
      default: this.R[2 * r] = v | 0; this.R[2 * r + 1] = hi | 0;
    }
  }

  // ---------------------------------------------------------------- modes

  /** Recompute derived mode state after CR0, CR4, EFER, CS, SS or RFLAGS.VM change. */
  updateMode(): void {
    const cs = this.seg[CS];
    const pe = (this.cr0 & CR0_PE) !== 0;
    const v86 = pe && (this.rflags & VM) !== 0;
    const lma = (this.efer & EFER_LMA) !== 0;
    if (lma && (cs.ar & 0x2000)) this.codeBits = 64;
    else this.codeBits = (cs.ar & 0x4000) && pe && !v86 ? 32 : 16;
    if (!pe) this.cpl = 0;
    else if (v86) this.cpl = 3;
    else this.cpl = (this.seg[SS].ar >> 5) & 3; // CPL = SS.DPL (SDM Vol. 3C 24.4.1)
    const ss = this.seg[SS];
    this.stackBits = this.codeBits === 64 ? 64 : (ss.ar & 0x4000) && pe && !v86 ? 32 : 16;
    this.csLimit = this.codeBits === 64 ? Infinity : cs.limit;
    this.csBase = cs.base;
    for (const s of this.seg) updateSegmentChecks(s, !pe || v86);
    this.updateAccessMode();
    this.fetchLin = NaN; this.fetchGen++;
    this.slow = true;
  }

  /** The TLB tag mode for data accesses: user, or supervisor with/without the SMAP AC override. */
  updateAccessMode(): void {
    this.acCheck = this.cpl === 3 && (this.cr0 & CR0_AM) !== 0 && (this.rflags & AC) !== 0;
    this.tagMode = this.cpl === 3 ? MODE_USER
      : ((this.cr4 & CR4_SMAP) && (this.rflags & AC)) ? MODE_SUP_AC : MODE_SUP;
    // #AC checking and data breakpoints send every access through the slow path (SDM Vol. 3A 6.15, 17.2.5).
    this.accMode = this.acCheck || this.dataBpOn || this.memWatch !== null ? MODE_SLOW : this.tagMode;
  }
  /** The access mode TLB entries are tagged with (accMode is MODE_SLOW while every access must miss). */
  private tagMode = MODE_SUP;
  /** DR7 enables a data breakpoint: accesses are checked in readSlow/writeSlow. */
  dataBpOn = false;
  /**
   * Debugger data breakpoints on guest memory: called for every data access (linear address) while
   * set; all accesses then take the slow path (call updateAccessMode() after setting it).
   */
  memWatch: ((lin: number, len: number, write: boolean) => void) | null = null;
  /** Data breakpoints (B0-B3) hit by the current instruction; a #DB trap follows it. */
  dbHits = 0;
  /** Interrupt request line (vector, -1 none) and NMI line of a bare processor (events.ts). */
  intrLine = -1;
  nmiLine = false;
  /** The pending event was injected by the hypervisor (VM entry): no exception-bitmap exit, CR2 kept. */
  evInjected = false;
  /** Some TLB entry maps part of a large page: INVLPG then flushes everything (SDM Vol. 3A 4.10.4.1). */
  private tlbLarge = false;

  isPaging(): boolean { return (this.cr0 & CR0_PG) !== 0; }
  isProtected(): boolean { return (this.cr0 & CR0_PE) !== 0; }
  isLongMode(): boolean { return (this.efer & EFER_LMA) !== 0; }

  /** Mask an instruction pointer to the current code size. */
  maskIp(v: number): number {
    return this.codeBits === 64 ? v : this.codeBits === 32 ? v >>> 0 : v & 0xffff;
  }

  // ---------------------------------------------------------------- faults and exits

  /** Abort the current instruction with exception `vector` (SDM Vol. 3A 6.3). */
  fault(vector: number, errorCode = -1): never {
    FAULT.vector = vector;
    FAULT.hasError = errorCode >= 0;
    FAULT.errorCode = errorCode >= 0 ? errorCode : 0;
    throw FAULT;
  }
  gp(err = 0): never { return this.fault(13, err); }
  ud(): never { return this.fault(6); }

  /**
   * Take a hardware exit from an instruction handler without throwing (fault-like: RIP back at the
   * instruction, which does not retire). The handler must return right after; run() then returns
   * RUN_EXIT. Exits from deep inside a memory access or an event delivery use throwExit() instead.
   */
  vmExit(reason: number, qual = 0): void {
    this.beginExit(reason, qual);
    this.endExit();
  }

  /** Report the exit prepared by beginExit() without throwing; the handler returns next (see vmExit). */
  endExit(): void {
    this.rip = this.insnRip;
    this.exitPending = true;
    // slow ends the fast loop at no per-instruction cost; the loop restores the previous value.
    this.exitSlow = this.slow;
    this.slow = true;
  }

  /** Take a hardware exit before the current instruction completes, by throwing (any depth). */
  hwExit(reason: number, qual = 0): never {
    this.beginExit(reason, qual);
    return this.throwExit();
  }

  /** Reset and fill the common exit fields; the caller may add more, then call endExit() or throwExit(). */
  beginExit(reason: number, qual = 0): HwExitInfo {
    const e = this.exit;
    e.reset();
    e.reason = reason;
    e.qual = qual;
    const i = this.cur;
    if (i) { e.instrLen = i.len; e.insnBytes = i.bytes; }
    e.idtVectoringInfo = this.vectoringInfo;
    e.idtVectoringError = this.vectoringError;
    return e;
  }

  /** Abort the instruction (RIP back at it) and report the exit prepared by beginExit(). */
  throwExit(): never {
    this.rip = this.insnRip;
    throw EXIT;
  }

  /** Stop on an instruction the core does not emulate, naming it (becomes KVM_EXIT_INTERNAL_ERROR). */
  notEmulated(i: Insn, what?: string): never {
    const bytes = Array.from(i.bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const at = '0x' + BigInt.asUintN(64, BigInt(this.insnRip)).toString(16); // 64-bit addresses as the guest sees them, never "0x-7cfa0686"
    let text = what ?? `instruction '${i.mnemonic}' (${bytes}) at ${at} is not emulated`;
    // Every report names the instruction and its address (a delivery has no instruction of its own).
    if (what !== undefined && !text.includes(at)) {
      const o = i.len ? i : this.eventOrigin;
      const ob = o ? Array.from(o.bytes, (b) => b.toString(16).padStart(2, '0')).join(' ') : '';
      text += i.len ? ` (at ${at}, instruction '${i.mnemonic}' (${bytes}))`
        : o ? ` (delivering an event raised at ${at} by instruction '${o.mnemonic}' (${ob}))` : ` (at ${at}, delivering an external event)`;
    }
    this.exit.reset();
    this.exit.reason = HW_UNEMULATED;
    this.exit.message = text;
    this.exit.instrLen = i.len;
    this.exit.insnBytes = i.bytes;
    this.rip = this.insnRip;
    throw EXIT;
  }

  // ---------------------------------------------------------------- addresses

  /** Effective address (offset within the segment) of the instruction's memory operand. */
  ea(i: Insn): number {
    const R = this.R;
    if (i.asz === 64) {
      if (i.mBase === BASE_RIP) return this.rip + i.disp;
      let v = i.disp;
      if (i.mBase >= 0) v += R[2 * i.mBase + 1] * 4294967296 + (R[2 * i.mBase] >>> 0);
      if (i.mIndex >= 0) v += (R[2 * i.mIndex + 1] * 4294967296 + (R[2 * i.mIndex] >>> 0)) * i.mScale;
      if (v >= -0x800000000000 && v < 0x800000000000) return v;
      return this.ea64Exact(i);
    }
    let v = i.disp;
    if (i.mBase === BASE_RIP) return (this.rip + i.disp) >>> 0;
    if (i.mBase >= 0) v += R[2 * i.mBase];
    if (i.mIndex >= 0) v += R[2 * i.mIndex] * i.mScale;
    return i.asz === 32 ? v >>> 0 : v & 0xffff;
  }

  /** Exact modulo-2^64 effective address when the fast double computation left the canonical range. */
  private ea64Exact(i: Insn): number {
    const R = this.R;
    let v = BigInt(i.disp);
    if (i.mBase >= 0) v += BigInt.asIntN(64, (BigInt(R[2 * i.mBase + 1]) << 32n) | BigInt(R[2 * i.mBase] >>> 0));
    if (i.mIndex >= 0) v += BigInt.asIntN(64, (BigInt(R[2 * i.mIndex + 1]) << 32n) | BigInt(R[2 * i.mIndex] >>> 0)) * BigInt(i.mScale);
    v = BigInt.asIntN(64, v);
    // Non-canonical values are returned as out-of-range numbers so the canonical check faults.
    if (v >= -(1n << 47n) && v < 1n << 47n) return Number(v);
    return v < 0n ? -0x1000000000000 : 0x1000000000000;
  }

  /**
   * Segment-relative offset -> linear address, with the limit/type checks of SDM Vol. 3A 5.3
   * (or the canonical check in 64-bit mode, 3A 3.3.7.1).
   */
  linear(seg: number, off: number, len: number, write: boolean): number {
    const s = this.seg[seg];
    if (this.codeBits === 64) {
      const lin = seg >= 4 ? off + s.base : off;
      if (lin < -0x800000000000 || lin + len - 1 >= 0x800000000000 || (lin < 0 && lin + len - 1 >= 0)) {
        return this.fault(seg === SS ? 12 : 13, 0);
      }
      return lin;
    }
    const end = off + len - 1;
    if (write ? (off < s.writeLo || end > s.writeHi) : (off < s.readLo || end > s.readHi)) {
      this.segmentFault(seg);
    }
    return (s.base + off) >>> 0;
  }

  private segmentFault(seg: number): never {
    // Null/unusable selector in protected mode: #GP(0); limit or type violation: #GP(0), #SS(0) for SS.
    return this.fault(seg === SS ? 12 : 13, 0);
  }

  /** Alignment check (#AC(0), SDM Vol. 3A 6.15): CR0.AM, RFLAGS.AC and CPL 3. */
  private checkAlign(lin: number, len: number): void {
    if (this.cpl === 3 && (this.cr0 & CR0_AM) && (this.rflags & AC) && (lin & (len - 1))) this.fault(17, 0);
  }

  // ---------------------------------------------------------------- paging and physical access

  private tagOf(vpn: number, user: boolean): number {
    return vpn * 4 + (user ? MODE_USER : this.tagMode === MODE_USER ? MODE_SUP : this.tagMode);
  }

  /** Fill a TLB entry for `lin` and access type; returns the index, or -1 for MMIO (no RAM). */
  private tlbFill(t: Tlb, lin: number, acc: number): number {
    const gpa = this.translate(lin, acc);
    const vpn = Math.floor(lin / PAGE_SIZE);
    const r = this.bus.regionAt(gpa);
    if (!r || (r.readonly && (acc & ACC_WRITE))) return -1;
    const idx = vpn & TLB_MASK;
    const pageGpa = gpa - (gpa % PAGE_SIZE);
    t.tag[idx] = this.tagOf(vpn, (acc & ACC_USER) !== 0);
    t.delta[idx] = (pageGpa - r.gpa) - vpn * PAGE_SIZE;
    t.ppn[idx] = pageGpa / PAGE_SIZE;
    t.global[idx] = this.lastWalkGlobal ? 1 : 0;
    if (this.lastWalkLarge) this.tlbLarge = true;
    t.buf[idx] = r.buf;
    t.dv[idx] = r.dv;
    return idx;
  }

  lastWalkGlobal = false;
  /** The last page walk ended in a 2M/4M/1G page (mmu.ts). */
  lastWalkLarge = false;

  /** Linear -> guest-physical (SDM Vol. 3A ch. 4); raises #PF. `acc` is ACC_* bits. */
  translate(lin: number, acc: number): number {
    if (!(this.cr0 & CR0_PG)) { this.lastWalkGlobal = false; return lin >>> 0; }
    const gpa = pageWalk(this, lin, acc);
    return gpa >= 0 ? gpa : this.fault(14, this.pfError);
  }

  /**
   * Linear -> guest-physical for the hypervisor (KVM's gva_to_gpa): -1 when the walk faults, with
   * the #PF address in `pfAddr` and its error code in `pfError`. Never throws, raises nothing.
   */
  tryTranslate(lin: number, acc: number): number {
    if (!(this.cr0 & CR0_PG)) { this.lastWalkGlobal = false; return lin >>> 0; }
    return pageWalk(this, lin, acc);
  }

  private userAcc(): number { return this.cpl === 3 ? ACC_USER : 0; }

  /** Slow path for reads: page-crossing, MMIO and TLB misses. */
  private readSlow(lin: number, len: number, acc: number): number {
    if (this.dataBpOn && !(acc & (ACC_IMPLICIT | ACC_FETCH))) noteDataAccess(this, lin, len, false);
    if (this.memWatch !== null && !(acc & ACC_FETCH)) this.memWatch(lin, len, false);
    const off = lin % PAGE_SIZE;
    const pageOff = off < 0 ? off + PAGE_SIZE : off;
    if (pageOff + len > PAGE_SIZE) {
      // Split access: translate both pages first so a #PF on either aborts before any side effect.
      let v = 0, hi = 0;
      for (let k = 0; k < len; k++) {
        const b = this.readSlow(lin + k, 1, acc);
        if (k < 4) v |= b << (8 * k); else hi |= b << (8 * (k - 4));
      }
      this.hi = hi;
      return len === 4 || len === 8 ? v >>> 0 : v;
    }
    const t = (acc & ACC_FETCH) ? this.tlbX : this.tlbR;
    const idx = this.tlbFill(t, lin, acc);
    if (idx < 0) return this.mmioRead(lin, len, acc);
    const a = lin + t.delta[idx], dv = t.dv[idx];
    switch (len) {
      case 1: return t.buf[idx][a];
      case 2: return dv.getUint16(a, true);
      case 4: return dv.getUint32(a, true);
      default: this.hi = dv.getInt32(a + 4, true); return dv.getUint32(a, true);
    }
  }

  private mmioRead(lin: number, len: number, acc: number): number {
    const gpa = this.translate(lin, acc);
    if (this.mmioHandler) {
      return this.mmioHandler.mmioRead(gpa, len);
    }
    if (this.intercepts.mmio) this.eptExit(gpa, lin, (acc & ACC_FETCH) ? EPT_VIOLATION_FETCH : EPT_VIOLATION_READ);
    // No hypervisor: unbacked physical memory reads as all ones.
    this.hi = -1;
    return len === 1 ? 0xff : len === 2 ? 0xffff : 0xffffffff;
  }

  private eptExit(gpa: number, lin: number, q: number): never {
    const e = this.exit;
    e.reset();
    e.reason = EXIT_REASON_EPT_VIOLATION;
    e.qual = q | 0x80 | 0x100; // guest-linear address valid, caused by the translation's final access
    e.gpa = gpa;
    e.gla = lin;
    e.instrLen = this.cur ? this.cur.len : 0;
    e.idtVectoringInfo = this.vectoringInfo;
    e.idtVectoringError = this.vectoringError;
    this.rip = this.insnRip;
    throw EXIT;
  }

  private writeSlow(lin: number, len: number, lo: number, hi: number, acc: number): void {
    if (this.dataBpOn && !(acc & ACC_IMPLICIT)) noteDataAccess(this, lin, len, true);
    if (this.memWatch !== null) this.memWatch(lin, len, true);
    const off = lin % PAGE_SIZE;
    const pageOff = off < 0 ? off + PAGE_SIZE : off;
    if (pageOff + len > PAGE_SIZE) {
      // Check both pages before writing anything (an instruction's write is all or nothing).
      const first = PAGE_SIZE - pageOff;
      this.translate(lin, acc | ACC_WRITE);
      this.translate(lin + first, acc | ACC_WRITE);
      for (let k = 0; k < len; k++) {
        const b = k < 4 ? (lo >>> (8 * k)) & 0xff : (hi >>> (8 * (k - 4))) & 0xff;
        this.writeSlow(lin + k, 1, b, 0, acc);
      }
      return;
    }
    const idx = this.tlbFill(this.tlbW, lin, acc | ACC_WRITE);
    if (idx < 0) { this.mmioWrite(lin, len, lo, hi, acc); return; }
    const ppn = this.tlbW.ppn[idx];
    if (this.bus.needsPrepare(ppn)) this.bus.prepareWrite(ppn * PAGE_SIZE, 1);
    this.storeAt(idx, lin, len, lo, hi);
  }

  private storeAt(idx: number, lin: number, len: number, lo: number, hi: number): void {
    const t = this.tlbW;
    const a = lin + t.delta[idx], dv = t.dv[idx];
    switch (len) {
      case 1: t.buf[idx][a] = lo; break;
      case 2: dv.setUint16(a, lo, true); break;
      case 4: dv.setInt32(a, lo, true); break;
      default: dv.setInt32(a, lo, true); dv.setInt32(a + 4, hi, true);
    }
    const ppn = t.ppn[idx];
    if (this.bus.codePage[ppn]) this.bus.noteWrite(ppn * PAGE_SIZE + (a & 0xfff), len);
  }

  private mmioWrite(lin: number, len: number, lo: number, hi: number, acc: number): void {
    const gpa = this.translate(lin, acc | ACC_WRITE);
    if (this.mmioHandler) { this.mmioHandler.mmioWrite(gpa, len, lo, hi); return; }
    if (this.bus.isRam(gpa)) return; // read-only memory: writes are dropped (ROM)
    if (this.intercepts.mmio) this.eptExit(gpa, lin, EPT_VIOLATION_WRITE);
  }

  // Linear-address accessors used by instruction handlers. `lin` comes from linear().
  readLin8(lin: number): number {
    const t = this.tlbR, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & TLB_MASK;
    if (t.tag[idx] === vpn * 4 + this.accMode) return t.buf[idx][lin + t.delta[idx]];
    return this.readSlow(lin, 1, this.userAcc());
  }
  readLin16(lin: number): number {
    const t = this.tlbR, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & TLB_MASK;
    if (t.tag[idx] === vpn * 4 + this.accMode && (lin & 0xfff) <= 0xffe) return t.dv[idx].getUint16(lin + t.delta[idx], true);
    this.checkAlign(lin, 2);
    return this.readSlow(lin, 2, this.userAcc());
  }
  /** Returns the value as a signed int32. */
  readLin32(lin: number): number {
    const t = this.tlbR, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & TLB_MASK;
    if (t.tag[idx] === vpn * 4 + this.accMode && (lin & 0xfff) <= 0xffc) {
      return t.dv[idx].getInt32(lin + t.delta[idx], true);
    }
    this.checkAlign(lin, 4);
    return this.readSlow(lin, 4, this.userAcc()) | 0;
  }
  /** Returns the low half (signed); the high half is left in this.hi. */
  readLin64(lin: number): number {
    const t = this.tlbR, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & TLB_MASK;
    if (t.tag[idx] === vpn * 4 + this.accMode && (lin & 0xfff) <= 0xff8) {
      const dv = t.dv[idx], a = lin + t.delta[idx];
      this.hi = dv.getInt32(a + 4, true);
      return dv.getInt32(a, true);
    }
    this.checkAlign(lin, 8);
    return this.readSlow(lin, 8, this.userAcc()) | 0;
  }
  writeLin8(lin: number, v: number): void {
    const t = this.tlbW, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & TLB_MASK;
    if (t.tag[idx] === vpn * 4 + this.accMode) { this.storeAt(idx, lin, 1, v & 0xff, 0); return; }
    this.writeSlow(lin, 1, v & 0xff, 0, this.userAcc());
  }
  writeLin16(lin: number, v: number): void {
    const t = this.tlbW, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & TLB_MASK;
    if (t.tag[idx] === vpn * 4 + this.accMode && (lin & 0xfff) <= 0xffe) {
      this.storeAt(idx, lin, 2, v & 0xffff, 0); return;
    }
    this.checkAlign(lin, 2);
    this.writeSlow(lin, 2, v & 0xffff, 0, this.userAcc());
  }
  writeLin32(lin: number, v: number): void {
    const t = this.tlbW, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & TLB_MASK;
    if (t.tag[idx] === vpn * 4 + this.accMode && (lin & 0xfff) <= 0xffc) {
      this.storeAt(idx, lin, 4, v | 0, 0); return;
    }
    this.checkAlign(lin, 4);
    this.writeSlow(lin, 4, v | 0, 0, this.userAcc());
  }
  writeLin64(lin: number, lo: number, hi: number): void {
    const t = this.tlbW, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & TLB_MASK;
    if (t.tag[idx] === vpn * 4 + this.accMode && (lin & 0xfff) <= 0xff8) {
      this.storeAt(idx, lin, 8, lo | 0, hi | 0); return;
    }
    this.checkAlign(lin, 8);
    this.writeSlow(lin, 8, lo | 0, hi | 0, this.userAcc());
  }
  /** True when alignment checking can fire (CPL 3, CR0.AM, RFLAGS.AC); kept by updateAcCheck(). */
  acCheck = false;
  updateAcCheck(): void {
    this.updateAccessMode();
  }

  /** Check that a write to [lin, lin+len) would succeed (translation + permissions) without writing. */
  probeWrite(lin: number, len: number): void {
    this.translate(lin, this.userAcc() | ACC_WRITE);
    // The second page is probed at its first byte, so a #PF there reports that address in CR2.
    const end = lin + len - 1;
    if (Math.floor(end / PAGE_SIZE) !== Math.floor(lin / PAGE_SIZE)) this.translate(end - (((end % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE), this.userAcc() | ACC_WRITE);
  }

  /**
   * Implicit supervisor-mode accesses (descriptor tables, TSS, IDT; SDM Vol. 3A 4.6): privilege
   * checks as CPL 0 regardless of the current CPL. Little-endian, any size up to 8 (hi in this.hi).
   */
  readSys(lin: number, len: number): number {
    return this.readSlow(lin, len, ACC_IMPLICIT);
  }
  writeSys(lin: number, len: number, lo: number, hi = 0): void {
    this.writeSlow(lin, len, lo, hi, ACC_IMPLICIT);
  }

  // Segment-relative accessors (seg = segment register number, off = offset).
  read8(seg: number, off: number): number { return this.readLin8(this.linear(seg, off, 1, false)); }
  read16(seg: number, off: number): number { return this.readLin16(this.linear(seg, off, 2, false)); }
  read32(seg: number, off: number): number { return this.readLin32(this.linear(seg, off, 4, false)); }
  read64(seg: number, off: number): number { return this.readLin64(this.linear(seg, off, 8, false)); }
  write8(seg: number, off: number, v: number): void { this.writeLin8(this.linear(seg, off, 1, true), v); }
  write16(seg: number, off: number, v: number): void { this.writeLin16(this.linear(seg, off, 2, true), v); }
  write32(seg: number, off: number, v: number): void { this.writeLin32(this.linear(seg, off, 4, true), v); }
  write64(seg: number, off: number, lo: number, hi: number): void { this.writeLin64(this.linear(seg, off, 8, true), lo, hi); }

  /** Flush the TLBs (MOV CR3 keeps global pages when CR4.PGE; SDM Vol. 3A 4.10.4). */
  flushTlb(keepGlobal: boolean): void {
    this.tlbR.flush(keepGlobal); this.tlbW.flush(keepGlobal); this.tlbX.flush(keepGlobal);
    if (!keepGlobal) this.tlbLarge = false;
    this.fetchLin = NaN; this.fetchGen++;
  }
  invlpg(lin: number): void {
    // The TLB holds 4K pieces of large pages: invalidating a large page means flushing them all.
    if (this.tlbLarge) { this.flushTlb(false); return; }
    const vpn = Math.floor(lin / PAGE_SIZE);
    this.tlbR.flushPage(vpn); this.tlbW.flushPage(vpn); this.tlbX.flushPage(vpn);
    this.fetchLin = NaN; this.fetchGen++;
  }

  // ---------------------------------------------------------------- instruction fetch and cache

  invalidateCode(ppn: number): void {
    const page = this.codeCache.get(ppn);
    if (page) this.dropCodePage(ppn, page);
    this.fetchLin = NaN; this.fetchGen++;
  }
  /** Drop every decoded instruction (used when the memory map changes). */
  invalidateAllCode(): void {
    // codePage bits stay set: other processors on the bus may still hold decoded code there.
    for (const page of this.codeCache.values()) for (const insn of page) if (insn !== undefined) insn.live = false;
    this.codeCache.clear();
    this.codeCacheInsns = 0;
    this.fetchLin = NaN; this.fetchGen++;
  }
  /** Forget one page of decoded code (its instructions stop chaining). */
  private dropCodePage(ppn: number, page: (Insn | undefined)[]): void {
    let n = 0;
    for (const insn of page) if (insn !== undefined) { insn.live = false; insn.next = undefined; n++; }
    this.codeCacheInsns -= n;
    this.codeCache.delete(ppn);
  }
  /** A new page or instruction would pass the cache's bounds: drop the oldest pages (down to 3/4). */
  private trimCodeCache(): void {
    if (this.codeCacheInsns < CODE_CACHE_MAX_INSNS && this.codeCache.size < CODE_CACHE_MAX_PAGES) return;
    for (const [ppn, page] of this.codeCache) {
      if (this.codeCacheInsns <= CODE_CACHE_MAX_INSNS * 3 / 4 && this.codeCache.size <= CODE_CACHE_MAX_PAGES * 3 / 4) break;
      this.dropCodePage(ppn, page);
    }
    this.fetchLin = NaN; this.fetchGen++;
  }
  /** Decoded instructions held (for tests of the bound). */
  codeCacheSize(): { insns: number; pages: number } { return { insns: this.codeCacheInsns, pages: this.codeCache.size }; }

  /** Fetch and decode the instruction at linear address `lin` (cache-miss path). */
  private fetchSlow(lin: number): Insn {
    const acc = ACC_FETCH | (this.cpl === 3 ? ACC_USER : 0);
    const pageOff = ((lin % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE;
    const gpa = this.translate(lin, acc);
    const r = this.bus.regionAt(gpa);
    if (!r) {
      if (this.intercepts.mmio) this.eptExit(gpa, lin, EPT_VIOLATION_FETCH);
      return this.notEmulatedAt(lin, 'instruction fetch from unbacked guest-physical address 0x' + gpa.toString(16));
    }
    const ppn = Math.floor(gpa / PAGE_SIZE);
    const avail = PAGE_SIZE - pageOff;
    const first = r.buf.subarray(gpa - r.gpa, gpa - r.gpa + Math.min(15, avail));
    let res = decodeInsn(first, this.codeBits);
    if (res.needMore && avail < 15) {
      // The instruction continues on the next page: fetch it (may #PF there) and decode again.
      const bytes = new Uint8Array(15);
      bytes.set(first);
      for (let k = avail; k < 15; k++) {
        try { bytes[k] = this.readSlow(lin + k, 1, acc); } catch (e) {
          if (k === avail) throw e;
          break;
        }
      }
      res = decodeInsn(bytes, this.codeBits);
      if (res.insn.len > avail && pageOff + res.insn.len > PAGE_SIZE) {
        return res.insn; // page-crossing instructions are not cached
      }
    }
    this.trimCodeCache();
    let page = this.codeCache.get(ppn);
    if (!page) {
      page = new Array(PAGE_SIZE);
      this.codeCache.set(ppn, page);
      this.bus.markCode(ppn);
    }
    if (page[pageOff] === undefined) this.codeCacheInsns++;
    page[pageOff] = res.insn;
    if (this.fetchLin === lin - pageOff) this.fetchPage = page;
    return res.insn;
  }

  private notEmulatedAt(lin: number, msg: string): never {
    this.exit.reset();
    this.exit.reason = HW_UNEMULATED;
    this.exit.message = msg;
    this.exit.gla = lin;
    this.rip = this.insnRip;
    throw EXIT;
  }

  /** Look up (or decode) the instruction at RIP. */
  fetch(): Insn {
    const lin = this.codeBits === 64 ? this.rip : (this.seg[CS].base + this.rip) >>> 0;
    const off = lin - this.fetchLin;
    if (off >= 0 && off < PAGE_SIZE) {
      const insn = this.fetchPage[off];
      if (insn !== undefined && insn.bits === this.codeBits) return insn;
    }
    return this.fetchMiss(lin);
  }

  /** Fetch path when the instruction is not in the current page's cache. */
  private fetchMiss(lin: number): Insn {
    this.insnRip = this.rip; // a fetch fault (#PF, EPT) is reported at the instruction being fetched
    const off = lin - this.fetchLin;
    if (!(off >= 0 && off < PAGE_SIZE)) {
      // Entering a new page: translate for execute (may #PF) and find its decoded-instruction page.
      const acc = ACC_FETCH | (this.cpl === 3 ? ACC_USER : 0);
      const base = lin - (((lin % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE);
      const gpa = this.translate(base, acc);
      const ppn = Math.floor(gpa / PAGE_SIZE);
      let page = this.codeCache.get(ppn);
      if (!page && this.bus.isRam(gpa)) {
        this.trimCodeCache();
        page = new Array(PAGE_SIZE);
        this.codeCache.set(ppn, page);
        this.bus.markCode(ppn);
      }
      if (page) {
        this.fetchLin = base;
        this.fetchPage = page;
        this.fetchPpn = ppn;
        this.fetchHasBp = this.bpPages.size !== 0 && this.bpPages.has(base / PAGE_SIZE);
        const insn = page[lin - base];
        if (insn !== undefined && insn.bits === this.codeBits) return insn;
      }
    }
    return this.fetchSlow(lin);
  }

  // ---------------------------------------------------------------- debugger breakpoints

  /** Replace the debugger's code breakpoints (linear addresses). */
  setCodeBreakpoints(linear: Iterable<number>): void {
    this.bpLin = new Set(linear);
    this.bpPages = new Set([...this.bpLin].map((a) => Math.floor(a / PAGE_SIZE)));
    this.fetchLin = NaN; this.fetchGen++;
    this.fetchHasBp = false;
  }
  codeBreakpoints(): ReadonlySet<number> { return this.bpLin; }

  /** Is there a breakpoint at RIP (not the one being stepped over)? Records it in bpHit. */
  private atBreakpoint(rip: number): boolean {
    const lin = this.codeBits === 64 ? rip : (this.csBase + rip) >>> 0;
    if (!this.bpLin.has(lin)) return false;
    if (lin === this.bpSkip) { this.bpSkip = NaN; return false; }
    this.bpHit = lin;
    return true;
  }

  // ---------------------------------------------------------------- execution

  /**
   * Run up to `budget` instructions. Returns RUN_EXIT with `this.exit` filled when an intercepted
   * event happens, RUN_BUDGET when the budget is used up, RUN_HALTED in HLT with nothing pending,
   * RUN_STOPPED when the debug hook asked to stop, RUN_SHUTDOWN after an unintercepted triple fault.
   * Never throws.
   */
  run(budget: number): number {
    let left = budget;
    for (;;) {
      try {
        if (this.shutdown) return RUN_SHUTDOWN;
        if (this.slow) {
          const r = this.stepSlow();
          if (r >= 0) return r;
          if (--left <= 0) return RUN_BUDGET;
          continue;
        }
        // Fast loop: no pending events, shadows, single-step or debug hooks. Straight-line code
        // follows insn.next (the decoded successor in the same page) without a cache lookup.
        let prev: Insn | undefined;
        let expect = NaN; // RIP after the previous instruction if it fell through
        // icount is kept in locals and stored before anything that can read it (handlers, faults,
        // fetches, stops): icount = icBase + (leftAtStart - left).
        const icBase = this.icount, leftAtStart = left;
        while (left > 0 && !this.slow) {
          const bits = this.codeBits;
          const rip = this.rip;
          let insn: Insn | undefined;
          // A chain is valid while the fetch generation is unchanged: code writes (invalidateCode),
          // TLB flushes and mode changes all bump it.
          if (rip === expect && prev!.nextGen === this.fetchGen && (insn = prev!.next) !== undefined) {
            // chained
          } else {
            const lin = bits === 64 ? rip : (this.csBase + rip) >>> 0;
            const off = lin - this.fetchLin;
            insn = off >= 0 && off < PAGE_SIZE ? this.fetchPage[off] : undefined;
            if (insn === undefined || insn.bits !== bits) { this.icount = icBase + leftAtStart - left; insn = this.fetchMiss(lin); }
            // Pages with debugger breakpoints are never chained, so only this path checks them.
            if (this.fetchHasBp && this.atBreakpoint(rip)) { this.icount = icBase + leftAtStart - left; return RUN_STOPPED; }
            // A block head: compiled code runs whole passes of its block that fit in `left` (jit/jit.ts).
            // Pages with breakpoints never run compiled code; blocks stay in their page.
            if (this.jit !== null && !this.fetchHasBp) {
              const n = this.jit.enter(insn, rip, left);
              if (n > 0) { left -= n; expect = NaN; continue; }
            }
            if (off > 0 && rip === expect && !this.fetchHasBp && prev!.live && insn.live && this.fetchPage[off] === insn) {
              prev!.next = insn;
              prev!.nextGen = this.fetchGen;
            }
          }
          let next = rip + insn.len;
          if (bits !== 64) {
            if (next - 1 > this.csLimit) { this.insnRip = rip; this.cur = insn; this.icount = icBase + leftAtStart - left; this.gp(0); }
            next = bits === 32 ? next >>> 0 : next & 0xffff;
          }
          this.rip = next;
          // insnRip/cur (for faults, exits and reports) are set only on paths that can use them: the
          // inline forms below cannot fault except a branch to a non-canonical target.
          switch (insn.fop) {
            case FOP_ADD32: { const R = this.R, d = insn.fd, a = R[d], b = R[insn.fs], r = (a + b) | 0;
              this.lfOp = OP_ADD; this.lfSz = SZ32; this.lfDst = a; this.lfSrc = b; this.lfRes = r; R[d] = r; R[d + 1] = 0; break; }
            case FOP_SUB32: { const R = this.R, d = insn.fd, a = R[d], b = R[insn.fs], r = (a - b) | 0;
              this.lfOp = OP_SUB; this.lfSz = SZ32; this.lfDst = a; this.lfSrc = b; this.lfRes = r; R[d] = r; R[d + 1] = 0; break; }
            case FOP_CMP32: { const R = this.R, a = R[insn.fd], b = R[insn.fs];
              this.lfOp = OP_SUB; this.lfSz = SZ32; this.lfDst = a; this.lfSrc = b; this.lfRes = (a - b) | 0; break; }
            case FOP_XOR32: { const R = this.R, d = insn.fd, r = R[d] ^ R[insn.fs];
              this.lfOp = OP_LOGIC; this.lfSz = SZ32; this.lfRes = r; R[d] = r; R[d + 1] = 0; break; }
            case FOP_AND32: { const R = this.R, d = insn.fd, r = R[d] & R[insn.fs];
              this.lfOp = OP_LOGIC; this.lfSz = SZ32; this.lfRes = r; R[d] = r; R[d + 1] = 0; break; }
            case FOP_OR32: { const R = this.R, d = insn.fd, r = R[d] | R[insn.fs];
              this.lfOp = OP_LOGIC; this.lfSz = SZ32; this.lfRes = r; R[d] = r; R[d + 1] = 0; break; }
            case FOP_DEC32: { const R = this.R, d = insn.fd, v = R[d], r = (v - 1) | 0;
              // INC/DEC keep CF: the common predecessors' CF inline, the rest through getCF.
              const lop = this.lfOp;
              this.lfCin = lop === OP_LOGIC ? 0 : lop === OP_SUB && this.lfSz === SZ32 ? ((this.lfDst >>> 0) < (this.lfSrc >>> 0) ? 1 : 0)
                : lop === OP_DEC || lop === OP_INC ? this.lfCin : getCF(this) ? 1 : 0;
              this.lfOp = OP_DEC; this.lfSz = SZ32; this.lfDst = v; this.lfSrc = 1; this.lfRes = r;
              R[d] = r; R[d + 1] = 0; break; }
            case FOP_INC32: { const R = this.R, d = insn.fd, v = R[d], r = (v + 1) | 0;
              const lop = this.lfOp;
              this.lfCin = lop === OP_LOGIC ? 0 : lop === OP_SUB && this.lfSz === SZ32 ? ((this.lfDst >>> 0) < (this.lfSrc >>> 0) ? 1 : 0)
                : lop === OP_DEC || lop === OP_INC ? this.lfCin : getCF(this) ? 1 : 0;
              this.lfOp = OP_INC; this.lfSz = SZ32; this.lfDst = v; this.lfSrc = 1; this.lfRes = r;
              R[d] = r; R[d + 1] = 0; break; }
            case FOP_JNZ64: if (this.lfSz === SZ32 && this.lfOp !== OP_NONE ? this.lfRes !== 0 : !getZF(this)) { const t = next + insn.rel; if (t < -0x800000000000 || t >= 0x800000000000) { this.insnRip = rip; this.cur = insn; this.icount = icBase + leftAtStart - left; this.gp(0); } this.rip = t; } break;
            case FOP_JZ64: if (this.lfSz === SZ32 && this.lfOp !== OP_NONE ? this.lfRes === 0 : getZF(this)) { const t = next + insn.rel; if (t < -0x800000000000 || t >= 0x800000000000) { this.insnRip = rip; this.cur = insn; this.icount = icBase + leftAtStart - left; this.gp(0); } this.rip = t; } break;
            case FOP_JMP64: { const t = next + insn.rel; if (t < -0x800000000000 || t >= 0x800000000000) { this.insnRip = rip; this.cur = insn; this.icount = icBase + leftAtStart - left; this.gp(0); } this.rip = t; break; }
            // Loads and stores at [base + disp]: a TLB hit within one page is done here; anything
            // else (miss, page crossing, non-canonical, MMIO, watched memory) runs the handler.
            case FOP_LD32: case FOP_LD64: {
              const R = this.R, b = insn.fs, lin = R[b + 1] * 4294967296 + (R[b] >>> 0) + insn.disp;
              const t = this.tlbR, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & TLB_MASK, d = insn.fd;
              if (t.tag[idx] === vpn * 4 + this.accMode && (lin & 0xfff) <= 0xff8 && lin >= -0x800000000000 && lin < 0x7ffffffffff8) {
                const dv = t.dv[idx], a = lin + t.delta[idx];
                R[d] = dv.getInt32(a, true);
                R[d + 1] = insn.fop === FOP_LD64 ? dv.getInt32(a + 4, true) : 0;
                break;
              }
              this.insnRip = rip; this.cur = insn; this.icount = icBase + leftAtStart - left; insn.exec(this, insn);
              break;
            }
            case FOP_ST32: case FOP_ST64: {
              const R = this.R, b = insn.fs, lin = R[b + 1] * 4294967296 + (R[b] >>> 0) + insn.disp;
              const t = this.tlbW, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & TLB_MASK, s = insn.fd;
              if (t.tag[idx] === vpn * 4 + this.accMode && (lin & 0xfff) <= 0xff8 && lin >= -0x800000000000 && lin < 0x7ffffffffff8) {
                if (insn.fop === FOP_ST64) this.storeAt(idx, lin, 8, R[s], R[s + 1]);
                else this.storeAt(idx, lin, 4, R[s], 0);
                break;
              }
              this.insnRip = rip; this.cur = insn; this.icount = icBase + leftAtStart - left; insn.exec(this, insn);
              break;
            }
            case FOP_ADDM32: {
              // A hit in the write TLB: the page is mapped writable, so it may be read through it too.
              const R = this.R, b = insn.fs, lin = R[b + 1] * 4294967296 + (R[b] >>> 0) + insn.disp;
              const t = this.tlbW, vpn = Math.floor(lin / PAGE_SIZE), idx = vpn & TLB_MASK;
              if (t.tag[idx] === vpn * 4 + this.accMode && (lin & 0xfff) <= 0xffc && lin >= -0x800000000000 && lin < 0x7ffffffffffc) {
                const a = t.dv[idx].getInt32(lin + t.delta[idx], true), v = R[insn.fd], r = (a + v) | 0;
                this.storeAt(idx, lin, 4, r, 0);
                this.lfOp = OP_ADD; this.lfSz = SZ32; this.lfDst = a; this.lfSrc = v; this.lfRes = r;
                break;
              }
              this.insnRip = rip; this.cur = insn; this.icount = icBase + leftAtStart - left; insn.exec(this, insn);
              break;
            }
            default: this.insnRip = rip; this.cur = insn; this.icount = icBase + leftAtStart - left; insn.exec(this, insn);
          }
          left--;
          prev = insn;
          expect = next;
        }
        this.icount = icBase + leftAtStart - left;
        // A handler took an exit (vmExit) and set slow: the instruction did not retire.
        if (this.exitPending) { this.exitPending = false; this.slow = this.exitSlow; this.icount--; return RUN_EXIT; }
        if (left <= 0) return RUN_BUDGET;
      } catch (e) {
        const r = this.handleThrow(e);
        if (r >= 0) return r;
        // A faulting instruction or delivery attempt costs one unit, so endless fault loops end.
        if (--left <= 0) return RUN_BUDGET;
      }
    }
  }

  /** One instruction with every per-instruction check. Returns a RUN_* code to stop, or -1. */
  private stepSlow(): number {
    this.slow = false;
    // Triple fault, notify, pending events, interrupt/NMI lines and window exits (events.ts).
    const b = instructionBoundary(this);
    if (b >= 0) return b;
    // An event the delivery itself raised (a #DB trap from a data breakpoint on the frame) comes first.
    if (this.evType !== EVT_NONE) { this.slow = true; return -1; }
    if (this.halted) { this.slow = true; return RUN_HALTED; }
    const shadow = this.stiShadow || this.movSsShadow;
    const tf = (this.rflags & TF) !== 0;
    if (this.beforeInsn) {
      this.slow = true;
      if (this.beforeInsn(this)) return RUN_STOPPED;
    }
    // DR0-DR3 instruction breakpoints are faults before the fetch (SDM Vol. 3B 17.3.1.1).
    if (this.dr7 & 0xff) checkCodeBreakpoints(this);
    if (this.bpLin.size !== 0 && this.atBreakpoint(this.rip)) { this.slow = true; return RUN_STOPPED; }
    this.noBoundaryCount = 0; // an instruction boundary with nothing to deliver: an event window (notify)
    const insn = this.fetch();
    const rip = this.rip;
    this.insnRip = rip;
    this.cur = insn;
    const next = rip + insn.len;
    if (next - 1 > this.csLimit) this.gp(0);
    this.rip = this.maskIp(next);
    // RF has done its job (suppressing the breakpoint check); IRET may set it again (SDM Vol. 3B 17.3.1.1).
    this.rflags &= ~RF;
    this.tfAtEnd = false;
    insn.exec(this, insn);
    if (this.exitPending) { this.exitPending = false; return RUN_EXIT; }
    this.icount++;
    if (shadow) { this.stiShadow = false; this.movSsShadow = false; }
    if (this.stiShadow || this.movSsShadow) this.slow = true;
    // Data-breakpoint and single-step traps after the instruction (SDM Vol. 3B 17.3.1.2, 17.3.1.4).
    afterInstruction(this, tf && !this.movSsShadow && !this.tfAtEnd);
    if ((this.rflags & TF) || boundaryWork(this)) this.slow = true;
    return -1;
  }

  /** Turn a throw inside the core into an event, an exit or an internal-error exit. */
  private handleThrow(e: unknown): number {
    this.exitPending = false;
    if (e === FAULT) {
      this.rip = this.insnRip;
      this.slow = true;
      raiseFaultDuringDelivery(this, FAULT.vector, FAULT.hasError ? FAULT.errorCode : -1, false);
      return this.shutdown ? RUN_SHUTDOWN : -1;
    }
    if (e === EXIT) { this.slow = true; return RUN_EXIT; }
    // A bug in the core: report it as an unemulated instruction rather than crash the host.
    this.rip = this.insnRip;
    this.slow = true;
    this.exit.reset();
    this.exit.reason = HW_UNEMULATED;
    const i = this.cur;
    this.exit.message = `internal error executing '${i ? i.mnemonic : '?'}' at 0x${this.insnRip.toString(16)}: ${
      e instanceof Error ? e.message : String(e)}`;
    return RUN_EXIT;
  }

  /**
   * Execute exactly one instruction (KVM's emulator path when `hooks` is given). An exception it
   * raises (or INT n, or a #DB trap) is delivered before returning, the way KVM injects the
   * emulator's exception: not subject to the exception bitmap, CR2 written for #PF; the handler's
   * first instruction does not run. Returns RUN_BUDGET, or RUN_EXIT / RUN_SHUTDOWN / RUN_HALTED.
   */
  /** A REP string instruction stopped between iterations and will run again from its start (set by string.ts/system.ts). */
  stringRestart = false;

  emulateOne(hooks: EmulatorHooks | null): number {
    const saved = this.mmioHandler;
    this.mmioHandler = hooks;
    this.stringRestart = false;
    try {
      let r = this.run(1);
      // A repeated string instruction the emulator ran one iteration of (count not yet zero) restarts
      // itself: it retires once, when its last iteration completes, as it does outside the emulator.
      if (this.stringRestart && r === RUN_BUDGET) this.icount--;
      for (let k = 0; r === RUN_BUDGET && k < 4 && (this.evType !== EVT_NONE || this.pendingTripleFault); k++) {
        r = this.deliverRaisedEvent();
      }
      return r;
    } finally { this.mmioHandler = saved; }
  }

  /** Deliver the event the emulated instruction raised (emulateOne); RUN_BUDGET when delivered. */
  private deliverRaisedEvent(): number {
    try {
      if (this.evType !== EVT_NONE && !this.evInjected) {
        this.evInjected = true;
        if (this.evType === EVT_EXCEPTION && this.evVector === 14) this.cr2 = this.pfAddr;
      }
      const b = instructionBoundary(this);
      return b >= 0 ? b : RUN_BUDGET;
    } catch (e) {
      const r = this.handleThrow(e);
      return r >= 0 ? r : RUN_BUDGET;
    }
  }
}

// Handlers for instructions iced-x86 calls invalid (#UD) and for valid ones we don't emulate.
fallback.invalid = (c) => c.ud();
fallback.notEmulated = (c, i) => c.notEmulated(i);

// Architectural state of one x86-64 logical processor (Intel SDM Vol. 3A ch. 2-3).
// 64-bit values live as 32-bit halves in typed arrays: no BigInt and no allocation in the hot path.

/** GPR numbers (SDM encoding order). R[2*n] holds the low half, R[2*n+1] the high half. */
export const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
export const R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;
export const GPR_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

/** Segment register numbers (SDM encoding order), plus LDTR and TR. */
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7;
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'] as const;

// RFLAGS bits (SDM Vol. 1 3.4.3).
export const CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, TF = 1 << 8, IF = 1 << 9,
  DF = 1 << 10, OF = 1 << 11, IOPL = 3 << 12, NT = 1 << 14, RF = 1 << 16, VM = 1 << 17, AC = 1 << 18,
  VIF = 1 << 19, VIP = 1 << 20, ID = 1 << 21;
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
/** Bits software can ever set in RFLAGS; bit 1 always reads 1. */
export const RFLAGS_FIXED = 0x2;
export const RFLAGS_MASK = 0x3f7fd5 | RFLAGS_FIXED;

// CR0 (SDM Vol. 3A 2.5).
export const CR0_PE = 1 << 0, CR0_MP = 1 << 1, CR0_EM = 1 << 2, CR0_TS = 1 << 3, CR0_ET = 1 << 4,
  CR0_NE = 1 << 5, CR0_WP = 1 << 16, CR0_AM = 1 << 18, CR0_NW = 1 << 29, CR0_CD = 1 << 30, CR0_PG = 1 << 31;
// CR4.
export const CR4_VME = 1 << 0, CR4_PVI = 1 << 1, CR4_TSD = 1 << 2, CR4_DE = 1 << 3, CR4_PSE = 1 << 4,
  CR4_PAE = 1 << 5, CR4_MCE = 1 << 6, CR4_PGE = 1 << 7, CR4_PCE = 1 << 8, CR4_OSFXSR = 1 << 9,
  CR4_OSXMMEXCPT = 1 << 10, CR4_UMIP = 1 << 11, CR4_LA57 = 1 << 12, CR4_VMXE = 1 << 13, CR4_SMXE = 1 << 14,
  CR4_FSGSBASE = 1 << 16, CR4_PCIDE = 1 << 17, CR4_OSXSAVE = 1 << 18, CR4_SMEP = 1 << 20, CR4_SMAP = 1 << 21,
  CR4_PKE = 1 << 22;
// EFER (SDM Vol. 3A 2.2.1).
export const EFER_SCE = 1 << 0, EFER_LME = 1 << 8, EFER_LMA = 1 << 10, EFER_NXE = 1 << 11, EFER_SVME = 1 << 12;

/**
 * A segment register with its hidden descriptor cache (SDM Vol. 3A 3.4.3). `ar` is the access-rights
 * word in the VMCS layout (SDM Vol. 3C 24.4.1): type 3:0, S 4, DPL 6:5, P 7, AVL 12, L 13, D/B 14,
 * G 15, unusable 16. `limit` is the expanded byte limit.
 */
export class Segment {
  selector = 0;
  base = 0;
  limit = 0xffff;
  ar = 0x93;
  // Derived on every load (updateSegmentChecks): offsets [lo, hi] valid for reads and writes.
  readLo = 0; readHi = 0xffff; writeLo = 0; writeHi = 0xffff;
  readable = true; writable = true;
  get type(): number { return this.ar & 0xf; }
  get s(): number { return (this.ar >> 4) & 1; }
  get dpl(): number { return (this.ar >> 5) & 3; }
  get present(): number { return (this.ar >> 7) & 1; }
  get avl(): number { return (this.ar >> 12) & 1; }
  get l(): number { return (this.ar >> 13) & 1; }
  get db(): number { return (this.ar >> 14) & 1; }
  get g(): number { return (this.ar >> 15) & 1; }
  get unusable(): number { return (this.ar >> 16) & 1; }
}

/** Recompute the fast limit/type check window of a data/stack segment (SDM Vol. 3A 5.3, 5.4). */
export function updateSegmentChecks(s: Segment, realOrV86: boolean): void {
  const t = s.ar & 0xf;
  if (realOrV86) {
    // Real mode uses the cached limit (unreal mode) and ignores type.
    s.readable = s.writable = true;
    s.readLo = s.writeLo = 0; s.readHi = s.writeHi = s.limit;
    return;
  }
  if (s.ar & 0x10000 || !(s.ar & 0x80)) { // unusable or not present: every access faults
    s.readable = s.writable = false;
    s.readLo = s.writeLo = 1; s.readHi = s.writeHi = 0;
    return;
  }
  const code = (t & 8) !== 0;
  s.readable = !code || (t & 2) !== 0;
  s.writable = !code && (t & 2) !== 0;
  if (!code && (t & 4)) { // expand-down: valid offsets are limit+1 .. 0xffff or 0xffffffff
    s.readLo = s.limit + 1;
    s.readHi = (s.ar & 0x4000) ? 0xffffffff : 0xffff;
  } else {
    s.readLo = 0;
    s.readHi = s.limit;
  }
  if (!s.readable) { s.readLo = 1; s.readHi = 0; }
  s.writeLo = s.writable ? s.readLo : 1;
  s.writeHi = s.writable ? s.readHi : 0;
}

export class DescriptorTable {
  base = 0;
  limit = 0xffff;
}

/** 128-bit XMM registers as four 32-bit lanes each. */
export const XMM_COUNT = 16;

export class CpuState {
  /**
   * The state compiled code (jit/) shares with the interpreter: one 64 KiB WebAssembly memory per
   * processor holding the GPRs at offset 0 (and the block compiler's scratch after them).
   */
  readonly wasmMemory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  /** GPRs as 32-bit halves: R[2n] low, R[2n+1] high. */
  readonly R = new Int32Array(this.wasmMemory.buffer, 0, 32);
  /** The same 16 registers as whole 64-bit bit patterns (copies only: never arithmetic, NaN payloads pass unchanged). */
  readonly R64 = new Float64Array(this.wasmMemory.buffer, 0, 16);
  /** RIP as a JS number: a canonical address sign-extended from bit 47 (exact in a double). */
  rip = 0xfff0;
  /** RFLAGS except the arithmetic flags while they are held lazily (see flags.ts). */
  rflags = RFLAGS_FIXED;

  readonly seg: Segment[] = [0, 1, 2, 3, 4, 5, 6, 7].map(() => new Segment());
  readonly gdtr = new DescriptorTable();
  readonly idtr = new DescriptorTable();

  cr0 = CR0_ET | CR0_CD | CR0_NW;
  cr2 = 0;
  /** CR3 as a number (physical addresses fit in 52 bits). */
  cr3 = 0;
  cr4 = 0;
  cr8 = 0;
  efer = 0;
  xcr0 = 1;
  /** XINUSE bits XRSTOR set (exec/xsave.ts folds in the components not in their initial configuration). */
  xinuse = 0;
  /** DR0-DR3 as numbers (linear addresses), DR6, DR7. */
  readonly dr = [0, 0, 0, 0];
  dr6 = 0xffff0ff0;
  dr7 = 0x400;

  /** Current privilege level (CS.RPL, or SS.DPL per SDM 5.5). */
  cpl = 0;
  /** Code size of the current mode: 16, 32 or 64. */
  codeBits: 16 | 32 | 64 = 16;
  /** Stack size (SS.B or 64-bit mode): 16, 32 or 64. */
  stackBits: 16 | 32 | 64 = 16;

  // MSRs the core itself implements (SDM Vol. 4); others go to the MSR hook.
  star = 0; starHi = 0; lstarLo = 0; lstarHi = 0; cstarLo = 0; cstarHi = 0; sfmask = 0;
  kernelGsBase = 0;
  sysenterCs = 0; sysenterEsp = 0; sysenterEip = 0;
  pat = [0x00070406, 0x00070406];
  tscAux = 0;
  tscOffset = 0;
  /**
   * The host's cycle count minus this processor's icount while it runs (set by the hypervisor at
   * each entry: the other processors' instructions and skipped idle time), so the TSC is one
   * clock shared by every processor of the machine. 0 for a processor on its own.
   */
  clockBias = 0;
  miscEnable = 0x1800;
  apicBase = 0xfee00900;

  /** XMM0-15, 4 lanes each; MXCSR. */
  readonly xmm = new Int32Array(XMM_COUNT * 4);
  mxcsr = 0x1f80;
  /** The x87 state as an FXSAVE image (exec/x87.ts, mmx.ts, FXSAVE/FXRSTOR). */
  readonly fxArea = new Uint8Array(512);
  /** Times FERR# was signalled (an unmasked x87 exception reached a waiting instruction with CR0.NE = 0, AMD). */
  x87FerrCount = 0;
  constructor() {
    this.fxArea[0] = 0x40; // x87 FCW at power-up (SDM Vol. 3A Table 9-1); MXCSR is kept in `mxcsr`
  }

  /** Interruptibility (SDM Vol. 3C 24.4.2): blocking by STI / MOV SS for one instruction, NMI blocking. */
  stiShadow = false;
  movSsShadow = false;
  nmiBlocked = false;
  halted = false;

  /** RDRAND/RDSEED generator state (deterministic, per processor). */
  rngState = 0x2545f491;
  /** Counts retired instructions: drives the virtual TSC (no wall clock reaches the guest). */
  icount = 0;
}

/** Read a GPR as an unsigned 64-bit BigInt (API boundary only). */
export function getReg64(s: CpuState, r: number): bigint {
  return (BigInt(s.R[2 * r + 1] >>> 0) << 32n) | BigInt(s.R[2 * r] >>> 0);
}
export function setReg64(s: CpuState, r: number, v: bigint): void {
  s.R[2 * r] = Number(v & 0xffffffffn) | 0;
  s.R[2 * r + 1] = Number((v >> 32n) & 0xffffffffn) | 0;
}
/** Canonical signed-48 number <-> unsigned 64-bit BigInt, for RIP and linear addresses. */
export function addrToU64(a: number): bigint {
  return a < 0 ? (1n << 64n) + BigInt(a) : BigInt(a);
}
export function u64ToAddr(v: bigint): number {
  v &= (1n << 64n) - 1n;
  return v >= 1n << 63n ? Number(v - (1n << 64n)) : Number(v);
}
export function hex(v: number | bigint, width = 0): string {
  const b = typeof v === 'bigint' ? v : addrToU64(Math.trunc(v));
  return '0x' + b.toString(16).padStart(width, '0');
}

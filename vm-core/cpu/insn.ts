// The processor's own compact form of a decoded instruction. iced-x86 decodes each instruction
// once (decode.ts); the result is converted into an Insn and cached by physical address, so the
// execute loop never touches WASM-backed objects.
import type { Cpu } from './cpu';
import type { JitBlock } from './jit/jit';

export type Handler = (c: Cpu, i: Insn) => void;

// Operand kinds.
export const K_NONE = 0, K_REG = 1, K_MEM = 2, K_IMM = 3, K_SEG = 4, K_CR = 5, K_DR = 6, K_XMM = 7,
  K_REL = 8, K_FAR = 9, K_STR_SRC = 10, K_STR_DST = 11, K_MM = 12, K_OTHER = 13;

/** Register operand numbers: 0-15 GPRs, 16-19 the legacy high-byte registers AH, CH, DH, BH. */
export const AH_BASE = 16;
/** mBase value meaning RIP-relative. */
export const BASE_RIP = 16;

/**
 * Inline fast paths of the execute loop (cpu.ts run()): the hottest register forms are executed in
 * a switch instead of through `exec`, saving a megamorphic call per instruction. 0: use exec.
 */
export const FOP_NONE = 0, FOP_ADD32 = 1, FOP_SUB32 = 2, FOP_CMP32 = 3, FOP_XOR32 = 4, FOP_AND32 = 5, FOP_OR32 = 6,
  FOP_DEC32 = 7, FOP_INC32 = 8, FOP_JNZ64 = 9, FOP_JZ64 = 10, FOP_JMP64 = 11,
  /** MOV between a register and [base64 + disp] (64-bit code, no FS/GS): fd = 2 * reg, fs = 2 * base. */
  FOP_LD32 = 12, FOP_ST32 = 13, FOP_LD64 = 14, FOP_ST64 = 15,
  /** ADD [base64 + disp], r32 (same addressing): fd = 2 * source reg, fs = 2 * base. */
  FOP_ADDM32 = 16;

export class Insn {
  /** Inline fast-path operation (FOP_*) and its register operands as R[] indices. */
  fop = FOP_NONE;
  fd = 0;
  fs = 0;
  exec: Handler;
  /** iced-x86 Code value (for tables and names). */
  code = 0;
  /** Decode mode. */
  bits: 16 | 32 | 64 = 64;
  len = 0;
  /** Operand size in bytes of the instruction's main operand (1, 2, 4, 8; 16 for XMM). */
  osz = 4;
  /** Address size in bits. */
  asz: 16 | 32 | 64 = 64;
  k0 = K_NONE; k1 = K_NONE; k2 = K_NONE; k3 = K_NONE;
  r0 = 0; r1 = 0; r2 = 0; r3 = 0;
  /** Memory operand: base (-1 none, 0-15, BASE_RIP), index (-1 none), scale, displacement, segment. */
  mBase = -1; mIndex = -1; mScale = 1; disp = 0; seg = 3;
  /** Effective-address function specialised for this addressing form (decode.ts pickEa). */
  eaf: (c: Cpu, i: Insn) => number = eaGeneric;
  /** Size in bytes of the memory operand (0 when none or not meaningful). */
  msz = 0;
  /** True when the instruction carries a segment-override prefix. */
  segOverride = false;
  /** Immediate operand (low 32 bits, signed) and high 32 bits for 64-bit immediates. */
  imm = 0; immHi = 0;
  /** Second immediate (ENTER's level, a far pointer's selector). */
  imm2 = 0;
  /** Relative branch displacement from the next instruction. */
  rel = 0;
  /** Prefixes: 0 none, 1 REP/REPE, 2 REPNE; LOCK. */
  rep = 0;
  lock = false;
  /** Condition code 0-15 for Jcc/SETcc/CMOVcc (SDM encoding), -1 otherwise. */
  cc = -1;
  /** Mnemonic text for reports (lazily formatted by the debugger when needed). */
  mnemonic = '';
  /** Fall-through chaining in the execute loop: the successor decoded at nextRip in the same page. */
  next: Insn | undefined = undefined;
  nextRip = NaN;
  nextGen = -1;
  /** False once the page it was decoded from is invalidated (code written, map changed). */
  live = true;
  /** Block compiler (jit/jit.ts): times this block head ran, and its compiled block (null: not compilable). */
  jitHits = 0;
  jit: JitBlock | null | undefined = undefined;
  /** The raw bytes, for reports and the hypercall-patching logic. */
  bytes: Uint8Array = EMPTY;

  constructor(exec: Handler) {
    this.exec = exec;
  }
}

const EMPTY = new Uint8Array(0);
function eaGeneric(c: Cpu, i: Insn): number { return c.ea(i); }

// Decoding through iced-x86 (WASM), converted once into our Insn form. Only the cache-miss path
// comes here; the execute loop runs cached Insn objects.
import { Code, Decoder, DecoderError, DecoderOptions, EncodingKind, Mnemonic, OpKind, Register, MemorySize, MemorySizeExt, Instruction } from 'iced-x86';
import type { Cpu } from './cpu';
import {
  AH_BASE, BASE_RIP, Handler, Insn, K_CR, K_DR, K_FAR, K_IMM, K_MEM, K_MM, K_NONE, K_OTHER, K_REG, K_REL, K_SEG,
  K_STR_DST, K_STR_SRC, K_XMM,
} from './insn';

/** How an iced Register maps onto our operand kinds and numbers. */
const regKind = new Int8Array(512).fill(K_OTHER);
const regNum = new Int8Array(512);
const regSize = new Int8Array(512);
(function buildRegisterTables() {
  const set = (r: number, k: number, n: number, sz: number) => { regKind[r] = k; regNum[r] = n; regSize[r] = sz; };
  for (let n = 0; n < 4; n++) set(Register.AL + n, K_REG, n, 1);
  for (let n = 0; n < 4; n++) set(Register.AH + n, K_REG, AH_BASE + n, 1);
  for (let n = 4; n < 16; n++) set(Register.SPL + n - 4, K_REG, n, 1); // SPL..DIL, R8L..R15L
  for (let n = 0; n < 16; n++) set(Register.AX + n, K_REG, n, 2);
  for (let n = 0; n < 16; n++) set(Register.EAX + n, K_REG, n, 4);
  for (let n = 0; n < 16; n++) set(Register.RAX + n, K_REG, n, 8);
  for (let n = 0; n < 6; n++) set(Register.ES + n, K_SEG, n, 2);
  for (let n = 0; n < 16; n++) set(Register.CR0 + n, K_CR, n, 8);
  for (let n = 0; n < 16; n++) set(Register.DR0 + n, K_DR, n, 8);
  for (let n = 0; n < 16; n++) set(Register.XMM0 + n, K_XMM, n, 16);
  for (let n = 0; n < 8; n++) set(Register.MM0 + n, K_MM, n, 8);
})();

export function registerSize(r: number): number { return regSize[r]; }

// Handler registry indexed by iced Code. A factory may specialise on the decoded form.
export type HandlerFactory = (i: Insn) => Handler;
const factories: (HandlerFactory | undefined)[] = [];

/** Register the implementation of one or more iced Code values. */
export function define(codes: number | number[], h: Handler | { factory: HandlerFactory }): void {
  const f: HandlerFactory = typeof h === 'function' ? () => h : h.factory;
  for (const c of Array.isArray(codes) ? codes : [codes]) factories[c] = f;
}
export function isDefined(code: number): boolean { return factories[code] !== undefined; }

/** Handlers the decoder falls back to, installed by cpu.ts (avoids an import cycle). */
export const fallback: { invalid: Handler; notEmulated: Handler } = {
  invalid: () => { throw new Error('decoder fallback not installed'); },
  notEmulated: () => { throw new Error('decoder fallback not installed'); },
};

const scratch = new Instruction();

export interface DecodeResult {
  insn: Insn;
  /** true when the bytes ran out (the caller must supply more or raise #PF on the next page). */
  needMore: boolean;
}

function sx32(v: number): number { return v | 0; }
/** iced 64-bit values (BigInt) as signed JS numbers. */
function big2num(v: bigint): number { return Number(BigInt.asIntN(64, v)); }

/**
 * Decode one instruction from `bytes` (up to 15 valid bytes) in the given mode.
 * `needMore` is set if the instruction continues past the bytes supplied.
 */
export function decodeInsn(bytes: Uint8Array, bits: 16 | 32 | 64): DecodeResult {
  const dec = new Decoder(bits, bytes, DecoderOptions.None);
  try {
    dec.ip = 0n;
    dec.decodeOut(scratch);
    const err = dec.lastError;
    if (scratch.isInvalid || scratch.code === Code.INVALID) {
      const insn = new Insn(fallback.invalid);
      insn.bits = bits;
      insn.len = 1;
      insn.bytes = bytes.slice(0, Math.min(bytes.length, 15));
      insn.mnemonic = '(bad)';
      return { insn, needMore: err === DecoderError.NoMoreBytes && bytes.length < 15 };
    }
    prefixBytes = bytes;
    return { insn: convert(scratch, bits, bytes), needMore: false };
  } finally {
    dec.free();
  }
}

function convert(x: Instruction, bits: 16 | 32 | 64, bytes: Uint8Array): Insn {
  const insn = new Insn(fallback.notEmulated);
  insn.code = x.code;
  insn.bits = bits;
  insn.len = x.length;
  insn.bytes = bytes.slice(0, x.length);
  insn.mnemonic = Mnemonic[x.mnemonic]?.toLowerCase() ?? '?';
  insn.rep = x.hasRepePrefix ? 1 : x.hasRepnePrefix ? 2 : 0;
  insn.lock = x.hasLockPrefix;
  insn.segOverride = x.segmentPrefix !== Register.None;

  const n = x.opCount;
  let osz = 0;
  for (let k = 0; k < n && k < 4; k++) {
    const kind = x.opKind(k);
    let ok = K_NONE, or = 0;
    switch (kind) {
      case OpKind.Register: {
        const r = x.opRegister(k);
        ok = regKind[r]; or = regNum[r];
        // DX as the port of OUT/OUTS is an address, not the data (SDM Vol. 2 OUT: `out dx, al` writes a byte).
        if (ok === K_REG && osz === 0 && !(k === 0 && isPortDx(x, r))) osz = regSize[r];
        if (ok === K_XMM && osz === 0) osz = 16;
        break;
      }
      case OpKind.Memory:
        ok = K_MEM;
        convertMemory(x, insn, bits);
        break;
      case OpKind.Immediate8: case OpKind.Immediate8to16: case OpKind.Immediate8to32: case OpKind.Immediate16:
      case OpKind.Immediate32: case OpKind.Immediate8to64: case OpKind.Immediate32to64: case OpKind.Immediate64: {
        ok = K_IMM;
        const v = x.immediate(k);
        if (insn.k0 === K_IMM || insn.k1 === K_IMM) { insn.imm2 = Number(BigInt.asUintN(32, v)); }
        else { insn.imm = Number(BigInt.asIntN(32, v)); insn.immHi = Number(BigInt.asIntN(32, v >> 32n)); }
        break;
      }
      case OpKind.Immediate8_2nd:
        ok = K_IMM; insn.imm2 = x.immediate8_2nd;
        break;
      case OpKind.NearBranch16: ok = K_REL; or = 16; insn.rel = sx16(x.nearBranch16 - x.length); break;
      case OpKind.NearBranch32: ok = K_REL; or = 32; insn.rel = sx32(x.nearBranch32 - x.length); break;
      case OpKind.NearBranch64: ok = K_REL; or = 64; insn.rel = big2num(x.nearBranch64) - x.length; break;
      case OpKind.FarBranch16: ok = K_FAR; insn.imm = x.farBranch16; insn.imm2 = x.farBranchSelector; break;
      case OpKind.FarBranch32: ok = K_FAR; insn.imm = x.farBranch32 | 0; insn.imm2 = x.farBranchSelector; break;
      case OpKind.MemorySegSI: case OpKind.MemorySegESI: case OpKind.MemorySegRSI:
        ok = K_STR_SRC; convertStringMemory(x, insn, kind); break;
      case OpKind.MemorySegDI: case OpKind.MemorySegEDI: case OpKind.MemorySegRDI:
      case OpKind.MemoryESDI: case OpKind.MemoryESEDI: case OpKind.MemoryESRDI:
        ok = K_STR_DST; convertStringMemory(x, insn, kind); break;
      default: ok = K_OTHER;
    }
    if (k === 0) { insn.k0 = ok; insn.r0 = or; }
    else if (k === 1) { insn.k1 = ok; insn.r1 = or; }
    else if (k === 2) { insn.k2 = ok; insn.r2 = or; }
    else { insn.k3 = ok; insn.r3 = or; }
  }
  const msz = MemorySizeExt.size(x.memorySize);
  insn.msz = msz;
  // The main operand's size: a memory destination's own size (`shl dword [m], cl` is 4, not CL's 1),
  // else the first register's; PUSH imm has neither, its size is the stack pointer decrement.
  if (insn.k0 === K_MEM && msz >= 1 && msz <= 8 && (osz === 0 || insn.k1 === K_REG || insn.k2 === K_REG)) osz = msz;
  if (osz === 0 && n === 1 && insn.k0 === K_IMM && x.stackPointerIncrement < 0) osz = -x.stackPointerIncrement;
  if (osz === 0) osz = msz > 0 && msz <= 16 ? msz : defaultOperandSize(x, bits);
  insn.osz = osz;
  insn.asz = addressSize(x, bits);
  if (insn.k0 === K_MEM || insn.k1 === K_MEM || insn.k2 === K_MEM || insn.k3 === K_MEM) pickEa(insn);
  insn.cc = conditionCode(x);
  const f = factories[x.code];
  insn.exec = f ? f(insn) : absentFeature(x) ? fallback.invalid : fallback.notEmulated;
  return insn;
}

function sx16(v: number): number { return (v << 16) >> 16; }

/** Legacy instructions of features the processor does not advertise (CPUID: no RTM, WRMSRNS; no SMM). */
const ABSENT_MNEMONICS = new Set<number>([Mnemonic.Xbegin, Mnemonic.Xend, Mnemonic.Xabort, Mnemonic.Xtest, Mnemonic.Wrmsrns, Mnemonic.Rsm]);

/**
 * #UD, not "not emulated", for instructions of features the processor does not have: VEX/EVEX
 * forms (#UD unless XCR0 enables AVX state, which XSETBV here refuses: SDM Vol. 2 2.8), XOP and
 * 3DNow! (neither modelled vendor has them), RTM and WRMSRNS (not in CPUID), RSM outside SMM.
 */
function absentFeature(x: Instruction): boolean {
  return x.encoding !== EncodingKind.Legacy || ABSENT_MNEMONICS.has(x.mnemonic);
}

/** The DX port operand of OUT DX, acc / OUTS DX, m (the data size is the other operand's). */
function isPortDx(x: Instruction, r: number): boolean {
  if (r !== Register.DX) return false;
  const m = x.mnemonic;
  return m === Mnemonic.Out || m === Mnemonic.Outsb || m === Mnemonic.Outsw || m === Mnemonic.Outsd;
}

function convertMemory(x: Instruction, insn: Insn, bits: number): void {
  const b = x.memoryBase, ix = x.memoryIndex;
  insn.seg = regNum[x.memorySegment];
  if (b === Register.RIP || b === Register.EIP) {
    insn.mBase = BASE_RIP;
    insn.disp = big2num(x.memoryDisplacementU64) - x.length;
    if (b === Register.EIP) insn.disp = sx32(insn.disp);
  } else {
    insn.mBase = b === Register.None ? -1 : regNum[b];
    const d = x.memoryDisplacementU64;
    insn.disp = x.memoryDisplSize === 8 || bits === 64 ? big2num(d) : sx32(Number(BigInt.asUintN(32, d)));
  }
  insn.mIndex = ix === Register.None ? -1 : regNum[ix];
  insn.mScale = x.memoryIndexScale;
}

const CANON = 0x800000000000;
// Specialised effective-address forms (the common ones); everything else uses Cpu.ea().
const eaRip64 = (c: Cpu, i: Insn): number => c.rip + i.disp;
const eaBase64 = (c: Cpu, i: Insn): number => {
  const R = c.R, b = 2 * i.mBase;
  const v = R[b + 1] * 4294967296 + (R[b] >>> 0) + i.disp;
  return v >= -CANON && v < CANON ? v : c.ea(i);
};
const eaBaseIndex64 = (c: Cpu, i: Insn): number => {
  const R = c.R, b = 2 * i.mBase, x = 2 * i.mIndex;
  const v = R[b + 1] * 4294967296 + (R[b] >>> 0) + (R[x + 1] * 4294967296 + (R[x] >>> 0)) * i.mScale + i.disp;
  return v >= -CANON && v < CANON ? v : c.ea(i);
};
const eaBase32 = (c: Cpu, i: Insn): number => (c.R[2 * i.mBase] + i.disp) >>> 0;
const eaBaseIndex32 = (c: Cpu, i: Insn): number => (c.R[2 * i.mBase] + c.R[2 * i.mIndex] * i.mScale + i.disp) >>> 0;
const eaDisp32 = (_c: Cpu, i: Insn): number => i.disp >>> 0;

/** Pick the effective-address function for a decoded memory operand. */
function pickEa(insn: Insn): void {
  if (insn.asz === 64) {
    if (insn.mBase === BASE_RIP) insn.eaf = eaRip64;
    else if (insn.mBase >= 0 && insn.mIndex < 0) insn.eaf = eaBase64;
    else if (insn.mBase >= 0 && insn.mIndex >= 0) insn.eaf = eaBaseIndex64;
  } else if (insn.asz === 32) {
    if (insn.mBase >= 0 && insn.mBase !== BASE_RIP && insn.mIndex < 0) insn.eaf = eaBase32;
    else if (insn.mBase >= 0 && insn.mBase !== BASE_RIP && insn.mIndex >= 0) insn.eaf = eaBaseIndex32;
    else if (insn.mBase < 0 && insn.mIndex < 0) insn.eaf = eaDisp32;
  }
}

function convertStringMemory(x: Instruction, insn: Insn, kind: OpKind): void {
  // Source segment honours overrides; the destination is always ES (SDM Vol. 1 3.7.5).
  if (kind === OpKind.MemorySegSI || kind === OpKind.MemorySegESI || kind === OpKind.MemorySegRSI) insn.seg = regNum[x.memorySegment];
}

function addressSize(x: Instruction, bits: number): 16 | 32 | 64 {
  // The 0x67 prefix toggles the default address size (SDM Vol. 1 3.6.1).
  const has67 = hasPrefix(x, 0x67);
  if (bits === 64) return has67 ? 32 : 64;
  if (bits === 32) return has67 ? 16 : 32;
  return has67 ? 32 : 16;
}

function defaultOperandSize(x: Instruction, bits: number): number {
  const has66 = hasPrefix(x, 0x66);
  if (bits === 16) return has66 ? 4 : 2;
  return has66 ? 2 : 4;
}

// Legacy prefix scan of the raw bytes (the converter keeps the bytes).
let prefixBytes: Uint8Array = new Uint8Array(0);
function hasPrefix(x: Instruction, p: number): boolean {
  for (let k = 0; k < x.length && k < prefixBytes.length; k++) {
    const b = prefixBytes[k];
    if (b === p) return true;
    if (!(b === 0x66 || b === 0x67 || b === 0xf0 || b === 0xf2 || b === 0xf3 || b === 0x2e || b === 0x36 ||
      b === 0x3e || b === 0x26 || b === 0x64 || b === 0x65)) return false;
  }
  return false;
}

function conditionCode(x: Instruction): number {
  const c = x.conditionCode; // iced ConditionCode: None=0, o=1, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g
  return c === 0 ? -1 : c - 1;
}

export { Code, Register, MemorySize };

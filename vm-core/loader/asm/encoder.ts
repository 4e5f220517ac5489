// Instruction encoding: matches the operands against the forms of the mnemonic (opcode-table),
// encodes every matching form with iced-x86's Encoder and keeps the one NASM would pick: the
// shortest, ties broken by iced's Code order (which lists NASM's preferred form first), with
// NASM's rules for relocatable values (a label never gets a sign-extended imm8 or disp8) and
// its `mov r64, imm` -> `mov r32, imm32` optimisation.
import { Encoder, Instruction, OpCodeOperandKind as K, OpKind, Register } from 'iced-x86';
import { lookupMnemonic, OpEntry } from './opcode-table';
import { effectiveAddress, EffectiveAddress, AddressError } from './effective-address';
import { gprBySize, registerInfo, RegInfo } from './registers';
import type { Value } from './evaluate';
import type { Expr } from './expr';
import type { Body, Operand, MemOperand } from './statements';

export class EncodeError extends Error {
  constructor(message: string, public col: number) { super(message); }
}

export interface EncodeContext {
  bits: 16 | 32 | 64;
  addr: bigint;
  defaultRel: boolean;
  /** Evaluates an expression (registers allowed when `regs`). Throws ExprError. */
  evaluate(e: Expr, regs: boolean): Value;
  /** A branch that once needed the near form stays near (pass-to-pass convergence). */
  forceNear: boolean;
  warn(col: number, message: string): void;
}

export interface Encoded { bytes: Uint8Array; near: boolean }

type InsnBody = Extract<Body, { k: 'insn' }>;

type Resolved =
  | { kind: 'reg'; reg: RegInfo; col: number }
  | { kind: 'mem'; mem: MemOperand; ea: EffectiveAddress; v: Value; col: number }
  | { kind: 'imm'; v: Value; size?: number; strict?: boolean; short?: boolean; near?: boolean; far?: boolean; col: number }
  | { kind: 'farimm'; seg: Value; off: Value; size?: number; col: number };

const encoders = new Map<number, Encoder>();
function encoderFor(bits: number): Encoder {
  let e = encoders.get(bits);
  if (!e) { e = new Encoder(bits); encoders.set(bits, e); }
  return e;
}

const SEG_PREFIX: Record<string, number> = { es: 0x26, cs: 0x2e, ss: 0x36, ds: 0x3e, fs: 0x64, gs: 0x65 };

const REG_KINDS: Partial<Record<K, (r: RegInfo) => boolean>> = {};
function gpr(size: number) { return (r: RegInfo) => r.cls === 'gpr' && r.size === size; }
for (const k of [K.r8_reg, K.r8_opcode, K.r8_or_mem]) REG_KINDS[k] = gpr(1);
for (const k of [K.r16_reg, K.r16_rm, K.r16_opcode, K.r16_reg_mem, K.r16_or_mem]) REG_KINDS[k] = gpr(2);
for (const k of [K.r32_reg, K.r32_rm, K.r32_opcode, K.r32_vvvv, K.r32_reg_mem, K.r32_or_mem, K.r32_or_mem_mpx]) REG_KINDS[k] = gpr(4);
for (const k of [K.r64_reg, K.r64_rm, K.r64_opcode, K.r64_vvvv, K.r64_reg_mem, K.r64_or_mem, K.r64_or_mem_mpx]) REG_KINDS[k] = gpr(8);
REG_KINDS[K.seg_reg] = (r) => r.cls === 'seg';
for (const [k, n] of [[K.es, 'es'], [K.cs, 'cs'], [K.ss, 'ss'], [K.ds, 'ds'], [K.fs, 'fs'], [K.gs, 'gs'], [K.al, 'al'], [K.cl, 'cl'], [K.ax, 'ax'], [K.dx, 'dx'], [K.eax, 'eax'], [K.rax, 'rax']] as [K, string][]) {
  REG_KINDS[k] = (r) => r.name === n;
}
REG_KINDS[K.cr_reg] = (r) => r.cls === 'cr';
REG_KINDS[K.dr_reg] = (r) => r.cls === 'dr';
REG_KINDS[K.tr_reg] = (r) => r.cls === 'tr';
for (const k of [K.mm_reg, K.mm_rm, K.mm_or_mem]) REG_KINDS[k] = (r) => r.cls === 'mmx';
for (const k of [K.xmm_reg, K.xmm_rm, K.xmm_vvvv, K.xmm_or_mem, K.xmm_is4, K.xmmp3_vvvv]) REG_KINDS[k] = (r) => r.cls === 'xmm' && r.num < 16;
for (const k of [K.ymm_reg, K.ymm_rm, K.ymm_vvvv, K.ymm_or_mem, K.ymm_is4]) REG_KINDS[k] = (r) => r.cls === 'ymm' && r.num < 16;
for (const k of [K.k_reg, K.k_rm, K.k_vvvv, K.k_or_mem]) REG_KINDS[k] = (r) => r.cls === 'k';
REG_KINDS[K.st0] = (r) => r.name === 'st0';
REG_KINDS[K.sti_opcode] = (r) => r.cls === 'st';
for (const k of [K.bnd_reg, K.bnd_or_mem_mpx]) REG_KINDS[k] = (r) => r.cls === 'bnd';

const MEM_KINDS = new Set<K>([K.mem, K.r8_or_mem, K.r16_or_mem, K.r32_or_mem, K.r32_or_mem_mpx, K.r64_or_mem, K.r64_or_mem_mpx,
  K.mm_or_mem, K.xmm_or_mem, K.ymm_or_mem, K.k_or_mem, K.bnd_or_mem_mpx, K.mem_mpx]);
const IMM_SIZE: Partial<Record<K, number>> = {
  [K.imm8]: 1, [K.imm8_const_1]: 1, [K.imm8sex16]: 1, [K.imm8sex32]: 1, [K.imm8sex64]: 1,
  [K.imm16]: 2, [K.imm32]: 4, [K.imm32sex64]: 4, [K.imm64]: 8, [K.imm4_m2z]: 1,
};
const SHORT_BR = new Set<K>([K.br16_1, K.br32_1, K.br64_1]);
const NEAR_BR = new Set<K>([K.br16_2, K.br32_4, K.br64_4]);
const SEX8 = new Set<K>([K.imm8sex16, K.imm8sex32, K.imm8sex64]);
const LENIENT = 10;
/** Instructions whose r/m16 source NASM encodes without an operand-size prefix (the size does not matter). */
const SIZELESS_R16 = new Set(['lar', 'lsl', 'lldt', 'ltr', 'verr', 'verw', 'lmsw', 'mov', 'arpl']);

function fitsImm(k: K, v: bigint): boolean {
  switch (k) {
    case K.imm8: case K.imm4_m2z: return v >= -128n && v <= 255n;
    case K.imm8_const_1: return v === 1n;
    case K.imm8sex16: { if (v < -32768n || v > 65535n) return false; const s = BigInt.asIntN(16, v); return s >= -128n && s <= 127n; }
    case K.imm8sex32: { if (v < -(1n << 31n) || v > 0xffffffffn) return false; const s = BigInt.asIntN(32, v); return s >= -128n && s <= 127n; }
    case K.imm8sex64: return v >= -128n && v <= 127n;
    case K.imm16: return v >= -32768n && v <= 65535n;
    case K.imm32: return v >= -(1n << 31n) && v <= 0xffffffffn;
    case K.imm32sex64: return v >= -(1n << 31n) && v < (1n << 31n);
    case K.imm64: return true;
  }
  return false;
}

/** NASM checks the sign-extended byte forms on the value truncated to the operand size. */
function fitsSex8Truncated(k: K, v: bigint): boolean {
  const s = k === K.imm8sex16 ? BigInt.asIntN(16, v) : BigInt.asIntN(32, v);
  return s >= -128n && s <= 127n;
}

function modeOk(e: OpEntry, bits: number): boolean {
  return bits === 64 ? e.mode64 : bits === 32 ? e.mode32 : e.mode16;
}

interface Candidate { entry: OpEntry; ops: Resolved[]; swapped: boolean; penalty: number }

export function encodeInstruction(body: InsnBody, ctx: EncodeContext): Encoded {
  const raw: number[] = [];
  let rep: 'rep' | 'repe' | 'repne' | undefined;
  let lock = false;
  let seg: RegInfo | undefined;
  let osz: number | undefined, asz: number | undefined;
  for (const p of body.prefixes) {
    switch (p.name) {
      case 'lock': lock = true; break;
      case 'rep': rep = 'rep'; break;
      case 'repe': case 'repz': rep = 'repe'; break;
      case 'repne': case 'repnz': rep = 'repne'; break;
      case 'o16': osz = 16; break;
      case 'o32': osz = 32; break;
      case 'o64': osz = 64; break;
      case 'a16': asz = 16; break;
      case 'a32': asz = 32; break;
      case 'a64': asz = 64; break;
      case 'xacquire': raw.push(0xf2); break;
      case 'xrelease': raw.push(0xf3); break;
      case 'bnd': raw.push(0xf2); break;
      case 'nobnd': break;
      default: seg = registerInfo(p.name);
    }
  }
  if (!body.mnemonic) {
    // A line of prefixes only: emit them as bytes.
    if (lock) raw.push(0xf0);
    if (rep) raw.push(rep === 'repne' ? 0xf2 : 0xf3);
    if (seg) raw.push(SEG_PREFIX[seg.name]);
    if (osz && osz !== ctx.bits && !(osz === 32 && ctx.bits === 64)) raw.push(osz === 64 ? 0x48 : 0x66);
    if (asz && asz !== ctx.bits) raw.push(0x67);
    return { bytes: Uint8Array.from(raw), near: false };
  }
  const look = lookupMnemonic(body.mnemonic);
  if (!look) throw new EncodeError(`unknown instruction '${body.mnemonic}'`, body.mcol);
  let ops = body.operands.map((o) => resolve(o, ctx, seg));
  const name = body.mnemonic;
  // NASM encodes sldt r64 like sldt r32 (no REX.W).
  if (name === 'sldt' && ops.length === 1 && ops[0].kind === 'reg' && ops[0].reg.size === 8) { const r32 = gprBySize(ops[0].reg.num, 4); if (r32) ops = [{ ...ops[0], reg: r32 }]; }
  // aam/aad without an operand: base 10.
  if ((name === 'aam' || name === 'aad') && ops.length === 0) ops = [{ kind: 'imm', v: { n: 10n, rel: 0, unknown: false }, col: body.mcol }];
  // imul r, imm  ==  imul r, r, imm
  if (name === 'imul' && ops.length === 2 && ops[0].kind === 'reg' && ops[1].kind === 'imm') ops = [ops[0], ops[0], ops[1]];
  // NASM (-Ox): mov r64, imm32 that fits unsigned 32 bits -> mov r32, imm32 (zero-extends).
  if (name === 'mov' && ops.length === 2 && ops[0].kind === 'reg' && ops[0].reg.cls === 'gpr' && ops[0].reg.size === 8 && ops[1].kind === 'imm'
    && ops[1].v.rel === 0 && !ops[1].v.unknown && ops[1].v.n >= 0n && ops[1].v.n <= 0xffffffffn && !(ops[1].strict && ops[1].size === 8)) {
    const r32 = gprBySize(ops[0].reg.num, 4);
    if (r32) ops = [{ ...ops[0], reg: r32 }, ops[1]];
  }
  const osWanted = osz ?? look.os;
  const memOp = ops.find((o): o is Extract<Resolved, { kind: 'mem' }> => o.kind === 'mem');
  const orders: { ops: Resolved[]; swapped: boolean }[] = [{ ops, swapped: false }];
  if ((name === 'xchg' || name === 'test') && ops.length === 2) {
    const sw = { ops: [ops[1], ops[0]], swapped: true };
    if (name === 'xchg' && ops[0].kind === 'reg' && ops[1].kind === 'reg') orders.unshift(sw); else orders.push(sw);
  }
  const cands: Candidate[] = [];
  const hasOsMatch = !!osWanted && look.entries.some((e) => e.os === osWanted && modeOk(e, ctx.bits));
  let sawOsMismatch = false;
  for (const ord of orders) {
    for (const e of look.entries) {
      if (!modeOk(e, ctx.bits) || e.ops.length !== ord.ops.length) continue;
      if (osWanted && e.os && e.os !== osWanted) { sawOsMismatch = true; continue; }
      if (osWanted && !e.os && (look.os || hasOsMatch)) continue;
      if (asz && e.as && e.as !== asz) continue;
      let m = matchEntry(e, ord.ops, ctx);
      // Out-of-range immediates are accepted at a cost (NASM truncates with a warning).
      if (m === null) { const l = matchEntry(e, ord.ops, ctx, true); if (l !== null) m = l + LENIENT; }
      if (m === null) continue;
      cands.push({ entry: e, ops: ord.ops, swapped: ord.swapped, penalty: m });
    }
  }
  if (!cands.length) {
    const validSomewhere = look.entries.some((e) => e.ops.length === ops.length && matchEntry(e, ops, ctx, true) !== null);
    if (validSomewhere) throw new EncodeError(`instruction '${name}' with these operands is not valid in ${ctx.bits}-bit mode`, body.mcol);
    if (sawOsMismatch) throw new EncodeError(`invalid operand size for '${name}'`, body.mcol);
    throw new EncodeError(`invalid combination of opcode and operands for '${name}'`, body.mcol);
  }
  // A memory operand without a size must get it from another operand (NASM: "operation size not specified").
  if (memOp && memOp.mem.size === undefined) {
    const sizes = new Set(cands.filter((c) => c.ops.includes(memOp)).map((c) => c.entry.memSize));
    if (sizes.size > 1 && !['jmp', 'call', 'push', 'pop'].includes(name)) throw new EncodeError(`operation size not specified`, memOp.col);
  }
  let best: { bytes: Uint8Array; c: Candidate } | undefined;
  let lastErr = '';
  for (const c of cands) {
    let bytes: Uint8Array;
    try { bytes = encodeOne(c, ctx, { rep, lock, seg, asz }); } catch (e) { lastErr = e instanceof Error ? e.message : String(e); continue; }
    if (!best || c.penalty < best.c.penalty || (c.penalty === best.c.penalty && (bytes.length < best.bytes.length
      || (bytes.length === best.bytes.length && prefersSex8(c.entry) && !prefersSex8(best.c.entry))))) best = { bytes, c };
  }
  if (best && best.c.penalty % 100 >= LENIENT) ctx.warn(ops.find((o) => o.kind === 'imm')?.col ?? body.mcol, `value does not fit in the operand; truncated`);
  if (!best) {
    if (/distance|too far|fit in an i8|fit in i8/i.test(lastErr)) throw new EncodeError(`branch target out of range`, body.mcol);
    throw new EncodeError(`cannot encode '${name}': ${lastErr.replace(/ \(.*\)$/, '')}`, body.mcol);
  }
  const used = best.c.entry;
  // NASM's prefix order: lock/rep first, then segment, operand size, address size.
  const front: number[] = [];
  if (lock) front.push(0xf0);
  if (rep) front.push(rep === 'repne' ? 0xf2 : 0xf3);
  raw.unshift(...front);
  // Raw prefixes that the chosen form did not absorb.
  if (osz && !used.os && !look.os) {
    if (osz === 16 && ctx.bits !== 16) raw.push(0x66);
    else if (osz === 32 && ctx.bits === 16) raw.push(0x66);
  }
  if (asz && !used.as && !memOp && !isStringForm(used) && asz !== ctx.bits) raw.push(0x67);
  if (seg && !memOp && !isStringForm(used) && !used.allOps.includes(K.seg_rBX_al)) raw.splice(front.length, 0, SEG_PREFIX[seg.name]);
  const near = used.ops.some((k) => NEAR_BR.has(k));
  // NASM writes REX.W for invpcid r64 (the CPU ignores it).
  if (name === 'invpcid' && ctx.bits === 64) best.bytes = forceRexW(best.bytes);
  if (!raw.length) return { bytes: best.bytes, near };
  const out = new Uint8Array(raw.length + best.bytes.length);
  out.set(raw, 0); out.set(best.bytes, raw.length);
  return { bytes: out, near };
}

function forceRexW(b: Uint8Array): Uint8Array {
  const i = b.indexOf(0x0f);
  if (i < 0) return b;
  if (i > 0 && (b[i - 1] & 0xf0) === 0x40) { const c = b.slice(); c[i - 1] |= 8; return c; }
  const c = new Uint8Array(b.length + 1);
  c.set(b.subarray(0, i), 0); c[i] = 0x48; c.set(b.subarray(i), i + 1);
  return c;
}

function prefersSex8(e: OpEntry): boolean { return e.ops.some((k) => SEX8.has(k)); }

function isStringForm(e: OpEntry): boolean {
  return e.allOps.some((k) => k === K.seg_rSI || k === K.es_rDI || k === K.seg_rDI);
}

function resolve(o: Operand, ctx: EncodeContext, prefixSeg: RegInfo | undefined): Resolved {
  switch (o.kind) {
    case 'reg': return o;
    case 'mem': {
      const v = ctx.evaluate(o.expr, true);
      try {
        return { kind: 'mem', mem: o, ea: effectiveAddress(o, v, ctx.bits, ctx.defaultRel, prefixSeg), v, col: o.col };
      } catch (e) {
        if (e instanceof AddressError) throw new EncodeError(e.message, e.col);
        throw e;
      }
    }
    case 'imm': return { kind: 'imm', v: ctx.evaluate(o.expr, false), size: o.size, strict: o.strict, short: o.short, near: o.near, far: o.far, col: o.col };
    case 'farimm': return { kind: 'farimm', seg: ctx.evaluate(o.seg, false), off: ctx.evaluate(o.off, false), size: o.size, col: o.col };
  }
}

/** Returns a penalty (0 = preferred) when the form accepts the operands, or null. */
function matchEntry(e: OpEntry, ops: Resolved[], ctx: EncodeContext, lenient = false): number | null {
  // Prefer the mode's default operand size (NASM: push imm -> 68 id, not 66 68 iw).
  let penalty = e.os && (ctx.bits === 16 ? e.os !== 16 : e.os === 16) ? 100 : 0;
  for (let i = 0; i < ops.length; i++) {
    const k = e.ops[i];
    const o = ops[i];
    switch (o.kind) {
      case 'reg': {
        const f = REG_KINDS[k];
        if (!f || !f(o.reg)) {
          // lar/lsl r32, r16: NASM accepts the 16-bit register for an r32/m16 operand.
          if (!(e.memSize === 2 && (k === K.r32_or_mem || k === K.r64_or_mem || (k === K.r32_reg && e.name === 'arpl')) && o.reg.cls === 'gpr' && o.reg.size === 2 && SIZELESS_R16.has(e.name)
            && !(e.name === 'mov' && e.ops[0] !== K.seg_reg))) return null;
        }
        // xchg eax, eax in 64-bit mode is not 90 (that would be a nop that keeps rax's top half).
        if (k === K.r32_opcode && e.name === 'xchg' && ctx.bits === 64 && o.reg.name === 'eax') return null;
        if (o.reg.rexOnly && ctx.bits !== 64) return null;
        break;
      }
      case 'mem': {
        if (k === K.mem_offs) {
          if (!o.ea.absolute || o.ea.ripRel || o.mem.nosplit) return null;
          if (ctx.bits === 64 && o.mem.dispSize !== 8) return null;
          if (o.mem.size !== undefined && e.memSize && o.mem.size !== e.memSize) return null;
          break;
        }
        if (!MEM_KINDS.has(k)) return null;
        if ((e.name === 'movq' || e.name === 'movd') && (k === K.r64_or_mem) && e.ops.some((x) => x === K.xmm_reg || x === K.mm_reg)) return null;
        // [qword addr] in 64-bit mode: a 64-bit absolute address, only the moffs forms take it.
        if (ctx.bits === 64 && o.ea.absolute && !o.ea.ripRel && o.mem.dispSize === 8) return null;
        if (o.mem.far && !e.far) return null;
        if (!o.mem.far && e.far && o.mem.size === undefined) return null;
        // jmp/call far [mem] in 64-bit mode: NASM defaults to the m16:64 form.
        if (o.mem.far && o.mem.size === undefined && ctx.bits === 64 && e.far && e.os !== 64) return null;
        if (o.mem.size !== undefined) {
          if (e.far) { if (!o.mem.far && o.mem.size !== e.memSize) return null; }
          else if (e.memSize && o.mem.size !== e.memSize) return null;
        }
        break;
      }
      case 'imm': {
        if (SHORT_BR.has(k) || NEAR_BR.has(k)) {
          if (o.far) return null;
          if (o.short && !SHORT_BR.has(k)) return null;
          if (o.near && !NEAR_BR.has(k)) return null;
          if (!o.short && ctx.forceNear && SHORT_BR.has(k) && hasNearForm(e)) return null;
          if (o.size && e.os && o.size * 8 !== e.os) return null;
          break;
        }
        if (k === K.brdisp_2 || k === K.brdisp_4 || k === K.xbegin_2 || k === K.xbegin_4) return null;
        const isz = IMM_SIZE[k];
        if (isz === undefined) return null;
        const v = o.v;
        if (o.size !== undefined) {
          if (o.strict || o.size === 1) {
            if (isz !== o.size && !(k === K.imm32sex64 && o.size === 8)) return null;
            if (k === K.imm32sex64 && o.size === 8) penalty += 1;
          }
          else if (e.os && o.size * 8 !== e.os && !(isz === o.size)) return null;
        }
        if (k === K.imm8_const_1) { if (v.unknown || v.rel !== 0 || v.n !== 1n) return null; break; }
        if (v.unknown) break;
        if (v.rel !== 0 && SEX8.has(k)) return null;
        if (v.rel !== 0 && k === K.imm32sex64 && e.name === 'mov') penalty += 1;
        if (lenient && SEX8.has(k)) { if (!fitsSex8Truncated(k, v.n)) return null; }
        else if (!lenient && !fitsImm(k, v.n)) return null;
        break;
      }
      case 'farimm':
        if (k !== K.farbr2_2 && k !== K.farbr4_2) return null;
        if (o.size && e.os && o.size * 8 !== e.os) return null;
        break;
    }
  }
  return penalty;
}

const nearCache = new Map<string, boolean>();
function hasNearForm(e: OpEntry): boolean {
  let v = nearCache.get(e.name);
  if (v === undefined) {
    v = (lookupMnemonic(e.name)?.entries ?? []).some((x) => x.ops.some((k) => NEAR_BR.has(k)));
    nearCache.set(e.name, v);
  }
  return v;
}

function addrSizeFor(c: Candidate, ctx: EncodeContext, asz?: number): number {
  if (c.entry.as) return c.entry.as;
  if (asz) return asz;
  return ctx.bits;
}

function encodeOne(c: Candidate, ctx: EncodeContext, pre: { rep?: string; lock: boolean; seg?: RegInfo; asz?: number }): Uint8Array {
  const ins = Instruction.create(c.entry.code);
  try {
    let oi = 0;
    const as = addrSizeFor(c, ctx, pre.asz);
    for (let i = 0; i < c.entry.allOps.length; i++) {
      const k = c.entry.allOps[i];
      if (k === K.seg_rSI) { ins.setOpKind(i, as === 16 ? OpKind.MemorySegSI : as === 32 ? OpKind.MemorySegESI : OpKind.MemorySegRSI); continue; }
      if (k === K.seg_rDI) { ins.setOpKind(i, as === 16 ? OpKind.MemorySegDI : as === 32 ? OpKind.MemorySegEDI : OpKind.MemorySegRDI); continue; }
      if (k === K.es_rDI) { ins.setOpKind(i, as === 16 ? OpKind.MemoryESDI : as === 32 ? OpKind.MemoryESEDI : OpKind.MemoryESRDI); continue; }
      if (k === K.seg_rBX_al) {
        ins.setOpKind(i, OpKind.Memory);
        ins.memoryBase = as === 16 ? Register.BX : as === 32 ? Register.EBX : Register.RBX;
        ins.memoryIndex = Register.AL;
        ins.memoryIndexScale = 1;
        continue;
      }
      if (c.entry.ops.length === 0) {
        // Implicit register operands of string instructions (al/ax/eax/rax/dx).
        const reg = implicitReg(k);
        if (reg !== undefined) { ins.setOpKind(i, OpKind.Register); ins.setOpRegister(i, reg); }
        continue;
      }
      const o = c.ops[oi++];
      setOperand(ins, i, k, o, ctx, oi >= 2 && (c.entry.allOps[i - 1] === K.imm8 || c.entry.allOps[i - 1] === K.imm16));
    }
    if (pre.seg && (isStringForm(c.entry) || c.entry.allOps.includes(K.seg_rBX_al))) ins.segmentPrefix = pre.seg.iced;
    const enc = encoderFor(ctx.bits);
    // iced reports a form that cannot take the operands (a short branch out of range: every pass
    // tries it for each jump) with an Error; capturing its stack cost a fifth of assembling
    // 100,000 jumps. The message is all that is used.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      enc.encode(ins, ctx.addr);
    } catch (e) {
      enc.takeBuffer(); // a failed encode can leave partial bytes behind
      throw e;
    } finally {
      Error.stackTraceLimit = limit;
    }
    return enc.takeBuffer();
  } finally {
    ins.free();
  }
}

function implicitReg(k: K): Register | undefined {
  switch (k) {
    case K.al: return Register.AL;
    case K.ax: return Register.AX;
    case K.eax: return Register.EAX;
    case K.rax: return Register.RAX;
    case K.dx: return Register.DX;
    case K.cl: return Register.CL;
  }
  return undefined;
}

function setOperand(ins: Instruction, i: number, k: K, o: Resolved, ctx: EncodeContext, second: boolean): void {
  switch (o.kind) {
    case 'reg': {
      let r = o.reg;
      if (r.size === 2 && (k === K.r32_or_mem || k === K.r64_or_mem || k === K.r32_reg)) r = gprBySize(r.num, k === K.r64_or_mem ? 8 : 4) ?? r;
      ins.setOpKind(i, OpKind.Register);
      ins.setOpRegister(i, r.iced);
      return;
    }
    case 'mem': {
      const ea = o.ea;
      ins.setOpKind(i, OpKind.Memory);
      ins.memoryBase = ea.base;
      ins.memoryIndex = ea.index;
      ins.memoryIndexScale = ea.scale;
      ins.memoryDisplacement = ea.disp;
      ins.memoryDisplSize = ea.displSize;
      if (ea.seg !== Register.None) ins.segmentPrefix = ea.seg;
      return;
    }
    case 'farimm': {
      ins.setOpKind(i, k === K.farbr2_2 ? OpKind.FarBranch16 : OpKind.FarBranch32);
      ins.farBranchSelector = Number(BigInt.asUintN(16, o.seg.n));
      if (k === K.farbr2_2) ins.farBranch16 = Number(BigInt.asUintN(16, o.off.n));
      else ins.farBranch32 = Number(BigInt.asUintN(32, o.off.n));
      return;
    }
    case 'imm': {
      const n = o.v.unknown ? 0n : o.v.n;
      if (SHORT_BR.has(k) || NEAR_BR.has(k)) {
        // Unknown target in an early pass: pretend it is right here (optimistic short form).
        const t = o.v.unknown ? ctx.addr : n;
        if (k === K.br16_1 || k === K.br16_2) { ins.setOpKind(i, OpKind.NearBranch16); ins.nearBranch16 = Number(BigInt.asUintN(16, t)); }
        else if (k === K.br32_1 || k === K.br32_4) { ins.setOpKind(i, OpKind.NearBranch32); ins.nearBranch32 = Number(BigInt.asUintN(32, t)); }
        else { ins.setOpKind(i, OpKind.NearBranch64); ins.nearBranch64 = BigInt.asUintN(64, t); }
        return;
      }
      switch (k) {
        case K.imm8: case K.imm8_const_1: case K.imm4_m2z:
          if (second) { ins.setOpKind(i, OpKind.Immediate8_2nd); ins.immediate8_2nd = Number(BigInt.asUintN(8, n)); }
          else { ins.setOpKind(i, OpKind.Immediate8); ins.immediate8 = Number(BigInt.asUintN(8, n)); }
          return;
        case K.imm8sex16: ins.setOpKind(i, OpKind.Immediate8to16); ins.immediate8to16 = Number(BigInt.asIntN(8, n)); return;
        case K.imm8sex32: ins.setOpKind(i, OpKind.Immediate8to32); ins.immediate8to32 = Number(BigInt.asIntN(8, n)); return;
        case K.imm8sex64: ins.setOpKind(i, OpKind.Immediate8to64); ins.immediate8to64 = BigInt.asIntN(8, n); return;
        case K.imm16: ins.setOpKind(i, OpKind.Immediate16); ins.immediate16 = Number(BigInt.asUintN(16, n)); return;
        case K.imm32: ins.setOpKind(i, OpKind.Immediate32); ins.immediate32 = Number(BigInt.asUintN(32, n)); return;
        case K.imm32sex64: ins.setOpKind(i, OpKind.Immediate32to64); ins.immediate32to64 = BigInt.asIntN(32, n); return;
        case K.imm64: ins.setOpKind(i, OpKind.Immediate64); ins.immediate64 = BigInt.asUintN(64, n); return;
      }
      throw new EncodeError(`unsupported immediate operand`, o.col);
    }
  }
}

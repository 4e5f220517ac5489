// Memory operands: turns the value of "[fs: ebx + esi*4 + disp]" into base, index, scale,
// displacement and address size, the way NASM does (splitting [eax*2] into [eax+eax],
// [eax*3] into [eax+eax*2], keeping esp out of the index, RIP-relative under `rel`).
import { Register } from 'iced-x86';
import { registerInfo, RegInfo } from './registers';
import type { Value } from './evaluate';
import type { MemOperand } from './statements';

export interface EffectiveAddress {
  base: Register;
  index: Register;
  scale: number;
  /** Displacement, or the absolute target for RIP-relative operands. */
  disp: bigint;
  /** iced displacement size: 0 (none), 1 (shortest), 2/4/8 (full). */
  displSize: number;
  /** 16, 32 or 64. */
  addrSize: number;
  seg: Register;
  ripRel: boolean;
  /** No base or index: a plain address (candidate for the moffs forms). */
  absolute: boolean;
}

export class AddressError extends Error {
  constructor(message: string, public col: number) { super(message); }
}

export function effectiveAddress(mem: MemOperand, v: Value, bits: number, defaultRel: boolean, prefixSeg: RegInfo | undefined): EffectiveAddress {
  const terms: [RegInfo, bigint][] = [];
  for (const [name, c] of v.regs ?? []) {
    if (c === 0n) continue;
    const r = registerInfo(name);
    if (!r || r.cls !== 'gpr' || r.size === 1) throw new AddressError(`invalid effective address: '${name}' cannot be used for addressing`, mem.col);
    terms.push([r, c]);
  }
  const seg = mem.seg ?? prefixSeg;
  const segReg = seg ? seg.iced : Register.None;
  let base: RegInfo | undefined, index: RegInfo | undefined, scale = 1;
  if (terms.length > 2) throw new AddressError(`invalid effective address: too many registers`, mem.col);
  const sizes = new Set(terms.map(([r]) => r.size));
  if (sizes.size > 1) throw new AddressError(`invalid effective address: mixed register sizes`, mem.col);
  if (terms.length === 1) {
    const [r, c] = terms[0];
    if (c === 1n) base = r;
    else if (c === 2n || c === 4n || c === 8n) {
      if (c === 2n && !mem.nosplit) { base = r; index = r; scale = 1; }
      else { index = r; scale = Number(c); }
    } else if (c === 3n || c === 5n || c === 9n) { base = r; index = r; scale = Number(c - 1n); }
    else throw new AddressError(`invalid effective address: scale ${c}`, mem.col);
  } else if (terms.length === 2) {
    let [[r1, c1], [r2, c2]] = terms;
    if (c1 !== 1n && c2 === 1n) { [r1, c1, r2, c2] = [r2, c2, r1, c1]; }
    if (c1 !== 1n) throw new AddressError(`invalid effective address: two scaled registers`, mem.col);
    if (c2 !== 1n && c2 !== 2n && c2 !== 4n && c2 !== 8n) throw new AddressError(`invalid effective address: scale ${c2}`, mem.col);
    base = r1; index = r2; scale = Number(c2);
    // esp/rsp cannot be an index; swap when it is scaled by one.
    if (scale === 1 && index.num === 4 && index.size !== 2) { [base, index] = [index, base]; }
  }
  if (index && index.num === 4 && index.size !== 2) throw new AddressError(`invalid effective address: ${index.name} cannot be an index register`, mem.col);
  const regSize = base?.size ?? index?.size;
  let addrSize = regSize ? regSize * 8 : bits;
  if (addrSize === 16) {
    if (bits === 64) throw new AddressError(`16-bit addressing is not encodable in 64-bit mode`, mem.col);
    // 16-bit forms: [bx|bp] + [si|di]
    const regs = [base, index].filter((x): x is RegInfo => !!x);
    if (scale !== 1 && index) throw new AddressError(`invalid 16-bit effective address: no scaling`, mem.col);
    const b = regs.find((r) => r.name === 'bx' || r.name === 'bp');
    const i = regs.find((r) => r.name === 'si' || r.name === 'di');
    if (regs.length !== (b ? 1 : 0) + (i ? 1 : 0) || (regs.length === 2 && (!b || !i))) {
      throw new AddressError(`invalid 16-bit effective address`, mem.col);
    }
    base = b; index = i;
    // iced's 16-bit forms: [si] / [di] alone are a base.
    if (!base && index) { base = index; index = undefined; }
  }
  if (!regSize && mem.dispSize && mem.dispSize !== 1 && bits !== 64) addrSize = mem.dispSize * 8;
  const absolute = !base && !index;
  const ripRel = absolute && bits === 64 && !mem.abs && (mem.rel || (defaultRel && !(seg && (seg.name === 'fs' || seg.name === 'gs'))));
  let displSize: number;
  const full = addrSize === 16 ? 2 : addrSize === 32 ? 4 : 8;
  if (absolute) displSize = bits === 64 && !ripRel && mem.dispSize === 4 ? 4 : full;
  else if (v.rel !== 0 || (mem.dispSize !== undefined && mem.dispSize >= 2)) displSize = full;
  else if (mem.dispSize === 1) displSize = 1;
  else displSize = v.n === 0n ? 0 : 1;
  if (absolute && bits === 64 && displSize === 4) addrSize = 32;
  const disp = addrSize === 16 ? BigInt.asUintN(16, v.n) : addrSize === 32 && !ripRel ? BigInt.asUintN(32, v.n) : BigInt.asUintN(64, v.n);
  if (displSize === 1 && !v.unknown) {
    const s = addrSize === 16 ? BigInt.asIntN(16, v.n) : addrSize === 32 ? BigInt.asIntN(32, v.n) : v.n;
    if (mem.dispSize === 1 && (s < -128n || s > 127n)) throw new AddressError(`byte displacement out of range`, mem.col);
  }
  return {
    base: ripRel ? Register.RIP : base ? base.iced : Register.None,
    index: index ? index.iced : Register.None,
    scale, disp, displSize: ripRel ? 8 : displSize, addrSize, seg: segReg, ripRel, absolute,
  };
}

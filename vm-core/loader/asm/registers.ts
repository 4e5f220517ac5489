// Register names as NASM spells them, with their class and size, mapped to iced-x86 registers.
import { Register } from 'iced-x86';

export type RegClass = 'gpr' | 'seg' | 'cr' | 'dr' | 'tr' | 'mmx' | 'xmm' | 'ymm' | 'zmm' | 'st' | 'k' | 'bnd';

export interface RegInfo {
  name: string;
  cls: RegClass;
  /** Size in bytes (gpr/seg/cr/dr) or vector width. */
  size: number;
  /** Register number 0..31 (for gprs: encoding number). */
  num: number;
  iced: Register;
  /** spl/bpl/sil/dil/r8b..: needs REX; ah..bh: cannot have REX. */
  rexOnly?: boolean;
  highByte?: boolean;
}

const table = new Map<string, RegInfo>();

function add(name: string, cls: RegClass, size: number, num: number, icedName: string, extra?: Partial<RegInfo>): void {
  const iced = (Register as unknown as Record<string, number>)[icedName];
  if (iced === undefined) return;
  table.set(name, { name, cls, size, num, iced, ...extra });
}

const r8 = ['al', 'cl', 'dl', 'bl'];
const r8h = ['ah', 'ch', 'dh', 'bh'];
const r16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
r8.forEach((n, i) => add(n, 'gpr', 1, i, n.toUpperCase()));
r8h.forEach((n, i) => add(n, 'gpr', 1, i + 4, n.toUpperCase(), { highByte: true }));
['spl', 'bpl', 'sil', 'dil'].forEach((n, i) => add(n, 'gpr', 1, i + 4, n.toUpperCase(), { rexOnly: true }));
r16.forEach((n, i) => {
  add(n, 'gpr', 2, i, n.toUpperCase());
  add('e' + n, 'gpr', 4, i, 'E' + n.toUpperCase());
  add('r' + n, 'gpr', 8, i, 'R' + n.toUpperCase());
});
for (let i = 8; i < 16; i++) {
  add(`r${i}`, 'gpr', 8, i, `R${i}`);
  add(`r${i}d`, 'gpr', 4, i, `R${i}D`);
  add(`r${i}w`, 'gpr', 2, i, `R${i}W`);
  add(`r${i}b`, 'gpr', 1, i, `R${i}L`, { rexOnly: true });
  add(`r${i}l`, 'gpr', 1, i, `R${i}L`, { rexOnly: true });
}
['es', 'cs', 'ss', 'ds', 'fs', 'gs'].forEach((n, i) => add(n, 'seg', 2, i, n.toUpperCase()));
for (let i = 0; i < 16; i++) {
  add(`cr${i}`, 'cr', 8, i, `CR${i}`);
  add(`dr${i}`, 'dr', 8, i, `DR${i}`);
  add(`tr${i}`, 'tr', 4, i, `TR${i}`);
}
for (let i = 0; i < 8; i++) {
  add(`mm${i}`, 'mmx', 8, i, `MM${i}`);
  add(`st${i}`, 'st', 10, i, `ST${i}`);
  add(`k${i}`, 'k', 8, i, `K${i}`);
}
for (let i = 0; i < 4; i++) add(`bnd${i}`, 'bnd', 16, i, `BND${i}`);
for (let i = 0; i < 32; i++) {
  add(`xmm${i}`, 'xmm', 16, i, `XMM${i}`);
  add(`ymm${i}`, 'ymm', 32, i, `YMM${i}`);
  add(`zmm${i}`, 'zmm', 64, i, `ZMM${i}`);
}

export function registerInfo(name: string): RegInfo | undefined {
  return table.get(name.toLowerCase());
}

export function isRegisterName(name: string): boolean {
  return table.has(name.toLowerCase());
}

/** General-purpose register of `size` bytes with encoding number `num` (for forms like mov r64->r32). */
export function gprBySize(num: number, size: number): RegInfo | undefined {
  for (const r of table.values()) if (r.cls === 'gpr' && r.size === size && r.num === num && !r.highByte && !(size === 1 && num >= 8 && r.name.endsWith('l'))) return r;
  return undefined;
}

// db/dw/dd/dq/dt/do/dy/dz operands (NASM manual 3.2.1): integers little-endian, strings padded
// to a multiple of the unit size, floating-point constants in IEEE single/double/extended.
import { floatBytes } from './numbers';

/** Little-endian bytes of `v` in `size` bytes (two's complement). */
export function intBytes(v: bigint, size: number): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(Math.min(size, 8) * 8, v);
  for (let i = 0; i < size; i++) {
    if (i < 8) { out.push(Number(x & 0xffn)); x >>= 8n; }
    else out.push(v < 0n ? 0xff : 0);
  }
  return out;
}

/** True when `v` fits in `size` bytes as a signed or an unsigned number. */
export function fitsData(v: bigint, size: number): boolean {
  if (size >= 8) return true;
  const bits = BigInt(size * 8);
  return v >= -(1n << (bits - 1n)) && v < (1n << bits);
}

export function stringBytes(s: string, size: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff);
  while (size > 1 && out.length % size !== 0) out.push(0);
  if (out.length === 0 && size > 1) for (let i = 0; i < size; i++) out.push(0);
  return out;
}

/** IEEE 754 x87 80-bit extended precision (for dt). */
export function float80(text: string): number[] | undefined {
  const v = Number(text.replace(/_/g, ''));
  if (!Number.isFinite(v)) return undefined;
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v, true);
  const bits = b.getBigUint64(0, true);
  const sign = Number(bits >> 63n);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  let e80 = 0, mant = 0n;
  if (exp === 0 && frac === 0n) { e80 = 0; mant = 0n; }
  else if (exp === 0) {
    // Subnormal double: normalise.
    let f = frac, e = -1022;
    while (!(f & (1n << 52n))) { f <<= 1n; e--; }
    e80 = e + 16383; mant = f << 11n;
  } else { e80 = exp - 1023 + 16383; mant = ((1n << 52n) | frac) << 11n; }
  const out = intBytes(mant, 8);
  const se = (sign << 15) | e80;
  out.push(se & 0xff, (se >> 8) & 0xff);
  return out;
}

export function floatData(text: string, size: number): number[] | undefined {
  if (size === 10) return float80(text);
  if (size === 4 || size === 8) return floatBytes(text, size);
  return undefined;
}

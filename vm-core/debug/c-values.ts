// C values the debugger shows: a DWARF type with the bytes read from guest memory or a frame's
// registers, formatted the way gdb prints them (decimal integers, `65 'A'`, `0x0`, `{a = 1, b = 2}`,
// `{0 <repeats 16 times>}`, `"abc\000"`, enumerator names, %g floats), and their children for
// the variables tree.
import { DW_ATE } from '../loader/dwarf/constants';
import { sizeOf, stripType, typeName, type CMember, type CType } from '../loader/dwarf/types';

export interface CValue {
  type: CType;
  /** The value's bytes (little-endian), when available. */
  bytes?: Uint8Array;
  /** Why the bytes are not available: `<optimized out>`, `<error: ...>`. */
  unavailable?: string;
  /** Guest-virtual address of the object, when it lives in memory (an lvalue). */
  addr?: bigint;
  /** The frame-0 register holding it (DWARF number), for writes. */
  reg?: number;
  /** A bit-field: bit offset within `bytes` and width. */
  bits?: { offset: number; size: number };
  /** Bits of `bytes` that are not available (pieces of the object optimized out), as a mask. */
  invalid?: bigint;
}

/** The part of `v` in bits [from, from+n): unavailable when any of those bits is. */
function subInvalid(v: CValue, from: number, n: number): bigint | undefined {
  if (!v.invalid) return undefined;
  const part = (v.invalid >> BigInt(from)) & ((1n << BigInt(n)) - 1n);
  return part === 0n ? undefined : part;
}

/** What formatting needs from the debugger: memory and symbols. */
export interface ValueEnv {
  read(addr: bigint, size: number): Uint8Array | undefined;
  /** `name` or `name+off` for an address inside a symbol (gdb's <symbol> annotation). */
  symbolize(addr: bigint, func: boolean): string | undefined;
  addressSize: number;
}

const REPEAT_THRESHOLD = 10; // gdb `set print repeats` default
const PRINT_MAX = 200; // gdb `set print elements` default

export function isIntegral(t: CType): boolean {
  const s = stripType(t);
  return (s.kind === 'base' && s.encoding !== DW_ATE.float && s.encoding !== DW_ATE.complex_float) || s.kind === 'enum' || s.kind === 'pointer';
}
export function isFloat(t: CType): boolean { const s = stripType(t); return s.kind === 'base' && s.encoding === DW_ATE.float; }
export function isSigned(t: CType): boolean {
  const s = stripType(t);
  if (s.kind === 'enum') return s.signed;
  return s.kind === 'base' && (s.encoding === DW_ATE.signed || s.encoding === DW_ATE.signed_char);
}

/** The value as an integer (sign-extended for signed types; bit-fields extracted). */
export function toBigInt(v: CValue): bigint | undefined {
  if (!v.bytes) return undefined;
  let x = 0n;
  for (let k = v.bytes.length - 1; k >= 0; k--) x = (x << 8n) | BigInt(v.bytes[k]);
  let bits = v.bytes.length * 8;
  if (v.bits) { x = (x >> BigInt(v.bits.offset)) & ((1n << BigInt(v.bits.size)) - 1n); bits = v.bits.size; }
  if (bits === 0) return 0n;
  return isSigned(v.type) ? BigInt.asIntN(bits, x) : BigInt.asUintN(bits, x);
}

export function toNumber(v: CValue): number | undefined {
  if (!v.bytes) return undefined;
  if (isFloat(v.type)) {
    const dv = new DataView(v.bytes.buffer, v.bytes.byteOffset, v.bytes.byteLength);
    if (v.bytes.length === 4) return dv.getFloat32(0, true);
    if (v.bytes.length === 8) return dv.getFloat64(0, true);
    if (v.bytes.length >= 10) return x87ToNumber(v.bytes);
    return undefined;
  }
  const b = toBigInt(v);
  return b === undefined ? undefined : Number(b);
}

/** An 80-bit x87 extended value (long double) as the nearest double. */
function x87ToNumber(b: Uint8Array): number {
  let mant = 0n;
  for (let k = 7; k >= 0; k--) mant = (mant << 8n) | BigInt(b[k]);
  const se = b[8] | (b[9] << 8);
  const sign = se & 0x8000 ? -1 : 1, exp = se & 0x7fff;
  if (exp === 0 && mant === 0n) return sign * 0;
  if (exp === 0x7fff) return (mant << 1n) === 0n ? sign * Infinity : NaN;
  return sign * Number(mant) * 2 ** (exp - 16383 - 63);
}

/** Bytes of an integer value for a type of `size` bytes. */
export function bytesOf(x: bigint, size: number): Uint8Array {
  const b = new Uint8Array(size);
  let v = BigInt.asUintN(size * 8 || 8, x);
  for (let k = 0; k < size; k++) { b[k] = Number(v & 0xffn); v >>= 8n; }
  return b;
}

export function floatBytes(n: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  if (size === 4) dv.setFloat32(0, n, true); else if (size === 8) dv.setFloat64(0, n, true);
  else throw new Error(`cannot store a ${size}-byte floating-point value`);
  return b;
}

/** A member of a struct/union value. */
export function memberValue(v: CValue, m: CMember): CValue {
  const size = m.bitSize !== undefined ? Math.ceil(((m.bitOffset ?? 0) + m.bitSize) / 8) : sizeOf(m.type);
  const out: CValue = { type: m.type, addr: v.addr !== undefined ? v.addr + BigInt(m.offset) : undefined, unavailable: v.unavailable };
  if (v.bytes) {
    if (m.offset + size > v.bytes.length) out.unavailable = '<error: member outside its object>';
    else out.bytes = v.bytes.subarray(m.offset, m.offset + size);
  }
  if (m.bitSize !== undefined) out.bits = { offset: m.bitOffset ?? 0, size: m.bitSize };
  const inv = subInvalid(v, m.offset * 8 + (m.bitOffset ?? 0), m.bitSize ?? size * 8);
  if (inv !== undefined) { out.bytes = undefined; out.unavailable = '<optimized out>'; }
  return out;
}

export function elementValue(v: CValue, element: CType, index: number): CValue {
  const es = sizeOf(element);
  const out: CValue = { type: element, addr: v.addr !== undefined ? v.addr + BigInt(index * es) : undefined, unavailable: v.unavailable };
  if (v.bytes) out.bytes = v.bytes.subarray(index * es, (index + 1) * es);
  if (v.invalid) {
    const inv = subInvalid(v, index * es * 8, es * 8);
    if (inv !== undefined) {
      const s = stripType(element);
      if (s.kind === 'struct' || s.kind === 'union' || s.kind === 'array') out.invalid = inv;
      else { out.bytes = undefined; out.unavailable = '<optimized out>'; }
    }
  }
  return out;
}

/** The object a pointer value points at (read from memory), or an error value. */
export function derefValue(env: ValueEnv, p: CValue, target: CType): CValue {
  const a = toBigInt(p);
  if (a === undefined) return { type: target, unavailable: p.unavailable ?? '<optimized out>' };
  return readObject(env, target, a);
}

export function readObject(env: ValueEnv, type: CType, addr: bigint): CValue {
  const size = sizeOf(type);
  if (size > 16 * 1024 * 1024) return { type, addr, unavailable: '<error: object too large>' };
  const bytes = env.read(addr, size);
  if (!bytes) return { type, addr, unavailable: `<error: Cannot access memory at address 0x${addr.toString(16)}>` };
  return { type, addr, bytes };
}

function isCharType(t: CType): boolean {
  const s = stripType(t);
  return s.kind === 'base' && s.size === 1 && (s.encoding === DW_ATE.signed_char || s.encoding === DW_ATE.unsigned_char);
}

// gdb's c_printchar / generic_emit_char: printable ASCII as is, the C escapes, the rest in octal.
function charBody(c: number, quote: string): string {
  const esc: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 27: '\\033' };
  if (esc[c]) return esc[c];
  if (c === 92) return '\\\\';
  if (String.fromCharCode(c) === quote) return '\\' + quote;
  if (c >= 32 && c < 127) return String.fromCharCode(c);
  return '\\' + c.toString(8).padStart(3, '0');
}

/** C's %g with `prec` significant digits, as gdb prints floats (%.9g float, %.17g double). */
export function formatG(n: number, prec: number): string {
  if (Number.isNaN(n)) return (Object.is(n, NaN) ? '' : '') + 'nan(0x8000000000000)';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  let s = n.toExponential(prec - 1);
  let e = Number(s.slice(s.indexOf('e') + 1));
  if (e < -4 || e >= prec) {
    let [m, x] = s.split('e');
    if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '');
    e = Number(x);
    return `${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  void exp;
  s = n.toFixed(Math.max(0, prec - 1 - e));
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/** The value as gdb prints it (`print`, `info locals`). `top`: pointers to char show their string. */
export function formatValue(env: ValueEnv, v: CValue, depth = 0): string {
  if (v.unavailable && !v.bytes) return v.unavailable;
  const t = stripType(v.type);
  if (v.invalid && t.kind !== 'struct' && t.kind !== 'union' && t.kind !== 'array') return '<optimized out>';
  switch (t.kind) {
    case 'void': return 'void';
    case 'base': {
      if (t.encoding === DW_ATE.float) {
        const n = toNumber(v);
        return n === undefined ? '<unavailable>' : formatG(n, t.size === 4 ? 9 : t.size === 8 ? 17 : 18);
      }
      const x = toBigInt(v);
      if (x === undefined) return '<unavailable>';
      if (t.encoding === DW_ATE.boolean) return x === 0n ? 'false' : x === 1n ? 'true' : String(x);
      if (isCharType(t)) return `${x} '${charBody(Number(BigInt.asUintN(8, x)), "'")}'`;
      return String(x);
    }
    case 'enum': {
      const x = toBigInt(v);
      if (x === undefined) return '<unavailable>';
      const hit = t.values.find(([, val]) => val === x);
      return hit ? hit[0] : String(x);
    }
    case 'pointer': {
      const x = toBigInt(v);
      if (x === undefined) return '<unavailable>';
      const addr = BigInt.asUintN(env.addressSize * 8, x);
      const hex = '0x' + addr.toString(16);
      const target = stripType(t.target());
      if (target.kind === 'function') {
        const s = env.symbolize(addr, true);
        return s ? `${hex} <${s}>` : hex;
      }
      if (isCharType(target) && addr !== 0n) {
        const s = readCString(env, addr);
        return s === undefined ? `${hex} <error: Cannot access memory at address ${hex}>` : `${hex} ${s}`;
      }
      const s = addr !== 0n ? env.symbolize(addr, false) : undefined;
      return s ? `${hex} <${s}>` : hex;
    }
    case 'struct': case 'union': {
      if (!t.members) return '<incomplete type>';
      if (depth > 8) return '{...}';
      return '{' + t.members.map((m) => `${m.name ?? ''}${m.name ? ' = ' : ''}${formatValue(env, memberValue(v, m), depth + 1)}`).join(', ') + '}';
    }
    case 'array': {
      const n = t.count ?? 0;
      if (isCharType(t.element)) return formatCharArray(v, n);
      if (depth > 8) return '{...}';
      const items: string[] = [];
      let shown = 0;
      for (let i = 0; i < n && shown < PRINT_MAX;) {
        const s = formatValue(env, elementValue(v, t.element, i), depth + 1);
        let j = i + 1;
        while (j < n && formatValue(env, elementValue(v, t.element, j), depth + 1) === s) j++;
        const reps = j - i;
        if (reps > REPEAT_THRESHOLD) { items.push(`${s} <repeats ${reps} times>`); i = j; shown += REPEAT_THRESHOLD; }
        else { items.push(s); i++; shown++; }
        if (shown >= PRINT_MAX && i < n) items.push('...');
      }
      return '{' + items.join(', ') + '}';
    }
    case 'function': return `{${typeName(v.type)}} 0x${(v.addr ?? 0n).toString(16)}${env.symbolize(v.addr ?? 0n, true) ? ` <${env.symbolize(v.addr ?? 0n, true)}>` : ''}`;
    default: return '?';
  }
}

// gdb's generic_printstr: runs longer than the repeat threshold as `'c' <repeats N times>`, the rest
// in quotes; a final NUL is not printed.
function formatCharArray(v: CValue, n: number): string {
  if (!v.bytes) return v.unavailable ?? '<unavailable>';
  let len = Math.min(n, v.bytes.length);
  const b = v.bytes;
  let truncated = false;
  if (len > PRINT_MAX) { len = PRINT_MAX; truncated = true; }
  // gdb (print null-stop off): drop trailing NULs only as a single final one.
  if (!truncated && len > 0 && b[len - 1] === 0) len--;
  if (len === 0) return '""';
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < len;) {
    let j = i + 1;
    while (j < len && b[j] === b[i]) j++;
    const reps = j - i;
    if (reps > REPEAT_THRESHOLD) {
      if (cur) { parts.push(`"${cur}"`); cur = ''; }
      parts.push(`'${charBody(b[i], "'")}' <repeats ${reps} times>`);
      i = j;
    } else { cur += charBody(b[i], '"'); i++; }
  }
  if (cur) parts.push(`"${cur}"`);
  return parts.join(', ') + (truncated ? '...' : '');
}

function readCString(env: ValueEnv, addr: bigint): string | undefined {
  let s = '';
  for (let i = 0; i < PRINT_MAX; i++) {
    const b = env.read(addr + BigInt(i), 1);
    if (!b) return i === 0 ? undefined : `"${s}"...`;
    if (b[0] === 0) return `"${s}"`;
    s += charBody(b[0], '"');
  }
  return `"${s}"...`;
}

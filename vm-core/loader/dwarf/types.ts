// C types from DWARF type entries (DWARF 5 §5): base, pointer, const/volatile/restrict, typedef,
// struct/union with bit-fields, arrays (multi-dimensional), enums, function types. Types are built
// on demand and cached by entry, so recursive types (a struct holding a pointer to itself) resolve.
import { DW_AT, DW_ATE, DW_TAG } from './constants';
import { formConstant } from './forms';
import type { Die, DieTree } from './dies';

export type CType =
  | { kind: 'void' }
  | { kind: 'base'; name: string; size: number; encoding: number }
  | { kind: 'pointer'; size: number; target: () => CType }
  | { kind: 'qualified'; qualifier: 'const' | 'volatile' | 'restrict' | '_Atomic'; target: CType }
  | { kind: 'typedef'; name: string; target: CType }
  | { kind: 'struct' | 'union'; name?: string; size: number; members: CMember[] | undefined }
  | { kind: 'array'; element: CType; count: number | undefined }
  | { kind: 'enum'; name?: string; size: number; signed: boolean; values: [string, bigint][] }
  | { kind: 'function'; returns: CType; params: CType[]; varargs: boolean; prototyped: boolean };

export interface CMember {
  name?: string;
  type: CType;
  /** Byte offset of the member (of its storage unit, for bit-fields). */
  offset: number;
  /** Bit-field: bit offset from `offset` (little-endian bit numbering) and width. */
  bitOffset?: number;
  bitSize?: number;
}

const VOID: CType = { kind: 'void' };
const MAX_MEMBERS = 65536;

export class TypeReader {
  private cache = new Map<number, CType>();
  constructor(private t: DieTree) {}

  /** The type of an entry's DW_AT_type, or void when absent. */
  typeOf(d: Die): CType {
    const td = this.t.typeOf(d);
    return td ? this.type(td) : VOID;
  }

  type(d: Die, depth = 0): CType {
    const hit = this.cache.get(d.offset);
    if (hit) return hit;
    if (depth > 64) return VOID;
    const t = this.t;
    const next = (): CType => { const x = t.ref(d, DW_AT.type); return x ? this.type(x, depth + 1) : VOID; };
    const size = formConstant(d.attrs.get(DW_AT.byte_size)) ?? 0;
    const name = t.str(d, DW_AT.name);
    let out: CType;
    switch (d.tag) {
      case DW_TAG.base_type:
        out = { kind: 'base', name: name ?? '?', size, encoding: formConstant(d.attrs.get(DW_AT.encoding)) ?? DW_ATE.signed };
        break;
      case DW_TAG.pointer_type: case DW_TAG.reference_type: {
        // The target is resolved when first needed: `struct node { struct node *next; }` refers to itself.
        let target: CType | undefined;
        out = { kind: 'pointer', size: size || d.unit.enc.addressSize, target: () => (target ??= next()) };
        break;
      }
      case DW_TAG.const_type: case DW_TAG.volatile_type: case DW_TAG.restrict_type: case DW_TAG.atomic_type: {
        const q = d.tag === DW_TAG.const_type ? 'const' : d.tag === DW_TAG.volatile_type ? 'volatile' : d.tag === DW_TAG.restrict_type ? 'restrict' : '_Atomic';
        out = { kind: 'qualified', qualifier: q, target: next() };
        break;
      }
      case DW_TAG.typedef: {
        const o: { kind: 'typedef'; name: string; target: CType } = { kind: 'typedef', name: name ?? '?', target: VOID };
        this.cache.set(d.offset, o);
        o.target = next();
        return o;
      }
      case DW_TAG.structure_type: case DW_TAG.union_type: {
        const o: CType & { kind: 'struct' | 'union' } = { kind: d.tag === DW_TAG.union_type ? 'union' : 'struct', name, size, members: undefined };
        this.cache.set(d.offset, o);
        if (!d.attrs.get(DW_AT.declaration)) o.members = this.members(d, depth);
        return o;
      }
      case DW_TAG.array_type: {
        const dims: (number | undefined)[] = [];
        for (const c of d.children) {
          if (c.tag !== DW_TAG.subrange_type) continue;
          const count = formConstant(c.attrs.get(DW_AT.count));
          const ub = c.attrs.get(DW_AT.upper_bound);
          const lb = formConstant(c.attrs.get(DW_AT.lower_bound)) ?? 0;
          let n: number | undefined = count;
          if (n === undefined && ub && ub.kind === 'const') {
            const u = ub.signed ? ub.value : ub.value >= 2 ** 31 && ub.value < 2 ** 32 ? ub.value - 2 ** 32 : ub.value;
            n = u - lb + 1;
            if (n < 0) n = 0;
          }
          dims.push(n);
        }
        if (dims.length === 0) dims.push(undefined);
        // §5.5: the first subrange is the outermost dimension.
        let el = next();
        for (let k = dims.length - 1; k >= 0; k--) el = { kind: 'array', element: el, count: dims[k] };
        out = el;
        break;
      }
      case DW_TAG.enumeration_type: {
        const values: [string, bigint][] = [];
        const base = this.t.ref(d, DW_AT.type);
        let signed = false;
        for (const c of d.children) {
          if (c.tag !== DW_TAG.enumerator) continue;
          const v = c.attrs.get(DW_AT.const_value);
          if (!v || v.kind !== 'const') continue;
          if (v.signed && v.value < 0) signed = true;
          values.push([t.str(c, DW_AT.name) ?? '?', BigInt(v.value)]);
        }
        if (base) { const bt = this.type(base, depth + 1); if (bt.kind === 'base') signed = bt.encoding === DW_ATE.signed || bt.encoding === DW_ATE.signed_char; }
        out = { kind: 'enum', name, size: size || 4, signed, values };
        break;
      }
      case DW_TAG.subroutine_type: case DW_TAG.subprogram: {
        const params: CType[] = [];
        let varargs = false;
        for (const c of d.children) {
          if (c.tag === DW_TAG.formal_parameter) params.push(this.typeOf(c));
          else if (c.tag === DW_TAG.unspecified_parameters) varargs = true;
        }
        out = { kind: 'function', returns: next(), params, varargs, prototyped: !!d.attrs.get(DW_AT.prototyped) };
        break;
      }
      case DW_TAG.unspecified_type:
        out = { kind: 'base', name: name ?? 'void', size: 0, encoding: 0 };
        break;
      default:
        out = VOID;
    }
    this.cache.set(d.offset, out);
    return out;
  }

  private members(d: Die, depth: number): CMember[] {
    const out: CMember[] = [];
    for (const c of d.children) {
      if (c.tag !== DW_TAG.member || out.length >= MAX_MEMBERS) continue;
      const type = this.typeOf(c);
      const m: CMember = { name: this.t.str(c, DW_AT.name), type, offset: 0 };
      const loc = c.attrs.get(DW_AT.data_member_location);
      if (loc?.kind === 'const') m.offset = loc.value;
      else if (loc?.kind === 'block' && loc.bytes[0] === 0x23) m.offset = ulebAt(loc.bytes, 1); // DW_OP_plus_uconst (DWARF 2)
      const bitSize = formConstant(c.attrs.get(DW_AT.bit_size));
      if (bitSize !== undefined) {
        m.bitSize = bitSize;
        const dbo = formConstant(c.attrs.get(DW_AT.data_bit_offset));
        if (dbo !== undefined) { m.offset = Math.floor(dbo / 8); m.bitOffset = dbo % 8; }
        else {
          // DWARF 2-3 §5.6.6: DW_AT_bit_offset counts from the most significant bit of the storage unit.
          const unit = formConstant(c.attrs.get(DW_AT.byte_size)) ?? sizeOf(type);
          const bo = formConstant(c.attrs.get(DW_AT.bit_offset)) ?? 0;
          m.bitOffset = unit * 8 - bo - bitSize;
        }
      }
      out.push(m);
    }
    void depth;
    return out;
  }
}

function ulebAt(b: Uint8Array, i: number): number {
  let v = 0, mul = 1;
  for (; i < b.length && mul < 2 ** 49; i++) { v += (b[i] & 0x7f) * mul; mul *= 128; if (!(b[i] & 0x80)) break; }
  return v;
}

/** The type with typedefs and qualifiers removed. */
export function stripType(t: CType): CType {
  for (let n = 0; n < 64 && (t.kind === 'typedef' || t.kind === 'qualified'); n++) t = t.target;
  return t;
}

export function sizeOf(t: CType): number {
  t = stripType(t);
  switch (t.kind) {
    case 'void': return 1; // gcc: sizeof(void) == 1
    case 'base': case 'pointer': case 'struct': case 'union': case 'enum': return t.size;
    case 'array': return (t.count ?? 0) * sizeOf(t.element);
    case 'function': return 1;
    default: return 0;
  }
}

/** The type as gdb's `ptype`/`whatis` names it: `struct node *`, `int [4][2]`, `const char *`, `void (*)(int)`. */
export function typeName(t: CType): string {
  return declarator(t, '').trim();
}

function declarator(t: CType, inner: string): string {
  switch (t.kind) {
    case 'void': return 'void' + (inner ? ' ' + inner : '');
    case 'base': return (GDB_BASE_NAMES[t.name] ?? t.name) + (inner ? ' ' + inner : '');
    case 'typedef': return t.name + (inner ? ' ' + inner : '');
    case 'struct': case 'union': return `${t.kind} ${t.name ?? '{...}'}` + (inner ? ' ' + inner : '');
    case 'enum': return `enum ${t.name ?? '{...}'}` + (inner ? ' ' + inner : '');
    case 'qualified': {
      const target = t.target;
      // gdb: `const int`, but `int * const` for a qualified pointer.
      if (stripQual(target).kind === 'pointer') return declarator(target, `${t.qualifier}${inner ? ' ' + inner : ''}`);
      return `${t.qualifier} ${declarator(target, inner)}`;
    }
    case 'pointer': {
      const target = t.target();
      const s = '*' + inner;
      if (target.kind === 'array' || target.kind === 'function') return declarator(target, `(${s})`);
      return declarator(target, s);
    }
    case 'array': return declarator(t.element, `${inner}[${t.count ?? ''}]`);
    case 'function': {
      const params = t.params.map(typeName);
      if (t.varargs) params.push('...');
      else if (params.length === 0 && t.prototyped) params.push('void');
      return declarator(t.returns, `${inner}(${params.join(', ')})`);
    }
  }
}

// gdb names GCC's DWARF base types the short C way (`long unsigned int` is `unsigned long`).
const GDB_BASE_NAMES: Record<string, string> = {
  'long unsigned int': 'unsigned long', 'long int': 'long', 'short int': 'short', 'short unsigned int': 'unsigned short',
  'long long int': 'long long', 'long long unsigned int': 'unsigned long long',
};

function stripQual(t: CType): CType {
  for (let n = 0; n < 64 && t.kind === 'qualified'; n++) t = t.target;
  return t;
}

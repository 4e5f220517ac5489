// C expressions over a C guest's variables (evaluate, watch, hover, data breakpoints by name), as
// gdb's `print` takes them: `p->next->val`, `arr[i]`, `*(u64 *)addr`, casts, `&x`, `sizeof`,
// member access through typedefs, arithmetic with C's conversions, `$rax` for registers.
// Our own recursive-descent parser (never eval); errors are ExprError with the 1-based column.
import { ExprError } from './expr';
import { DW_ATE } from '../loader/dwarf/constants';
import { sizeOf, stripType, typeName, type CType } from '../loader/dwarf/types';
import {
  bytesOf, derefValue, elementValue, floatBytes, isFloat, isIntegral, isSigned, memberValue, readObject, toBigInt, toNumber,
  type CValue, type ValueEnv,
} from './c-values';

/** What an expression is evaluated against: one frame of a stopped C guest. */
export interface CExprScope {
  env: ValueEnv;
  /** A variable visible in the frame (locals, then arguments, then globals). */
  variable(name: string): CValue | undefined;
  /** A register ($rax, $eip ...) as an integer. */
  register(name: string): bigint | undefined;
  /** A named type: typedef, base type, `struct x`, `union x`, `enum x`. */
  type(name: string): CType | undefined;
  /** Function symbols, for `&func` and function names. */
  functionAddress(name: string): bigint | undefined;
}

type Node =
  | { k: 'num'; v: bigint; type: CType; col: number }
  | { k: 'float'; v: number; col: number }
  | { k: 'id'; n: string; col: number }
  | { k: 'reg'; n: string; col: number }
  | { k: 'un'; op: string; a: Node; col: number }
  | { k: 'bin'; op: string; a: Node; b: Node; col: number }
  | { k: 'cond'; c: Node; a: Node; b: Node; col: number }
  | { k: 'cast'; t: TypeName; a: Node; col: number }
  | { k: 'sizeofT'; t: TypeName; col: number }
  | { k: 'index'; a: Node; i: Node; col: number }
  | { k: 'member'; a: Node; n: string; arrow: boolean; col: number };

interface TypeName { base: string; ptr: number; col: number; }
interface Tok { t: string; v: string; col: number; }

const BASE_WORDS = new Set(['unsigned', 'signed', 'char', 'short', 'int', 'long', 'float', 'double', '_Bool', 'void']);
const QUALS = new Set(['const', 'volatile', 'restrict']);

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (/\s/.test(ch)) { i++; continue; }
    const rest = src.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^(0x[0-9a-f]+|[0-9]+\.[0-9]*(e[-+]?[0-9]+)?|[0-9]+e[-+]?[0-9]+|0[0-7]*|[1-9][0-9]*)(u?l{0,2}u?|f)?/i.exec(rest))) {
      out.push({ t: 'num', v: m[0], col: i + 1 }); i += m[0].length; continue;
    }
    if ((m = /^'(\\(x[0-9a-f]{1,2}|[0-7]{1,3}|.)|[^'\\])'/i.exec(rest))) { out.push({ t: 'char', v: m[1], col: i + 1 }); i += m[0].length; continue; }
    if ((m = /^\$?[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) { out.push({ t: m[0][0] === '$' ? 'reg' : 'id', v: m[0], col: i + 1 }); i += m[0].length; continue; }
    const two = src.slice(i, i + 2);
    if (['->', '==', '!=', '<=', '>=', '<<', '>>', '&&', '||'].includes(two)) { out.push({ t: two, v: two, col: i + 1 }); i += 2; continue; }
    if ('+-*/%&|^~!<>()[]?:.'.includes(ch)) { out.push({ t: ch, v: ch, col: i + 1 }); i++; continue; }
    throw new ExprError(`unexpected character '${ch}'`, i + 1);
  }
  out.push({ t: 'end', v: '', col: src.length + 1 });
  return out;
}

const INT: CType = { kind: 'base', name: 'int', size: 4, encoding: DW_ATE.signed };
const UINT: CType = { kind: 'base', name: 'unsigned int', size: 4, encoding: DW_ATE.unsigned };
const LONG: CType = { kind: 'base', name: 'long', size: 8, encoding: DW_ATE.signed };
const ULONG: CType = { kind: 'base', name: 'unsigned long', size: 8, encoding: DW_ATE.unsigned };
const DOUBLE: CType = { kind: 'base', name: 'double', size: 8, encoding: DW_ATE.float };
const CHAR: CType = { kind: 'base', name: 'char', size: 1, encoding: DW_ATE.signed_char };

class Parser {
  private p = 0;
  constructor(private toks: Tok[], private isType: (name: string) => boolean) {}
  private peek(o = 0): Tok { return this.toks[Math.min(this.p + o, this.toks.length - 1)]; }
  private next(): Tok { return this.toks[this.p++]; }
  private expect(t: string): Tok {
    const k = this.next();
    if (k.t !== t) throw new ExprError(`expected '${t}' but found ${k.t === 'end' ? 'end of expression' : `'${k.v}'`}`, k.col);
    return k;
  }
  parseAll(): Node {
    const n = this.cond();
    const k = this.peek();
    if (k.t !== 'end') throw new ExprError(`unexpected '${k.v}'`, k.col);
    return n;
  }
  private cond(): Node {
    const c = this.binary(0);
    if (this.peek().t === '?') {
      const q = this.next();
      const a = this.cond();
      this.expect(':');
      return { k: 'cond', c, a, b: this.cond(), col: q.col };
    }
    return c;
  }
  private static LEVELS = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
  private binary(level: number): Node {
    if (level >= Parser.LEVELS.length) return this.unary();
    let a = this.binary(level + 1);
    while (Parser.LEVELS[level].includes(this.peek().t)) {
      const op = this.next();
      a = { k: 'bin', op: op.t, a, b: this.binary(level + 1), col: op.col };
    }
    return a;
  }
  private startsType(o: number): boolean {
    const k = this.peek(o);
    if (k.t !== 'id') return false;
    return BASE_WORDS.has(k.v) || QUALS.has(k.v) || k.v === 'struct' || k.v === 'union' || k.v === 'enum' || this.isType(k.v);
  }
  private typeName(): TypeName {
    const col = this.peek().col;
    const words: string[] = [];
    for (;;) {
      const k = this.peek();
      if (k.t !== 'id') break;
      if (QUALS.has(k.v)) { this.next(); continue; }
      if (k.v === 'struct' || k.v === 'union' || k.v === 'enum') {
        this.next();
        const tag = this.expect('id');
        words.push(`${k.v} ${tag.v}`);
        break;
      }
      if (BASE_WORDS.has(k.v)) { this.next(); words.push(k.v); continue; }
      if (words.length === 0 && this.isType(k.v)) { this.next(); words.push(k.v); break; }
      break;
    }
    while (this.peek().t === 'id' && QUALS.has(this.peek().v)) this.next();
    let ptr = 0;
    while (this.peek().t === '*') { this.next(); ptr++; while (this.peek().t === 'id' && QUALS.has(this.peek().v)) this.next(); }
    if (!words.length) throw new ExprError('expected a type name', col);
    return { base: words.join(' '), ptr, col };
  }
  private unary(): Node {
    const k = this.peek();
    if (['-', '~', '!', '*', '&', '+'].includes(k.t)) { this.next(); return { k: 'un', op: k.t, a: this.unary(), col: k.col }; }
    if (k.t === 'id' && k.v === 'sizeof') {
      this.next();
      if (this.peek().t === '(' && this.startsType(1)) { this.next(); const t = this.typeName(); this.expect(')'); return { k: 'sizeofT', t, col: k.col }; }
      return { k: 'un', op: 'sizeof', a: this.unary(), col: k.col };
    }
    if (k.t === '(' && this.startsType(1)) {
      this.next();
      const t = this.typeName();
      this.expect(')');
      return { k: 'cast', t, a: this.unary(), col: k.col };
    }
    return this.postfix();
  }
  private postfix(): Node {
    let n = this.primary();
    for (;;) {
      const k = this.peek();
      if (k.t === '[') { this.next(); const i = this.cond(); this.expect(']'); n = { k: 'index', a: n, i, col: k.col }; }
      else if (k.t === '.' || k.t === '->') { this.next(); const f = this.expect('id'); n = { k: 'member', a: n, n: f.v, arrow: k.t === '->', col: f.col }; }
      else return n;
    }
  }
  private primary(): Node {
    const k = this.next();
    if (k.t === 'num') return parseNumber(k);
    if (k.t === 'char') return { k: 'num', v: BigInt(charCode(k.v)), type: CHAR, col: k.col };
    if (k.t === 'id') return { k: 'id', n: k.v, col: k.col };
    if (k.t === 'reg') return { k: 'reg', n: k.v.slice(1), col: k.col };
    if (k.t === '(') { const e = this.cond(); this.expect(')'); return e; }
    throw new ExprError(k.t === 'end' ? 'unexpected end of expression' : `unexpected '${k.v}'`, k.col);
  }
}

function charCode(s: string): number {
  if (s[0] !== '\\') return s.charCodeAt(0);
  const e = s.slice(1);
  const esc: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34 };
  if (/^x/i.test(e)) return parseInt(e.slice(1), 16);
  if (/^[0-7]+$/.test(e)) return parseInt(e, 8);
  return esc[e] ?? e.charCodeAt(0);
}

function parseNumber(k: Tok): Node {
  const m = /^(.*?)(u?l{0,2}u?|f)?$/i.exec(k.v)!;
  const body = m[1], suffix = (m[2] ?? '').toLowerCase();
  if (/[.e]/i.test(body) && !/^0x/i.test(body)) return { k: 'float', v: Number(body), col: k.col };
  let v: bigint;
  try { v = /^0x/i.test(body) ? BigInt(body) : /^0[0-7]+$/.test(body) ? BigInt('0o' + body.slice(1)) : BigInt(body); } catch { throw new ExprError(`bad number '${k.v}'`, k.col); }
  if (v >= 1n << 64n) throw new ExprError(`number '${k.v}' does not fit in 64 bits`, k.col);
  const unsigned = suffix.includes('u');
  const long = suffix.includes('l') || v > 0xffffffffn || (!unsigned && v > 0x7fffffffn && !/^0x/i.test(body));
  const type = long ? (unsigned || v > 0x7fffffffffffffffn ? ULONG : LONG) : unsigned || v > 0x7fffffffn ? UINT : INT;
  return { k: 'num', v, type, col: k.col };
}

/** A parsed C expression. */
export class CExpression {
  private constructor(readonly source: string, private root: Node) {}

  static parse(source: string, isType: (name: string) => boolean): CExpression {
    if (source.length > 4096) throw new ExprError('expression too long', 1);
    return new CExpression(source, new Parser(tokenize(source), isType).parseAll());
  }

  evaluate(s: CExprScope): CValue {
    return new Evaluator(s).ev(this.root, 0);
  }
}

class Evaluator {
  private ptrSize: number;
  constructor(private s: CExprScope) { this.ptrSize = s.env.addressSize; }

  private fail(msg: string, col: number): never { throw new ExprError(msg, col); }

  private resolveType(t: TypeName): CType {
    let base = this.s.type(t.base) ?? builtinType(t.base, this.ptrSize);
    if (!base) this.fail(`no type named '${t.base}'`, t.col);
    for (let i = 0; i < t.ptr; i++) { const target: CType = base; base = { kind: 'pointer', size: this.ptrSize, target: () => target }; }
    return base;
  }

  private scalar(v: CValue, col: number): bigint {
    const x = toBigInt(v);
    if (x === undefined) this.fail(`value is ${v.unavailable ?? 'not available'}`, col);
    return x;
  }

  private int(x: bigint, t: CType): CValue { return { type: t, bytes: bytesOf(x, sizeOf(t)) }; }

  /** Arrays and functions decay to pointers in expressions (C11 6.3.2.1). */
  private decay(v: CValue, col: number): CValue {
    const t = stripType(v.type);
    if (t.kind === 'array') {
      if (v.addr === undefined) this.fail('array is not in memory', col);
      const el = t.element;
      return this.int(v.addr, { kind: 'pointer', size: this.ptrSize, target: () => el });
    }
    if (t.kind === 'function') {
      const ft = v.type;
      return this.int(v.addr ?? 0n, { kind: 'pointer', size: this.ptrSize, target: () => ft });
    }
    return v;
  }

  ev(n: Node, depth: number): CValue {
    if (depth > 200) this.fail('expression nested too deeply', 1);
    const d = depth + 1;
    switch (n.k) {
      case 'num': return this.int(n.v, n.type);
      case 'float': return { type: DOUBLE, bytes: floatBytes(n.v, 8) };
      case 'id': {
        const v = this.s.variable(n.n);
        if (v) return v;
        const f = this.s.functionAddress(n.n);
        if (f !== undefined) return { type: { kind: 'function', returns: INT, params: [], varargs: false, prototyped: false }, addr: f, bytes: new Uint8Array(1) };
        return this.fail(`No symbol "${n.n}" in current context.`, n.col);
      }
      case 'reg': {
        const r = this.s.register(n.n);
        if (r === undefined) return this.fail(`unknown register '$${n.n}'`, n.col);
        return this.int(r, this.ptrSize === 8 ? LONG : INT);
      }
      case 'cast': {
        const t = this.resolveType(n.t);
        return this.convert(this.decay(this.ev(n.a, d), n.col), t, n.col);
      }
      case 'sizeofT': return this.int(BigInt(sizeOf(this.resolveType(n.t))), ULONG);
      case 'member': {
        let v = this.ev(n.a, d);
        if (n.arrow) v = this.deref(this.decay(v, n.col), n.col);
        const t = stripType(v.type);
        if (t.kind !== 'struct' && t.kind !== 'union') this.fail(`'${n.n}': ${n.arrow ? 'left operand of -> is not a pointer to a struct or union' : 'not a struct or union'} (type ${typeName(v.type)})`, n.col);
        const m = t.members?.find((x) => x.name === n.n) ?? findAnonymous(t.members, n.n);
        if (!m) this.fail(`There is no member named ${n.n}.`, n.col);
        return memberValue(v, m);
      }
      case 'index': {
        const a = this.ev(n.a, d);
        const i = this.scalar(this.decay(this.ev(n.i, d), n.col), n.col);
        const at = stripType(a.type);
        if (at.kind === 'array' && a.bytes && (a.addr === undefined || (i >= 0n && i < BigInt(at.count ?? 0)))) {
          if (i < 0n || i >= BigInt(at.count ?? 0)) this.fail(`no such vector element`, n.col);
          return elementValue(a, at.element, Number(i));
        }
        const p = this.decay(a, n.col);
        const pt = stripType(p.type);
        if (pt.kind !== 'pointer') this.fail(`cannot subscript something of type '${typeName(a.type)}'`, n.col);
        const el = pt.target();
        const addr = this.scalar(p, n.col) + BigInt.asIntN(64, i) * BigInt(sizeOf(el));
        return this.read(el, addr, n.col);
      }
      case 'un': return this.unary(n, d);
      case 'cond': return this.truth(this.ev(n.c, d), n.col) ? this.ev(n.a, d) : this.ev(n.b, d);
      case 'bin': return this.binary(n, d);
    }
  }

  private read(type: CType, addr: bigint, col: number): CValue {
    const mask = this.ptrSize === 4 ? 0xffffffffn : (1n << 64n) - 1n;
    const v = readObject(this.s.env, type, addr & mask);
    if (!v.bytes && stripType(type).kind !== 'void') this.fail(`Cannot access memory at address 0x${(addr & mask).toString(16)}`, col);
    return v;
  }

  private deref(p: CValue, col: number): CValue {
    const t = stripType(p.type);
    if (t.kind !== 'pointer') this.fail(`Attempt to take contents of a non-pointer value.`, col);
    const target = t.target();
    if (stripType(target).kind === 'void') this.fail('Attempt to take contents of a void pointer.', col);
    if (stripType(target).kind === 'function') return { type: target, addr: this.scalar(p, col), bytes: new Uint8Array(1) };
    const v = derefValue(this.s.env, p, target);
    if (!v.bytes) this.fail(v.unavailable?.replace(/^<error: |>$/g, '') ?? 'value is not available', col);
    return v;
  }

  private truth(v: CValue, col: number): boolean {
    v = this.decay(v, col);
    if (isFloat(v.type)) return (toNumber(v) ?? 0) !== 0;
    return this.scalar(v, col) !== 0n;
  }

  private unary(n: Extract<Node, { k: 'un' }>, d: number): CValue {
    if (n.op === '&') {
      const v = this.ev(n.a, d);
      if (v.addr === undefined) this.fail('Attempt to take address of value not located in memory.', n.col);
      const t = v.type;
      return this.int(v.addr, { kind: 'pointer', size: this.ptrSize, target: () => t });
    }
    if (n.op === 'sizeof') return this.int(BigInt(sizeOf(this.ev(n.a, d).type)), ULONG);
    const v = this.decay(this.ev(n.a, d), n.col);
    if (n.op === '*') return this.deref(v, n.col);
    if (n.op === '!') return this.int(this.truth(v, n.col) ? 0n : 1n, INT);
    if (isFloat(v.type)) {
      if (n.op === '~') this.fail("Argument to complement operation not an integer", n.col);
      const x = toNumber(v)!;
      return { type: v.type, bytes: floatBytes(n.op === '-' ? -x : x, sizeOf(v.type)) };
    }
    const t = promote(v.type);
    const x = this.scalar(v, n.col);
    return this.int(n.op === '-' ? -x : n.op === '~' ? ~x : x, t);
  }

  private binary(n: Extract<Node, { k: 'bin' }>, d: number): CValue {
    if (n.op === '&&') return this.int(this.truth(this.ev(n.a, d), n.col) && this.truth(this.ev(n.b, d), n.col) ? 1n : 0n, INT);
    if (n.op === '||') return this.int(this.truth(this.ev(n.a, d), n.col) || this.truth(this.ev(n.b, d), n.col) ? 1n : 0n, INT);
    const a = this.decay(this.ev(n.a, d), n.col), b = this.decay(this.ev(n.b, d), n.col);
    const at = stripType(a.type), bt = stripType(b.type);
    // Pointer arithmetic (C11 6.5.6).
    if ((n.op === '+' || n.op === '-') && (at.kind === 'pointer' || bt.kind === 'pointer')) {
      if (at.kind === 'pointer' && bt.kind === 'pointer') {
        if (n.op === '+') this.fail('cannot add two pointers', n.col);
        const es = BigInt(Math.max(1, sizeOf(at.target())));
        return this.int((BigInt.asIntN(64, this.scalar(a, n.col) - this.scalar(b, n.col))) / es, LONG);
      }
      const [p, i] = at.kind === 'pointer' ? [a, b] : [b, a];
      if (n.op === '-' && at.kind !== 'pointer') this.fail('cannot subtract a pointer from an integer', n.col);
      const pt = stripType(p.type) as Extract<CType, { kind: 'pointer' }>;
      const es = BigInt(Math.max(1, sizeOf(pt.target())));
      const off = BigInt.asIntN(64, this.scalar(i, n.col)) * es;
      return this.int(this.scalar(p, n.col) + (n.op === '+' ? off : -off), p.type);
    }
    if (isFloat(a.type) || isFloat(b.type)) {
      const x = isFloat(a.type) ? toNumber(a)! : Number(this.scalar(a, n.col)), y = isFloat(b.type) ? toNumber(b)! : Number(this.scalar(b, n.col));
      const cmp = (r: boolean) => this.int(r ? 1n : 0n, INT);
      switch (n.op) {
        case '+': return { type: DOUBLE, bytes: floatBytes(x + y, 8) };
        case '-': return { type: DOUBLE, bytes: floatBytes(x - y, 8) };
        case '*': return { type: DOUBLE, bytes: floatBytes(x * y, 8) };
        case '/': return { type: DOUBLE, bytes: floatBytes(x / y, 8) };
        case '==': return cmp(x === y); case '!=': return cmp(x !== y);
        case '<': return cmp(x < y); case '<=': return cmp(x <= y); case '>': return cmp(x > y); case '>=': return cmp(x >= y);
      }
      this.fail(`Integer only operation ${n.op}.`, n.col);
    }
    if (!isIntegral(a.type) || !isIntegral(b.type)) this.fail(`Argument to arithmetic operation not a number or boolean.`, n.col);
    const t = n.op === '<<' || n.op === '>>' ? promote(a.type) : arith(a.type, b.type);
    const signed = isSigned(t);
    const bits = sizeOf(t) * 8;
    const norm = (x: bigint) => (signed ? BigInt.asIntN(bits, x) : BigInt.asUintN(bits, x));
    const x = norm(this.scalar(a, n.col)), y = n.op === '<<' || n.op === '>>' ? this.scalar(b, n.col) : norm(this.scalar(b, n.col));
    const cmp = (r: boolean) => this.int(r ? 1n : 0n, INT);
    switch (n.op) {
      case '+': return this.int(x + y, t);
      case '-': return this.int(x - y, t);
      case '*': return this.int(x * y, t);
      case '/': if (y === 0n) this.fail('Division by zero', n.col); return this.int(x / y, t);
      case '%': if (y === 0n) this.fail('Division by zero', n.col); return this.int(x % y, t);
      case '&': return this.int(x & y, t);
      case '|': return this.int(x | y, t);
      case '^': return this.int(x ^ y, t);
      case '<<': return this.int(y >= BigInt(bits) || y < 0n ? 0n : x << y, t);
      case '>>': return this.int(y >= BigInt(bits) || y < 0n ? (x < 0n ? -1n : 0n) : x >> y, t);
      case '==': return cmp(x === y); case '!=': return cmp(x !== y);
      case '<': return cmp(x < y); case '<=': return cmp(x <= y); case '>': return cmp(x > y); case '>=': return cmp(x >= y);
    }
    return this.fail(`unknown operator ${n.op}`, n.col);
  }

  private convert(v: CValue, t: CType, col: number): CValue {
    const st = stripType(t);
    if (st.kind === 'void') return { type: t };
    if (st.kind === 'struct' || st.kind === 'union' || st.kind === 'array') {
      if (sizeOf(v.type) !== sizeOf(t) || !v.bytes) this.fail(`Invalid cast.`, col);
      return { ...v, type: t };
    }
    if (isFloat(t)) {
      const x = isFloat(v.type) ? toNumber(v)! : Number(this.scalar(v, col));
      return { type: t, bytes: floatBytes(x, sizeOf(t)) };
    }
    const x = isFloat(v.type) ? BigInt(Math.trunc(toNumber(v)!)) : this.scalar(v, col);
    return this.int(x, t);
  }
}

function findAnonymous(members: { name?: string; type: CType; offset: number }[] | undefined, name: string) {
  for (const m of members ?? []) {
    const t = stripType(m.type);
    if (m.name || (t.kind !== 'struct' && t.kind !== 'union')) continue;
    const inner = t.members?.find((x) => x.name === name);
    if (inner) return { ...inner, offset: inner.offset + m.offset };
  }
  return undefined;
}

/** C11 6.3.1.1 integer promotions. */
function promote(t: CType): CType {
  const s = stripType(t);
  if (s.kind === 'pointer') return t;
  return sizeOf(s) < 4 ? INT : s.kind === 'enum' ? (s.signed ? INT : UINT) : s;
}

/** C11 6.3.1.8 usual arithmetic conversions (integers). */
function arith(a: CType, b: CType): CType {
  const x = promote(a), y = promote(b);
  const sx = sizeOf(x), sy = sizeOf(y);
  if (sx !== sy) return sx > sy ? x : y;
  if (!isSigned(x)) return x;
  if (!isSigned(y)) return y;
  return x;
}

/** C base types and the usual kernel typedefs for casts where DWARF has no such name. */
export function builtinType(name: string, ptrSize: number): CType | undefined {
  const n = name.replace(/\s+/g, ' ').trim();
  const u = (size: number, nm: string): CType => ({ kind: 'base', name: nm, size, encoding: DW_ATE.unsigned });
  const s = (size: number, nm: string): CType => ({ kind: 'base', name: nm, size, encoding: DW_ATE.signed });
  const L = ptrSize;
  const table: Record<string, CType> = {
    'char': CHAR, 'signed char': { kind: 'base', name: 'signed char', size: 1, encoding: DW_ATE.signed_char },
    'unsigned char': { kind: 'base', name: 'unsigned char', size: 1, encoding: DW_ATE.unsigned_char },
    'short': s(2, 'short'), 'short int': s(2, 'short'), 'unsigned short': u(2, 'unsigned short'), 'unsigned short int': u(2, 'unsigned short'),
    'int': INT, 'signed': INT, 'signed int': INT, 'unsigned': UINT, 'unsigned int': UINT,
    'long': s(L, 'long'), 'long int': s(L, 'long'), 'unsigned long': u(L, 'unsigned long'), 'unsigned long int': u(L, 'unsigned long'),
    'long long': s(8, 'long long'), 'long long int': s(8, 'long long'), 'unsigned long long': u(8, 'unsigned long long'), 'unsigned long long int': u(8, 'unsigned long long'),
    'float': { kind: 'base', name: 'float', size: 4, encoding: DW_ATE.float }, 'double': DOUBLE,
    '_Bool': { kind: 'base', name: '_Bool', size: 1, encoding: DW_ATE.boolean }, 'void': { kind: 'void' },
    'u8': u(1, 'u8'), 'u16': u(2, 'u16'), 'u32': u(4, 'u32'), 'u64': u(8, 'u64'),
    's8': s(1, 's8'), 's16': s(2, 's16'), 's32': s(4, 's32'), 's64': s(8, 's64'),
    'uint8_t': u(1, 'uint8_t'), 'uint16_t': u(2, 'uint16_t'), 'uint32_t': u(4, 'uint32_t'), 'uint64_t': u(8, 'uint64_t'),
    'int8_t': s(1, 'int8_t'), 'int16_t': s(2, 'int16_t'), 'int32_t': s(4, 'int32_t'), 'int64_t': s(8, 'int64_t'),
    'uintptr_t': u(L, 'uintptr_t'), 'ulong': u(L, 'ulong'), 'size_t': u(L, 'size_t'),
  };
  return table[n];
}

export function isBuiltinTypeName(name: string): boolean { return builtinType(name, 8) !== undefined && !BASE_WORDS.has(name); }

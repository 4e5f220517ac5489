// Evaluation of NASM expressions in 64-bit two's complement. A value remembers how many
// section-relative symbols it contains (`rel`, NASM's "relocatable" values: NASM never shrinks
// an immediate or displacement that holds one), whether it is not yet known (forward reference
// in an early pass), and register terms (for memory operands: [ebx+esi*4+8]).
import { Expr, ExprError } from './expr';

export interface Value {
  n: bigint;
  /** Net count of section-relative symbols ($, $$, labels). 0 = plain number. */
  rel: number;
  unknown: boolean;
  /** register name -> coefficient, for effective addresses. */
  regs?: Map<string, bigint>;
}

export interface SymbolValue { n: bigint; rel: number; unknown?: boolean }

export interface EvalContext {
  /** Resolves a symbol; undefined = not defined (error unless `allowUndefined`). */
  lookup(name: string, col: number): SymbolValue | undefined;
  here?: SymbolValue;
  start?: SymbolValue;
  /** Undefined symbols evaluate to an unknown 0 instead of an error (early passes). */
  allowUndefined?: boolean;
  /** Register terms are allowed (inside [ ]). */
  allowRegs?: boolean;
}

const w = (v: bigint) => BigInt.asIntN(64, v);
const u = (v: bigint) => BigInt.asUintN(64, v);
const bool = (b: boolean): bigint => (b ? 1n : 0n);

export function num(n: bigint): Value { return { n: w(n), rel: 0, unknown: false }; }

export function evaluate(e: Expr, ctx: EvalContext): Value {
  switch (e.k) {
    case 'num': return num(e.v);
    case 'float': throw new ExprError(`floating-point constant not allowed here`, e.col);
    case 'here':
      if (!ctx.here) throw new ExprError(`'$' is not allowed here`, e.col);
      return { n: ctx.here.n, rel: ctx.here.rel, unknown: !!ctx.here.unknown };
    case 'start':
      if (!ctx.start) throw new ExprError(`'$$' is not allowed here`, e.col);
      return { n: ctx.start.n, rel: ctx.start.rel, unknown: !!ctx.start.unknown };
    case 'sym': {
      if (e.name.startsWith('%reg:')) {
        const r = e.name.slice(5);
        if (!ctx.allowRegs) throw new ExprError(`register '${r}' not allowed in an expression`, e.col);
        return { n: 0n, rel: 0, unknown: false, regs: new Map([[r, 1n]]) };
      }
      const s = ctx.lookup(e.name, e.col);
      if (!s) {
        if (ctx.allowUndefined) return { n: 0n, rel: 1, unknown: true };
        throw new ExprError(`symbol '${e.name}' not defined`, e.col);
      }
      return { n: s.n, rel: s.rel, unknown: !!s.unknown };
    }
    case 'un': {
      const a = evaluate(e.a, ctx);
      if (e.op === '+') return a;
      if (e.op === '-') return { n: w(-a.n), rel: -a.rel, unknown: a.unknown, regs: scaleRegs(a.regs, -1n) };
      noRegs(a, e.col);
      if (e.op === '~') return { n: w(~a.n), rel: 0, unknown: a.unknown };
      return { n: bool(a.n === 0n), rel: 0, unknown: a.unknown };
    }
    case 'cond': {
      const c = evaluate(e.c, ctx);
      noRegs(c, e.col);
      const a = evaluate(e.a, ctx), b = evaluate(e.b, ctx);
      const r = c.n !== 0n ? a : b;
      return { ...r, unknown: r.unknown || c.unknown };
    }
    case 'bin': return binary(e.op, evaluate(e.a, ctx), evaluate(e.b, ctx), e.col);
  }
}

function scaleRegs(regs: Map<string, bigint> | undefined, k: bigint): Map<string, bigint> | undefined {
  if (!regs) return undefined;
  const m = new Map<string, bigint>();
  for (const [r, c] of regs) m.set(r, c * k);
  return m;
}

function addRegs(a?: Map<string, bigint>, b?: Map<string, bigint>, sign = 1n): Map<string, bigint> | undefined {
  if (!a && !b) return undefined;
  const m = new Map<string, bigint>(a ?? []);
  for (const [r, c] of b ?? []) m.set(r, (m.get(r) ?? 0n) + sign * c);
  return m;
}

function noRegs(v: Value, col: number): void {
  if (v.regs && [...v.regs.values()].some((c) => c !== 0n)) throw new ExprError(`invalid use of a register in an expression`, col);
}

function binary(op: string, a: Value, b: Value, col: number): Value {
  const unknown = a.unknown || b.unknown;
  if (op === '+') return { n: w(a.n + b.n), rel: a.rel + b.rel, unknown, regs: addRegs(a.regs, b.regs) };
  if (op === '-') return { n: w(a.n - b.n), rel: a.rel - b.rel, unknown, regs: addRegs(a.regs, b.regs, -1n) };
  if (op === '*') {
    const aR = a.regs && a.regs.size > 0, bR = b.regs && b.regs.size > 0;
    if (aR && bR) throw new ExprError(`invalid effective address: register times register`, col);
    if (aR) { noRel(b, col); return { n: w(a.n * b.n), rel: 0, unknown, regs: scaleRegs(a.regs, b.n) }; }
    if (bR) { noRel(a, col); return { n: w(a.n * b.n), rel: 0, unknown, regs: scaleRegs(b.regs, a.n) }; }
    return { n: w(a.n * b.n), rel: mulRel(a, b), unknown };
  }
  noRegs(a, col); noRegs(b, col);
  const plain = (n: bigint): Value => ({ n: w(n), rel: 0, unknown });
  switch (op) {
    case '/': case '//': case '%': case '%%': {
      if (b.n === 0n) {
        if (unknown) return plain(0n);
        throw new ExprError(`division by zero`, col);
      }
      if (op === '/') return plain(u(a.n) / u(b.n));
      if (op === '%') return plain(u(a.n) % u(b.n));
      if (op === '//') return plain(a.n / b.n);
      return plain(a.n % b.n);
    }
    case '<<': case '<<<': return plain(b.n >= 64n || b.n < 0n ? 0n : a.n << b.n);
    case '>>': return plain(b.n >= 64n || b.n < 0n ? 0n : u(a.n) >> b.n);
    case '>>>': return plain(b.n >= 64n || b.n < 0n ? (a.n < 0n ? -1n : 0n) : a.n >> b.n);
    case '&': return plain(a.n & b.n);
    case '|': return plain(a.n | b.n);
    case '^': return plain(a.n ^ b.n);
    case '&&': return plain(bool(a.n !== 0n && b.n !== 0n));
    case '||': return plain(bool(a.n !== 0n || b.n !== 0n));
    case '^^': return plain(bool((a.n !== 0n) !== (b.n !== 0n)));
    case '=': case '==': return plain(bool(a.n === b.n));
    case '!=': case '<>': return plain(bool(a.n !== b.n));
    case '<': return plain(bool(a.n < b.n));
    case '<=': return plain(bool(a.n <= b.n));
    case '>': return plain(bool(a.n > b.n));
    case '>=': return plain(bool(a.n >= b.n));
    case '<=>': return plain(a.n < b.n ? -1n : a.n > b.n ? 1n : 0n);
  }
  throw new ExprError(`unknown operator '${op}'`, col);
}

function noRel(v: Value, col: number): void {
  if (v.rel !== 0) throw new ExprError(`invalid effective address: label used as a scale`, col);
}

function mulRel(a: Value, b: Value): number {
  if (a.rel === 0 && b.rel === 0) return 0;
  if (a.rel !== 0 && b.rel === 0) return a.rel * Number(b.n);
  if (b.rel !== 0 && a.rel === 0) return b.rel * Number(a.n);
  return 1;
}

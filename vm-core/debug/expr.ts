// The debugger's expression language: breakpoint and exit-filter conditions, hit conditions,
// watch expressions and the Debug Console. Parsed by our own recursive-descent parser into an AST
// that is evaluated over 64-bit values (BigInt: this is the debugger's side, not the hot path).
// Never eval / new Function.
//
//   expr    := cond
//   cond    := or ('?' expr ':' expr)?
//   or      := and ('||' and)*            and := bitor ('&&' bitor)*
//   bitor   := bitxor ('|' bitxor)*       bitxor := bitand ('^' bitand)*
//   bitand  := eq ('&' eq)*               eq := rel (('=='|'!=') rel)*
//   rel     := shift (('<'|'<='|'>'|'>=') shift)*
//   shift   := add (('<<'|'>>') add)*     add := mul (('+'|'-') mul)*
//   mul     := unary (('*'|'/'|'%') unary)*
//   unary   := ('-'|'~'|'!') unary | postfix
//   postfix := primary ('.' name)*
//   primary := number | name | '(' expr ')' | size? '[' expr ']' | name '(' args ')'
//   size    := byte | word | dword | qword
//
// Names are resolved by the context: registers (rax, eax, ax, al, rip, cr0, efer...), exit fields
// (nr, port, msr, qual, reason...), symbols. `[x]` reads guest-virtual memory (qword by default),
// `gpa(x)` / `phys[x]` reads guest-physical memory.

export type Value = bigint;
const MASK64 = (1n << 64n) - 1n;

export class ExprError extends Error {
  constructor(message: string, readonly column: number) { super(message); }
}

/** An expression error for the user: the message and, for syntax errors, the 1-based column. */
export function exprErrorText(e: unknown): string {
  if (e instanceof ExprError) return e.column > 0 ? `${e.message} (column ${e.column})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

export interface EvalContext {
  /** Value of a name (register, exit field, symbol), or undefined when unknown. */
  lookup(name: string): Value | undefined;
  /** Read `size` bytes of guest memory (virtual unless physical); undefined when unmapped. */
  readMemory(addr: Value, size: number, physical: boolean): Value | undefined;
  /** Optional functions beyond gpa(): e.g. sx32(x). */
  call?(name: string, args: Value[]): Value | undefined;
}

type Node =
  | { k: 'num'; v: Value }
  | { k: 'name'; n: string; col: number }
  | { k: 'un'; op: string; a: Node }
  | { k: 'bin'; op: string; a: Node; b: Node; col: number }
  | { k: 'cond'; c: Node; a: Node; b: Node }
  | { k: 'mem'; size: number; addr: Node; phys: boolean; col: number }
  | { k: 'call'; n: string; args: Node[]; col: number }
  | { k: 'field'; a: Node; n: string };

interface Tok { t: string; v: string; col: number; }

const SIZES: Record<string, number> = { byte: 1, word: 2, dword: 4, qword: 8 };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (/\s/.test(ch)) { i++; continue; }
    const rest = src.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^(0x[0-9a-f_]+|0b[01_]+|0o[0-7_]+|[0-9][0-9a-f_]*h\b|[0-9][0-9_]*)/i.exec(rest))) {
      out.push({ t: 'num', v: m[1], col: i + 1 }); i += m[1].length; continue;
    }
    if ((m = /^[A-Za-z_$.@][A-Za-z0-9_$.@]*/.exec(rest))) {
      // '.' separates fields (hypercall.ret) but may also start local labels; split on '.'
      // after the first character so `run.hypercall.ret` parses as name + fields.
      const word = m[0];
      const parts = word.split('.');
      if (parts[0] === '') { out.push({ t: 'name', v: word, col: i + 1 }); i += word.length; continue; }
      let col = i + 1;
      out.push({ t: 'name', v: parts[0], col });
      col += parts[0].length;
      for (const p of parts.slice(1)) {
        out.push({ t: '.', v: '.', col }); col++;
        if (p) out.push({ t: 'name', v: p, col });
        col += p.length;
      }
      i += word.length;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '<<', '>>', '&&', '||'].includes(two)) { out.push({ t: two, v: two, col: i + 1 }); i += 2; continue; }
    if ('+-*/%&|^~!<>()[]?:,.'.includes(ch)) { out.push({ t: ch, v: ch, col: i + 1 }); i++; continue; }
    throw new ExprError(`unexpected character '${ch}'`, i + 1);
  }
  out.push({ t: 'end', v: '', col: src.length + 1 });
  return out;
}

function parseNumber(s: string, col: number): Value {
  const t = s.replace(/_/g, '').toLowerCase();
  let v: bigint;
  try {
    if (t.startsWith('0x') || t.startsWith('0b') || t.startsWith('0o')) v = BigInt(t);
    else if (t.endsWith('h')) v = BigInt('0x' + t.slice(0, -1));
    else if (/^[0-9]+$/.test(t)) v = BigInt(t);
    else throw new Error();
  } catch {
    throw new ExprError(`bad number '${s}'`, col);
  }
  if (v > MASK64) throw new ExprError(`number '${s}' does not fit in 64 bits`, col);
  return v;
}

class Parser {
  private p = 0;
  constructor(private toks: Tok[]) {}
  private peek(): Tok { return this.toks[this.p]; }
  private next(): Tok { return this.toks[this.p++]; }
  private expect(t: string): Tok {
    const k = this.next();
    if (k.t !== t) throw new ExprError(`expected '${t}' but found ${k.t === 'end' ? 'end of expression' : `'${k.v}'`}`, k.col);
    return k;
  }
  parseAll(): Node {
    const n = this.expr();
    const k = this.peek();
    if (k.t !== 'end') throw new ExprError(`unexpected '${k.v}'`, k.col);
    return n;
  }
  private expr(): Node {
    const c = this.binary(0);
    if (this.peek().t === '?') {
      this.next();
      const a = this.expr();
      this.expect(':');
      const b = this.expr();
      return { k: 'cond', c, a, b };
    }
    return c;
  }
  private static LEVELS = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
  private binary(level: number): Node {
    if (level >= Parser.LEVELS.length) return this.unary();
    let a = this.binary(level + 1);
    while (Parser.LEVELS[level].includes(this.peek().t)) {
      const op = this.next();
      const b = this.binary(level + 1);
      a = { k: 'bin', op: op.t, a, b, col: op.col };
    }
    return a;
  }
  private unary(): Node {
    const k = this.peek();
    if (k.t === '-' || k.t === '~' || k.t === '!') { this.next(); return { k: 'un', op: k.t, a: this.unary() }; }
    if (k.t === '+') { this.next(); return this.unary(); }
    return this.postfix();
  }
  private postfix(): Node {
    let n = this.primary();
    while (this.peek().t === '.') {
      this.next();
      const f = this.expect('name');
      n = { k: 'field', a: n, n: f.v };
    }
    return n;
  }
  private primary(): Node {
    const k = this.next();
    if (k.t === 'num') return { k: 'num', v: parseNumber(k.v, k.col) };
    if (k.t === '(') { const e = this.expr(); this.expect(')'); return e; }
    if (k.t === '[') { const a = this.expr(); this.expect(']'); return { k: 'mem', size: 8, addr: a, phys: false, col: k.col }; }
    if (k.t === 'name') {
      const lower = k.v.toLowerCase();
      if (SIZES[lower] && (this.peek().t === '[' || (this.peek().t === 'name' && this.peek().v.toLowerCase() === 'ptr'))) {
        if (this.peek().t === 'name') this.next();
        const open = this.expect('[');
        let phys = false;
        // `qword phys [x]` is not supported; physical reads use gpa(x) or phys[x].
        const a = this.expr();
        this.expect(']');
        return { k: 'mem', size: SIZES[lower], addr: a, phys, col: open.col };
      }
      if (lower === 'phys' && this.peek().t === '[') {
        this.next(); const a = this.expr(); this.expect(']');
        return { k: 'mem', size: 8, addr: a, phys: true, col: k.col };
      }
      if (this.peek().t === '(') {
        this.next();
        const args: Node[] = [];
        if (this.peek().t !== ')') {
          args.push(this.expr());
          while (this.peek().t === ',') { this.next(); args.push(this.expr()); }
        }
        this.expect(')');
        return { k: 'call', n: lower, args, col: k.col };
      }
      return { k: 'name', n: k.v, col: k.col };
    }
    throw new ExprError(k.t === 'end' ? 'unexpected end of expression' : `unexpected '${k.v}'`, k.col);
  }
}

/** A parsed expression, ready to evaluate many times. */
export class Expression {
  private constructor(readonly source: string, private root: Node) {}

  /** Parse; throws ExprError with a 1-based column on a syntax error. */
  static parse(source: string): Expression {
    if (source.length > 4096) throw new ExprError('expression too long', 1);
    return new Expression(source, new Parser(tokenize(source)).parseAll());
  }

  /** Names the expression refers to (for validation against a context's known names). */
  names(): string[] {
    const out = new Set<string>();
    const walk = (n: Node): void => {
      switch (n.k) {
        case 'name': out.add(n.n); break;
        case 'un': walk(n.a); break;
        case 'bin': walk(n.a); walk(n.b); break;
        case 'cond': walk(n.c); walk(n.a); walk(n.b); break;
        case 'mem': walk(n.addr); break;
        case 'call': n.args.forEach(walk); break;
        case 'field': walk(n.a); break;
      }
    };
    walk(this.root);
    return [...out];
  }

  /** Evaluate to an unsigned 64-bit value; throws ExprError for unknown names or unreadable memory. */
  evaluate(ctx: EvalContext): Value {
    return ev(this.root, ctx);
  }

  /** Evaluate as a condition: non-zero is true. */
  test(ctx: EvalContext): boolean {
    return this.evaluate(ctx) !== 0n;
  }
}

function fieldPath(n: Node): string | undefined {
  if (n.k === 'name') return n.n;
  if (n.k === 'field') { const p = fieldPath(n.a); return p === undefined ? undefined : p + '.' + n.n; }
  return undefined;
}

function signed(v: Value): bigint { return BigInt.asIntN(64, v); }

function ev(n: Node, ctx: EvalContext): Value {
  switch (n.k) {
    case 'num': return n.v;
    case 'name': {
      const v = ctx.lookup(n.n) ?? ctx.lookup(n.n.toLowerCase());
      if (v === undefined) throw new ExprError(`unknown name '${n.n}'`, n.col);
      return v & MASK64;
    }
    case 'field': {
      const path = fieldPath(n);
      const v = path === undefined ? undefined : ctx.lookup(path) ?? ctx.lookup(path.toLowerCase());
      if (v === undefined) throw new ExprError(`unknown field '${path ?? n.n}'`, 0);
      return v & MASK64;
    }
    case 'un': {
      const a = ev(n.a, ctx);
      if (n.op === '-') return (-a) & MASK64;
      if (n.op === '~') return (~a) & MASK64;
      return a === 0n ? 1n : 0n;
    }
    case 'cond': return ev(n.c, ctx) !== 0n ? ev(n.a, ctx) : ev(n.b, ctx);
    case 'mem': {
      const addr = ev(n.addr, ctx);
      const v = ctx.readMemory(addr, n.size, n.phys);
      if (v === undefined) throw new ExprError(`memory at 0x${addr.toString(16)} is not readable`, n.col);
      return v;
    }
    case 'call': {
      const args = n.args.map((a) => ev(a, ctx));
      if (n.n === 'gpa' || n.n === 'phys') {
        if (args.length < 1 || args.length > 2) throw new ExprError(`${n.n}(addr[, size]) takes 1 or 2 arguments`, n.col);
        const size = args.length === 2 ? Number(args[1]) : 8;
        if (![1, 2, 4, 8].includes(size)) throw new ExprError('size must be 1, 2, 4 or 8', n.col);
        const v = ctx.readMemory(args[0], size, true);
        if (v === undefined) throw new ExprError(`guest-physical 0x${args[0].toString(16)} is not backed by memory`, n.col);
        return v;
      }
      if (n.n === 'sx8' || n.n === 'sx16' || n.n === 'sx32') {
        if (args.length !== 1) throw new ExprError(`${n.n}(x) takes 1 argument`, n.col);
        const bits = Number(n.n.slice(2));
        return BigInt.asUintN(64, BigInt.asIntN(bits, args[0]));
      }
      const r = ctx.call?.(n.n, args);
      if (r === undefined) throw new ExprError(`unknown function '${n.n}'`, n.col);
      return r & MASK64;
    }
    case 'bin': {
      if (n.op === '&&') return ev(n.a, ctx) !== 0n && ev(n.b, ctx) !== 0n ? 1n : 0n;
      if (n.op === '||') return ev(n.a, ctx) !== 0n || ev(n.b, ctx) !== 0n ? 1n : 0n;
      const a = ev(n.a, ctx), b = ev(n.b, ctx);
      switch (n.op) {
        case '+': return (a + b) & MASK64;
        case '-': return (a - b) & MASK64;
        case '*': return (a * b) & MASK64;
        case '/': if (b === 0n) throw new ExprError('division by zero', n.col); return a / b;
        case '%': if (b === 0n) throw new ExprError('division by zero', n.col); return a % b;
        case '&': return a & b;
        case '|': return a | b;
        case '^': return a ^ b;
        case '<<': return b >= 64n ? 0n : (a << b) & MASK64;
        case '>>': return b >= 64n ? 0n : a >> b;
        case '==': return a === b ? 1n : 0n;
        case '!=': return a !== b ? 1n : 0n;
        // Comparisons are unsigned unless both sides look negative as signed (e.g. `rax < -1`).
        case '<': return a < b ? 1n : 0n;
        case '<=': return a <= b ? 1n : 0n;
        case '>': return a > b ? 1n : 0n;
        case '>=': return a >= b ? 1n : 0n;
      }
      throw new ExprError(`unknown operator ${n.op}`, n.col);
    }
  }
}

export { signed };

/**
 * DAP hit conditions: "N" or "== N" (break on the Nth hit), ">= N", "> N", "% N" (every Nth),
 * "< N", "<= N". Returns a predicate over the hit count, or an error message.
 */
export function parseHitCondition(s: string): ((hits: number) => boolean) | string {
  const m = /^\s*(==|>=|<=|>|<|%)?\s*(\d+)\s*$/.exec(s);
  if (!m) return `bad hit condition '${s}': use N, == N, >= N, > N, < N, <= N or % N`;
  const n = Number(m[2]);
  switch (m[1] ?? '==') {
    case '==': return (h) => h === n;
    case '>=': return (h) => h >= n;
    case '<=': return (h) => h <= n;
    case '>': return (h) => h > n;
    case '<': return (h) => h < n;
    default: return n === 0 ? `bad hit condition '${s}': % 0` : (h) => h % n === 0;
  }
}

/** Logpoint messages: text with {expr} interpolations (DAP logMessage). */
export function formatLogMessage(template: string, ctx: EvalContext): string {
  return template.replace(/\{([^{}]+)\}/g, (_m, e: string) => {
    try { return '0x' + Expression.parse(e).evaluate(ctx).toString(16); } catch (err) { return `<${(err as Error).message}>`; }
  });
}

// NASM expressions (NASM manual 3.5): parse tokens into a tree. Operator precedence, lowest first:
//   ?:   ||   ^^   &&   = == != <> < <= > >= <=>   |   ^   &   << >> <<< >>>   + -   * / // % %%
//   unary - + ~ ! (and SEG, not supported in flat images)
import type { Token } from './lexer';

export type Expr =
  | { k: 'num'; v: bigint; col: number }
  | { k: 'float'; text: string; col: number }
  | { k: 'sym'; name: string; col: number }
  | { k: 'here'; col: number }
  | { k: 'start'; col: number }
  | { k: 'un'; op: string; a: Expr; col: number }
  | { k: 'bin'; op: string; a: Expr; b: Expr; col: number }
  | { k: 'cond'; c: Expr; a: Expr; b: Expr; col: number };

export class ExprError extends Error {
  constructor(message: string, public col: number) { super(message); }
}

const BINARY_LEVELS: string[][] = [
  ['||'], ['^^'], ['&&'],
  ['=', '==', '!=', '<>', '<', '<=', '>', '>=', '<=>'],
  ['|'], ['^'], ['&'],
  ['<<', '>>', '<<<', '>>>'],
  ['+', '-'],
  ['*', '/', '//', '%', '%%'],
];

/** Recursive-descent parser over a token slice. `pos` advances past what was consumed. */
export class ExprParser {
  pos = 0;
  constructor(private toks: Token[], private endCol: number, private isReg?: (name: string) => boolean) {}

  get done(): boolean { return this.pos >= this.toks.length; }
  peek(): Token | undefined { return this.toks[this.pos]; }

  parse(): Expr {
    const e = this.cond();
    return e;
  }

  private cond(): Expr {
    const c = this.binary(0);
    const t = this.peek();
    if (t && t.kind === 'op' && t.text === '?') {
      this.pos++;
      const a = this.cond();
      const colon = this.peek();
      if (!colon || colon.text !== ':') throw new ExprError(`expected ':' in conditional expression`, colon?.col ?? this.endCol);
      this.pos++;
      const b = this.cond();
      return { k: 'cond', c, a, b, col: t.col };
    }
    return c;
  }

  private binary(level: number): Expr {
    if (level >= BINARY_LEVELS.length) return this.unary();
    let a = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (!t || t.kind !== 'op' || !BINARY_LEVELS[level].includes(t.text)) return a;
      this.pos++;
      const b = this.binary(level + 1);
      a = { k: 'bin', op: t.text, a, b, col: t.col };
    }
  }

  private unary(): Expr {
    const t = this.peek();
    if (!t) throw new ExprError('expression expected', this.endCol);
    if (t.kind === 'op' && (t.text === '-' || t.text === '+' || t.text === '~' || t.text === '!')) {
      this.pos++;
      return { k: 'un', op: t.text, a: this.unary(), col: t.col };
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.peek();
    if (!t) throw new ExprError('expression expected', this.endCol);
    this.pos++;
    if (t.kind === 'num') return { k: 'num', v: t.value ?? 0n, col: t.col };
    if (t.kind === 'float') return { k: 'float', text: t.text, col: t.col };
    if (t.kind === 'str') return { k: 'num', v: charConstant(t.str ?? ''), col: t.col };
    if (t.kind === 'op' && t.text === '(') {
      const e = this.cond();
      const close = this.peek();
      if (!close || close.text !== ')') throw new ExprError(`expected ')'`, close?.col ?? this.endCol);
      this.pos++;
      return e;
    }
    if (t.kind === 'id') {
      if (t.text === '$') return { k: 'here', col: t.col };
      if (t.text === '$$') return { k: 'start', col: t.col };
      const name = t.text.startsWith('$') ? t.text.slice(1) : t.text;
      if (this.isReg && !t.text.startsWith('$') && this.isReg(name.toLowerCase())) return { k: 'sym', name: '%reg:' + name.toLowerCase(), col: t.col };
      return { k: 'sym', name, col: t.col };
    }
    throw new ExprError(`unexpected '${t.text}' in expression`, t.col);
  }
}

/** A character constant: up to 8 bytes, little-endian ('ab' = 0x6261). */
export function charConstant(s: string): bigint {
  let v = 0n;
  for (let i = Math.min(s.length, 8) - 1; i >= 0; i--) v = (v << 8n) | BigInt(s.charCodeAt(i) & 0xff);
  return BigInt.asIntN(64, v);
}

/** Parses a whole token list as one expression; trailing tokens are an error. */
export function parseExpression(toks: Token[], endCol: number, isReg?: (name: string) => boolean): Expr {
  const p = new ExprParser(toks, endCol, isReg);
  const e = p.parse();
  if (!p.done) { const t = p.peek()!; throw new ExprError(`unexpected '${t.text}' after expression`, t.col); }
  return e;
}

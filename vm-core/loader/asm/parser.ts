// Parses preprocessed lines into statements (NASM manual chapter 3: "label: instruction
// operands ; comment"), resolving .local labels against the previous non-local label.
import { Token, tokenize } from './lexer';
import { Expr, ExprParser, ExprError, parseExpression } from './expr';
import { isRegisterName, registerInfo } from './registers';
import { isMnemonic } from './opcode-table';
import type { Body, DataItem, MemOperand, Operand, Prefix, Statement } from './statements';
import type { Diagnostics, PpLine } from './source';

export const SIZE_KEYWORDS: Record<string, number> = { byte: 1, word: 2, dword: 4, qword: 8, tword: 10, oword: 16, yword: 32, zword: 64 };
const DATA: Record<string, number> = { db: 1, dw: 2, dd: 4, dq: 8, dt: 10, do: 16, dy: 32, dz: 64 };
const RES: Record<string, number> = { resb: 1, resw: 2, resd: 4, resq: 8, rest: 10, reso: 16, resy: 32, resz: 64 };
export const PREFIXES = new Set(['lock', 'rep', 'repe', 'repz', 'repne', 'repnz', 'o16', 'o32', 'o64', 'a16', 'a32', 'a64',
  'cs', 'ds', 'es', 'fs', 'gs', 'ss', 'xacquire', 'xrelease', 'bnd', 'nobnd']);
const DIRECTIVES = new Set(['bits', 'use16', 'use32', 'use64', 'org', 'section', 'segment', 'default', 'global', 'extern', 'common',
  'static', 'cpu', 'align', 'alignb', 'absolute', 'struc', 'endstruc', 'istruc', 'at', 'iend', 'incbin', 'times', 'sectalign',
  'warning', 'list', 'map', 'optimize', 'float', 'required', 'group', 'uppercase', 'import', 'export', 'library', 'module']);

export class ParseError extends Error {
  constructor(message: string, public col: number) { super(message); }
}

function isKeyword(name: string): boolean {
  const n = name.toLowerCase();
  return n in DATA || n in RES || n === 'equ' || PREFIXES.has(n) || DIRECTIVES.has(n) || isMnemonic(n);
}

export class Parser {
  private lastGlobal = '';
  constructor(private diags: Diagnostics) {}

  /** Qualifies a label name: `.x` after `foo` is `foo.x`; `..@x` and `..x` stand alone. */
  qualify(name: string): string {
    const n = name.startsWith('$') ? name.slice(1) : name;
    if (n.startsWith('.') && !n.startsWith('..')) return this.lastGlobal + n;
    return n;
  }

  private defineLabel(name: string): string {
    const q = this.qualify(name);
    const n = name.startsWith('$') ? name.slice(1) : name;
    if (!n.startsWith('.')) this.lastGlobal = n;
    return q;
  }

  parseLine(line: PpLine): Statement | null {
    const lexErrors: { col: number; message: string }[] = [];
    let toks = tokenize(line.text, 'asm', lexErrors);
    for (const e of lexErrors) this.diags.at(line, e.col, 'error', e.message);
    if (lexErrors.length) return null;
    if (toks.length === 0) return null;
    // [bits 32], [org 0x7c00], [section .text]: the bracketed "primitive" directive forms.
    if (toks[0].text === '[' && toks[toks.length - 1].text === ']' && toks[1]?.kind === 'id' && DIRECTIVES.has(toks[1].text.toLowerCase())) {
      toks = toks.slice(1, -1);
    }
    const st: Statement = { line, body: { k: 'none' } };
    try {
      this.parseStatement(toks, st);
    } catch (e) {
      if (e instanceof ParseError || e instanceof ExprError) { this.diags.at(line, e.col, 'error', e.message); return null; }
      throw e;
    }
    return st;
  }

  private parseStatement(toks: Token[], st: Statement): void {
    let i = 0;
    const t0 = toks[0];
    // Label: "name:" or "name" followed by an instruction/directive/nothing.
    if (t0.kind === 'id' && !t0.text.startsWith('%')) {
      const lower = t0.text.toLowerCase();
      const isColon = toks[1]?.text === ':';
      const next = toks[1];
      if (isColon) {
        if (isRegisterName(t0.text) && !t0.text.startsWith('$')) throw new ParseError(`'${t0.text}' is a register, not a label`, t0.col);
        st.label = this.defineLabel(t0.text); st.labelCol = t0.col; i = 2;
      } else if (!isKeyword(lower) && !isRegisterName(lower) && (next === undefined || (next.kind === 'id' && isKeyword(next.text)))) {
        st.label = this.defineLabel(t0.text); st.labelCol = t0.col; i = 1;
      } else if (!isKeyword(lower) && t0.text !== '$' && !isRegisterName(lower) && next && next.kind === 'id' && !isKeyword(next.text)) {
        throw new ParseError(`unknown instruction or directive '${t0.text}'`, t0.col);
      } else if (!isKeyword(lower) && !isRegisterName(lower) && next) {
        throw new ParseError(`unknown instruction or directive '${t0.text}'`, t0.col);
      }
    }
    if (i >= toks.length) return;
    const t = toks[i];
    if (t.kind === 'id' && t.text.toLowerCase() === 'equ') {
      if (!st.label) throw new ParseError(`'equ' without a label`, t.col);
      st.body = { k: 'equ', e: this.expr(toks.slice(i + 1), t.col + 3) };
      return;
    }
    if (t.kind === 'id' && t.text.toLowerCase() === 'times') {
      const p = new ExprParser(toks.slice(i + 1), t.col + 5, isRegisterName);
      st.times = this.qualifyExpr(p.parse());
      st.timesCol = t.col;
      i += 1 + p.pos;
      if (i >= toks.length) throw new ParseError(`'times' needs an instruction or data to repeat`, t.col);
    }
    st.body = this.parseBody(toks.slice(i), toks[toks.length - 1]);
  }

  parseBody(toks: Token[], last: Token): Body {
    const t = toks[0];
    if (t.kind !== 'id') throw new ParseError(`expected an instruction, got '${t.text}'`, t.col);
    const name = t.text.toLowerCase();
    const endCol = last.col + last.text.length;
    const rest = toks.slice(1);
    if (name in DATA) return { k: 'data', size: DATA[name], items: this.dataItems(rest, t.col) };
    if (name in RES) return { k: 'res', size: RES[name], count: this.expr(rest, endCol), col: t.col };
    switch (name) {
      case 'bits': {
        const v = rest[0]?.value;
        if (rest.length !== 1 || (v !== 16n && v !== 32n && v !== 64n)) throw new ParseError(`'bits' expects 16, 32 or 64`, t.col);
        return { k: 'bits', bits: Number(v) as 16 | 32 | 64 };
      }
      case 'use16': return { k: 'bits', bits: 16 };
      case 'use32': return { k: 'bits', bits: 32 };
      case 'use64': return { k: 'bits', bits: 64 };
      case 'org': return { k: 'org', e: this.expr(rest, endCol), col: t.col };
      case 'section': case 'segment': return this.section(rest, t);
      case 'default': {
        const w = rest[0]?.text.toLowerCase();
        if (w === 'rel') return { k: 'default', rel: true };
        if (w === 'abs') return { k: 'default', rel: false };
        if (w === 'bnd' || w === 'nobnd') return { k: 'none' };
        throw new ParseError(`'default' expects 'rel' or 'abs'`, t.col);
      }
      case 'global': case 'extern': case 'common': case 'static': case 'cpu': case 'sectalign': case 'warning':
      case 'list': case 'map': case 'optimize': case 'float': case 'required': case 'group': case 'uppercase':
      case 'import': case 'export': case 'library': case 'module':
        return { k: 'none' };
      case 'align': case 'alignb': {
        const comma = rest.findIndex((x) => x.text === ',');
        const n = this.expr(comma < 0 ? rest : rest.slice(0, comma), endCol);
        const fill = comma < 0 ? undefined : this.parseBody(rest.slice(comma + 1), last);
        return { k: 'align', n, fill, b: name === 'alignb', col: t.col };
      }
      case 'absolute': return { k: 'absolute', e: this.expr(rest, endCol), col: t.col };
      case 'struc': {
        if (rest[0]?.kind !== 'id') throw new ParseError(`'struc' expects a name`, t.col);
        return { k: 'struc', name: this.defineLabel(rest[0].text), col: t.col };
      }
      case 'endstruc': return { k: 'endstruc', col: t.col };
      case 'istruc': {
        if (rest[0]?.kind !== 'id') throw new ParseError(`'istruc' expects a name`, t.col);
        return { k: 'istruc', name: rest[0].text, col: t.col };
      }
      case 'at': {
        const comma = rest.findIndex((x) => x.text === ',');
        const field = this.expr(comma < 0 ? rest : rest.slice(0, comma), endCol);
        const body = comma < 0 || comma + 1 >= rest.length ? { k: 'none' as const } : this.parseBody(rest.slice(comma + 1), last);
        return { k: 'at', field, body, col: t.col };
      }
      case 'iend': return { k: 'iend', col: t.col };
      case 'incbin': {
        if (rest[0]?.kind !== 'str') throw new ParseError(`'incbin' expects a file name in quotes`, t.col);
        const parts = splitTop(rest.slice(1).filter((_, k) => !(k === 0 && rest[1]?.text === ',')), ',');
        const args = rest[1]?.text === ',' ? splitTop(rest.slice(2), ',') : parts.filter((p) => p.length);
        return {
          k: 'incbin', file: rest[0].str ?? '', col: t.col,
          skip: args[0]?.length ? this.expr(args[0], endCol) : undefined,
          len: args[1]?.length ? this.expr(args[1], endCol) : undefined,
        };
      }
    }
    return this.instruction(toks, endCol);
  }

  private section(rest: Token[], t: Token): Body {
    if (!rest.length) throw new ParseError(`'section' expects a name`, t.col);
    let j = 0;
    let name = '';
    // Section names may contain dots and other characters: take tokens until whitespace.
    while (j < rest.length && (j === 0 || !rest[j].space)) name += rest[j++].text;
    const body: Body = { k: 'section', name, col: t.col };
    for (; j < rest.length; j++) {
      const a = rest[j].text.toLowerCase();
      if (a === 'nobits') body.nobits = true;
      else if (a === 'progbits') body.nobits = false;
      else if ((a === 'align' || a === 'start' || a === 'vstart' || a === 'follows' || a === 'vfollows') && rest[j + 1]?.text === '=') {
        const valToks: Token[] = [];
        let k = j + 2;
        while (k < rest.length && !(rest[k].space && k > j + 2)) valToks.push(rest[k++]);
        if (a === 'align') body.align = Number(valToks[0]?.value ?? 1n);
        else if (a === 'start') body.start = this.expr(valToks, t.col);
        j = k - 1;
      }
    }
    return body;
  }

  private instruction(toks: Token[], endCol: number): Body {
    const prefixes: Prefix[] = [];
    let i = 0;
    while (i < toks.length && toks[i].kind === 'id' && PREFIXES.has(toks[i].text.toLowerCase())) {
      // A segment register alone or followed by ':' is an operand, not a prefix.
      if (toks[i + 1]?.text === ':' || toks[i + 1]?.text === ',') break;
      prefixes.push({ name: toks[i].text.toLowerCase(), col: toks[i].col });
      i++;
    }
    if (i >= toks.length) return { k: 'insn', prefixes, mnemonic: '', mcol: prefixes[prefixes.length - 1]?.col ?? 1, operands: [] };
    const m = toks[i];
    const mnemonic = m.text.toLowerCase();
    if (m.kind !== 'id' || (!isMnemonic(mnemonic) && !(mnemonic in DATA) && !(mnemonic in RES))) {
      throw new ParseError(`unknown instruction '${m.text}'`, m.col);
    }
    if (mnemonic in DATA || mnemonic in RES) {
      if (prefixes.length) throw new ParseError(`prefix before data directive`, prefixes[0].col);
      return this.parseBody(toks.slice(i), toks[toks.length - 1]);
    }
    const operands: Operand[] = [];
    const rest = toks.slice(i + 1);
    if (rest.length) {
      for (const part of splitTop(rest, ',')) {
        if (!part.length) throw new ParseError(`missing operand`, rest[0].col);
        operands.push(this.operand(part, endCol));
      }
    }
    return { k: 'insn', prefixes, mnemonic, mcol: m.col, operands };
  }

  private operand(toks: Token[], endCol: number): Operand {
    const col = toks[0].col;
    let size: number | undefined;
    let strict = false, short = false, near = false, far = false;
    let i = 0;
    for (; i < toks.length - 1 || (i < toks.length && false); i++) {
      const w = toks[i].kind === 'id' ? toks[i].text.toLowerCase() : '';
      if (w in SIZE_KEYWORDS) size = SIZE_KEYWORDS[w];
      else if (w === 'strict') strict = true;
      else if (w === 'short') short = true;
      else if (w === 'near') near = true;
      else if (w === 'far') far = true;
      else break;
    }
    const rest = toks.slice(i);
    if (rest.length === 0) throw new ParseError(`operand expected`, col);
    if (rest[0].text === '[') {
      if (rest[rest.length - 1].text !== ']') throw new ParseError(`expected ']' at end of memory operand`, rest[rest.length - 1].col);
      return this.memory(rest.slice(1, -1), rest[0].col, { size, far, near }, endCol);
    }
    // Segment override outside the brackets: fs:[rax]
    if (rest.length > 3 && rest[1].text === ':' && rest[2].text === '[' && registerInfo(rest[0].text)?.cls === 'seg') {
      const mem = this.memory(rest.slice(3, -1), rest[2].col, { size, far, near }, endCol);
      mem.seg = registerInfo(rest[0].text);
      return mem;
    }
    if (rest.length === 1 && rest[0].kind === 'id') {
      const r = registerInfo(rest[0].text);
      if (r) {
        if (size && size !== r.size && r.cls === 'gpr') throw new ParseError(`mismatch in operand sizes: ${rest[0].text} is not ${Object.keys(SIZE_KEYWORDS).find((k) => SIZE_KEYWORDS[k] === size)}`, col);
        return { kind: 'reg', reg: r, col: rest[0].col };
      }
    }
    const colon = topIndex(rest, ':');
    if (colon > 0) {
      return { kind: 'farimm', seg: this.expr(rest.slice(0, colon), endCol), off: this.expr(rest.slice(colon + 1), endCol), size, col };
    }
    return { kind: 'imm', expr: this.expr(rest, endCol), size, strict, short, near, far, col };
  }

  private memory(inner: Token[], col: number, outer: { size?: number; far: boolean; near: boolean }, endCol: number): MemOperand {
    let i = 0;
    let dispSize: number | undefined;
    let rel = false, abs = false, nosplit = false;
    let seg;
    for (;;) {
      const t = inner[i];
      if (!t || t.kind !== 'id') break;
      const w = t.text.toLowerCase();
      if (w in SIZE_KEYWORDS && inner.length > i + 1) { dispSize = SIZE_KEYWORDS[w]; i++; continue; }
      if (w === 'rel') { rel = true; i++; continue; }
      if (w === 'abs') { abs = true; i++; continue; }
      if (w === 'nosplit') { nosplit = true; i++; continue; }
      const r = registerInfo(w);
      if (r && r.cls === 'seg' && inner[i + 1]?.text === ':') { seg = r; i += 2; continue; }
      break;
    }
    const body = inner.slice(i);
    if (!body.length) throw new ParseError(`empty memory operand`, col);
    const expr = this.qualifyExpr(parseExpression(body, endCol, isRegisterName));
    return { kind: 'mem', size: outer.size, expr, seg, dispSize, rel, abs, nosplit, far: outer.far, near: outer.near, col };
  }

  private dataItems(toks: Token[], col: number): DataItem[] {
    if (!toks.length) throw new ParseError(`data directive without values`, col);
    return splitTop(toks, ',').map((part): DataItem => {
      if (!part.length) throw new ParseError(`missing value`, col);
      if (part.length === 1 && part[0].kind === 'str') return { k: 'str', s: part[0].str ?? '', col: part[0].col };
      if (part.length === 1 && part[0].kind === 'float') return { k: 'float', text: part[0].text, col: part[0].col };
      if (part.length === 2 && part[0].text === '-' && part[1].kind === 'float') return { k: 'float', text: '-' + part[1].text, col: part[0].col };
      if (part.length === 1 && part[0].text === '?') return { k: 'undef', col: part[0].col };
      return { k: 'expr', e: this.expr(part, part[part.length - 1].col + 1), col: part[0].col };
    });
  }

  expr(toks: Token[], endCol: number): Expr {
    if (!toks.length) throw new ParseError(`expression expected`, endCol);
    return this.qualifyExpr(parseExpression(toks, endCol, isRegisterName));
  }

  /** Rewrites .local symbol references to their qualified names. */
  qualifyExpr(e: Expr): Expr {
    switch (e.k) {
      case 'sym': return e.name.startsWith('%reg:') ? e : { ...e, name: this.qualify(e.name) };
      case 'un': return { ...e, a: this.qualifyExpr(e.a) };
      case 'bin': return { ...e, a: this.qualifyExpr(e.a), b: this.qualifyExpr(e.b) };
      case 'cond': return { ...e, c: this.qualifyExpr(e.c), a: this.qualifyExpr(e.a), b: this.qualifyExpr(e.b) };
      default: return e;
    }
  }
}

/** Splits at a top-level separator (outside () and []). */
export function splitTop(toks: Token[], sep: string): Token[][] {
  const out: Token[][] = [[]];
  let depth = 0;
  for (const t of toks) {
    if (t.kind === 'op' && (t.text === '(' || t.text === '[')) depth++;
    if (t.kind === 'op' && (t.text === ')' || t.text === ']')) depth--;
    if (t.kind === 'op' && t.text === sep && depth === 0) { out.push([]); continue; }
    out[out.length - 1].push(t);
  }
  return out;
}

function topIndex(toks: Token[], sep: string): number {
  let depth = 0;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.kind === 'op' && (t.text === '(' || t.text === '[')) depth++;
    if (t.kind === 'op' && (t.text === ')' || t.text === ']')) depth--;
    if (t.kind === 'op' && t.text === sep && depth === 0) return i;
  }
  return -1;
}

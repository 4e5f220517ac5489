// NASM's preprocessor (manual chapter 4), the part people actually use: %define family,
// %assign, %strlen, %include, %macro/%endmacro, %rep/%endrep/%exitrep, %rotate, the %if family,
// %error/%warning/%fatal, %+ pasting. Produces logical lines with their source locations.
import { Token, tokenize, untokenize, commentStart } from './lexer';
import { ExprError } from './expr';
import { Diagnostics, PpLine, SourceLoc } from './source';
import {
  DefineTable, MacroTable, MultiLineMacro, RawLine, MacroCall,
  expandDefines, splitMacroArgs, substituteParams, ExpansionError,
} from './pp-macros';
import { evalCondition, ppEvaluate, CONDITION_KINDS, ConditionContext } from './pp-conditions';

export interface PreprocessOptions {
  path: string;
  source?: string;
  readFile: (absPath: string) => string | undefined;
  defines?: Record<string, string>;
  diags: Diagnostics;
  /** Cap on emitted lines (runaway %rep / macro recursion). */
  maxLines?: number;
  /** Cap on nested macro invocations and includes. */
  maxDepth?: number;
}

interface Frame {
  kind: 'file' | 'macro' | 'rep';
  lines: RawLine[];
  idx: number;
  call?: MacroCall & { name: string; site: SourceLoc };
  rep?: { count: number; iter: number };
  /** Depth of the conditional stack when the frame started (restored when it ends). */
  condDepth: number;
}

interface Cond { active: boolean; taken: boolean; sawElse: boolean; parentActive: boolean; loc: SourceLoc }

const DIRECTIVE = /^%([a-z]+)$/i;
const IF_RE = /^(if|elif)(n?[a-z]*)$/;

export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : p.slice(0, i);
}

export function joinPath(dir: string, rel: string): string {
  if (rel.startsWith('/')) return normalize(rel);
  return normalize(dir + '/' + rel);
}

function normalize(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else out.push(part);
  }
  return (abs ? '/' : '') + out.join('/');
}

/** Splits a file into logical lines, joining backslash continuations. */
export function splitLines(text: string, file: string): RawLine[] {
  const phys = text.split(/\r?\n/);
  if (phys.length && phys[phys.length - 1] === '') phys.pop();
  const out: RawLine[] = [];
  for (let i = 0; i < phys.length; i++) {
    const start = i;
    let line = phys[i];
    while (/\\\s*$/.test(line) && commentStart(line) < 0 && i + 1 < phys.length) {
      line = line.replace(/\\\s*$/, '') + phys[++i];
    }
    out.push({ text: line, loc: { file, line: start + 1 } });
  }
  return out;
}

export class Preprocessor {
  readonly defs = new DefineTable();
  readonly macros = new MacroTable();
  private frames: Frame[] = [];
  private conds: Cond[] = [];
  private out: PpLine[] = [];
  private uniq = 0;
  private collectingMacro: { mm: MultiLineMacro; depth: number } | null = null;
  private collectingRep: { count: number; body: RawLine[]; depth: number; loc: SourceLoc } | null = null;
  private aborted = false;
  private readonly maxLines: number;
  private readonly maxDepth: number;
  private readonly diags: Diagnostics;
  private current: { raw: RawLine; loc: SourceLoc; body?: SourceLoc; macro?: string } | null = null;
  private condCtx: ConditionContext;

  constructor(private opts: PreprocessOptions) {
    this.diags = opts.diags;
    this.maxLines = opts.maxLines ?? 1_000_000;
    this.maxDepth = opts.maxDepth ?? 200;
    for (const [k, v] of Object.entries(opts.defines ?? {})) {
      this.defs.define({ name: k, params: null, body: tokenize(v, 'pp'), caseless: false });
    }
    this.condCtx = { defs: this.defs, macros: this.macros, expand: (t) => this.expand(t) };
  }

  run(): PpLine[] {
    let text: string | undefined;
    try { text = this.opts.source ?? this.opts.readFile(this.opts.path); } catch (e) {
      this.diags.error({ file: this.opts.path, line: 1 }, 1, (e as Error).message);
      return [];
    }
    if (text === undefined) {
      this.diags.error({ file: this.opts.path, line: 1 }, 1, `unable to open source file '${this.opts.path}'`);
      return [];
    }
    this.frames.push({ kind: 'file', lines: splitLines(text, this.opts.path), idx: 0, condDepth: 0 });
    while (this.frames.length && !this.aborted) {
      const f = this.frames[this.frames.length - 1];
      if (f.idx >= f.lines.length) {
        if (f.kind === 'rep' && f.rep && ++f.rep.iter < f.rep.count) { f.idx = 0; continue; }
        this.endFrame();
        continue;
      }
      const raw = f.lines[f.idx++];
      this.processLine(raw, f);
    }
    if (this.collectingMacro) this.diags.error(this.collectingMacro.mm.loc, 1, `end of file while still defining macro '${this.collectingMacro.mm.name}'`);
    if (this.collectingRep) this.diags.error(this.collectingRep.loc, 1, `end of file while still collecting %rep (missing %endrep)`);
    for (const c of this.conds) this.diags.error(c.loc, 1, `unterminated %if (missing %endif)`);
    return this.out;
  }

  private endFrame(): void {
    const f = this.frames.pop()!;
    if (f.kind === 'file' && this.conds.length > f.condDepth) {
      for (const c of this.conds.slice(f.condDepth)) this.diags.error(c.loc, 1, `unterminated %if in this file (missing %endif)`);
      this.conds.length = f.condDepth;
    }
  }

  private macroFrame(): Frame | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) if (this.frames[i].kind === 'macro') return this.frames[i];
    return undefined;
  }

  private err(col: number, message: string, severity: 'error' | 'warning' = 'error'): void {
    const c = this.current!;
    const exact = !c.body;
    this.diags.add(c.loc, exact ? col : 1, severity, message, c.body, c.macro);
  }

  private get active(): boolean { return this.conds.length === 0 || this.conds[this.conds.length - 1].active; }

  private processLine(raw: RawLine, f: Frame): void {
    // Where the line map points: macro bodies map to the invocation site.
    const mf = this.macroFrame();
    const loc = mf?.call ? mf.call.site : raw.loc;
    const body = mf?.call ? raw.loc : undefined;
    this.current = { raw, loc, body, macro: mf?.call?.name };
    let text = raw.text;
    const firstTok = /^\s*(%[a-z]+)/i.exec(text)?.[1]?.toLowerCase();

    if (this.collectingMacro) {
      const c = this.collectingMacro;
      if (firstTok === '%macro' || firstTok === '%imacro') c.depth++;
      if (firstTok === '%endmacro' || firstTok === '%endm') {
        if (c.depth-- === 0) { this.macros.define(c.mm); this.collectingMacro = null; return; }
      }
      c.mm.body.push(raw);
      return;
    }
    if (this.collectingRep) {
      const c = this.collectingRep;
      if (firstTok === '%rep') c.depth++;
      if (firstTok === '%endrep') {
        if (c.depth-- === 0) {
          this.collectingRep = null;
          if (c.count > 0 && c.body.length > 0) {
            if (this.frames.length > this.maxDepth) { this.err(1, `%rep nested too deeply`); return; }
            this.frames.push({ kind: 'rep', lines: c.body, idx: 0, rep: { count: c.count, iter: 0 }, condDepth: this.conds.length });
          }
          return;
        }
      }
      c.body.push({ text, loc: raw.loc });
      return;
    }
    // Parameters of the enclosing macro are substituted when a line is used (so %rotate inside
    // a %rep body sees the rotated parameters).
    if (f.kind !== 'file' && mf?.call) text = substituteParams(text, mf.call);

    const lexErrors: { col: number; message: string }[] = [];
    const toks = tokenize(text, 'pp', lexErrors);
    const d = toks.length && toks[0].kind === 'pp' ? DIRECTIVE.exec(toks[0].text)?.[1]?.toLowerCase() : undefined;
    if (d !== undefined) {
      const m = IF_RE.exec(d);
      if (m && CONDITION_KINDS.has(m[2])) { this.conditional(m[1] as 'if' | 'elif', m[2], toks); return; }
      if (d === 'else' || d === 'endif') { this.conditional(d, '', toks); return; }
    }
    if (!this.active) return;
    for (const e of lexErrors) this.err(e.col, e.message);
    try {
      if (d !== undefined) { this.directive(d, toks, f, text); return; }
      this.normalLine(text, toks);
    } catch (e) {
      if (e instanceof ExprError || e instanceof ExpansionError) this.err(e.col, e.message);
      else throw e;
    }
  }

  private conditional(kind: 'if' | 'elif' | 'else' | 'endif', cond: string, toks: Token[]): void {
    const args = toks.slice(1);
    const endCol = (toks[toks.length - 1]?.col ?? 1) + (toks[toks.length - 1]?.text.length ?? 0);
    const evalSafe = (): boolean => {
      try { return evalCondition(cond, args, this.condCtx, endCol); } catch (e) {
        if (e instanceof ExprError || e instanceof ExpansionError) { this.err(e.col, `in %${kind}${cond}: ${e.message}`); return false; }
        throw e;
      }
    };
    const top = this.conds[this.conds.length - 1];
    if (kind === 'if') {
      const parentActive = this.active;
      const v = parentActive ? evalSafe() : false;
      this.conds.push({ active: parentActive && v, taken: v, sawElse: false, parentActive, loc: this.current!.loc });
      return;
    }
    if (!top) { this.err(toks[0].col, `%${kind} without %if`); return; }
    if (kind === 'endif') { this.conds.pop(); return; }
    if (top.sawElse) { this.err(toks[0].col, `%${kind} after %else`); }
    if (kind === 'else') {
      top.sawElse = true;
      top.active = top.parentActive && !top.taken;
      top.taken = true;
      return;
    }
    if (top.taken || !top.parentActive) { top.active = false; return; }
    const v = evalSafe();
    top.active = v;
    top.taken = v;
  }

  expand(toks: Token[]): Token[] {
    const r = expandDefines(toks, this.defs).toks;
    return this.paste(r);
  }

  /** %+ concatenation, and removal of the whitespace around it. */
  private paste(toks: Token[]): Token[] {
    if (!toks.some((t) => t.text === '%+')) return toks;
    const out: Token[] = [];
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i];
      if (t.text === '%+') {
        const next = toks[i + 1];
        if (next) { out.push({ ...next, space: false }); i++; }
        continue;
      }
      out.push(t);
    }
    return out;
  }

  private emit(text: string, exact: boolean): void {
    if (this.out.length >= this.maxLines) {
      this.err(1, `too many lines generated (more than ${this.maxLines}): runaway %rep or macro recursion?`);
      this.aborted = true;
      return;
    }
    const c = this.current!;
    this.out.push({ text, loc: c.loc, body: c.body, macro: c.macro, exact: exact && !c.body });
  }

  private normalLine(text: string, toks: Token[]): void {
    const { toks: ex, changed: expanded } = expandDefines(toks, this.defs);
    const pasted = this.paste(ex);
    const changed = expanded || pasted !== ex;
    const hasPp = pasted.some((t) => t.kind === 'pp');
    if (hasPp) {
      const bad = pasted.find((t) => t.kind === 'pp' && /^%[A-Za-z]/.test(t.text) && !/^%(?:\$|!)/.test(t.text));
      if (bad) { this.err(bad.col, `unknown preprocessor directive or token '${bad.text}'`); return; }
    }
    // Multi-line macro call: "name args" or "label: name args" / "label name args".
    let mi = 0;
    if (pasted.length > 1 && pasted[0].kind === 'id' && !this.macros.has(pasted[0].text)) {
      if (pasted[1].text === ':' && pasted[2]?.kind === 'id' && this.macros.has(pasted[2].text)) mi = 2;
      else if (pasted[1].kind === 'id' && this.macros.has(pasted[1].text)) mi = 1;
    }
    const head = pasted[mi];
    if (head && head.kind === 'id' && this.macros.has(head.text)) {
      if (mi > 0) this.emit(untokenize(pasted.slice(0, mi)) + (mi === 1 ? ':' : ''), false);
      this.invoke(head, pasted.slice(mi + 1));
      return;
    }
    if (!changed && !hasPp) this.emit(text, true);
    else this.emit(untokenize(pasted), false);
  }

  private invoke(head: Token, argToks: Token[]): void {
    const defs = this.macros.lookup(head.text);
    let args = splitMacroArgs(argToks).map((a) => untokenize(a).trim());
    let mm = defs.find((m) => args.length >= m.min && args.length <= m.max);
    if (!mm) mm = defs.find((m) => m.greedy && args.length > m.max && m.max > 0);
    if (!mm && args.length === 0) mm = defs.find((m) => m.min <= 1 && m.max >= 1);
    if (!mm) {
      const want = defs.map((m) => (m.min === m.max ? `${m.min}` : `${m.min}-${m.max === Infinity ? '*' : m.max}`)).join(' or ');
      this.err(head.col, `macro '${head.text}' expects ${want} parameter(s), got ${args.length}`);
      return;
    }
    if (mm.greedy && args.length > mm.max) {
      // The last parameter takes the rest of the line, commas included.
      const rest = splitMacroArgs(argToks);
      const greedyFrom = mm.max - 1;
      const tail = untokenize(argToks.slice(indexOfArg(argToks, greedyFrom))).trim();
      args = rest.slice(0, greedyFrom).map((a) => untokenize(a).trim());
      args.push(tail);
    }
    const params = [...args];
    for (let i = params.length; i < mm.defaults.length + mm.min && i < (mm.max === Infinity ? params.length : mm.max); i++) {
      params[i] = mm.defaults[i - mm.min] ?? '';
    }
    // NASM counts the defaults filled in as parameters: %0 and %rotate see them (`m 1, 2` of
    // `%macro m 2-4 3, 4` has %0 = 4).
    const count = params.length;
    if (this.frames.filter((f) => f.kind === 'macro').length >= this.maxDepth) {
      this.err(head.col, `macro '${head.text}' invoked recursively too deeply (more than ${this.maxDepth} levels)`);
      this.aborted = true;
      return;
    }
    const site = this.current!.loc;
    this.frames.push({
      kind: 'macro', lines: mm.body, idx: 0,
      call: { params, count, rot: 0, unique: ++this.uniq, name: mm.name, site }, condDepth: this.conds.length,
    });
  }

  private directive(d: string, toks: Token[], f: Frame, text: string): void {
    const args = toks.slice(1);
    const col0 = toks[0].col;
    const endCol = text.length + 1;
    switch (d) {
      case 'define': case 'xdefine': case 'idefine': case 'xidefine': {
        const name = args[0];
        if (!name || name.kind !== 'id') { this.err(col0, `%${d} expects a macro name`); return; }
        let rest = args.slice(1);
        let params: string[] | null = null;
        if (rest.length && rest[0].text === '(' && !rest[0].space) {
          const close = rest.findIndex((t) => t.text === ')');
          if (close < 0) { this.err(rest[0].col, `missing ')' in macro parameter list`); return; }
          params = rest.slice(1, close).filter((t) => t.text !== ',').map((t) => t.text);
          rest = rest.slice(close + 1);
        }
        const body = d.startsWith('x') ? this.expand(rest) : rest;
        this.defs.define({ name: name.text, params, body: body.map((t, i) => (i === 0 ? { ...t, space: false } : t)), caseless: d.includes('i') });
        return;
      }
      case 'undef': case 'undefine':
        if (!args[0]) { this.err(col0, `%undef expects a macro name`); return; }
        this.defs.undef(args[0].text);
        return;
      case 'assign': case 'iassign': {
        const name = args[0];
        if (!name || name.kind !== 'id') { this.err(col0, `%${d} expects a macro name`); return; }
        const v = ppEvaluate(args.slice(1), this.condCtx, endCol);
        this.defs.define({ name: name.text, params: null, body: tokenize(v.toString(), 'pp'), caseless: d === 'iassign' });
        return;
      }
      case 'strlen': {
        const name = args[0];
        const ex = this.expand(args.slice(1));
        if (!name || ex.length !== 1 || ex[0].kind !== 'str') { this.err(col0, `%strlen expects a macro name and a string`); return; }
        this.defs.define({ name: name.text, params: null, body: tokenize(String(ex[0].str!.length), 'pp'), caseless: false });
        return;
      }
      case 'include': this.include(args, col0); return;
      case 'macro': case 'imacro': this.beginMacro(d === 'imacro', args, col0); return;
      case 'endmacro': case 'endm': this.err(col0, `%${d} without %macro`); return;
      case 'rep': {
        const n = ppEvaluate(args, this.condCtx, endCol);
        if (n > BigInt(this.maxLines)) { this.err(col0, `%rep count ${n} too large (limit ${this.maxLines})`); this.aborted = true; return; }
        this.collectingRep = { count: Number(n < 0n ? 0n : n), body: [], depth: 0, loc: this.current!.loc };
        return;
      }
      case 'endrep': this.err(col0, `%endrep without %rep`); return;
      case 'exitrep': {
        const i = this.frames.map((x) => x.kind).lastIndexOf('rep');
        if (i < 0) { this.err(col0, `%exitrep outside %rep`); return; }
        this.conds.length = Math.min(this.conds.length, this.frames[i].condDepth);
        this.frames.length = i;
        return;
      }
      case 'exitmacro': {
        const i = this.frames.map((x) => x.kind).lastIndexOf('macro');
        if (i < 0) { this.err(col0, `%exitmacro outside a macro`); return; }
        this.conds.length = Math.min(this.conds.length, this.frames[i].condDepth);
        this.frames.length = i;
        return;
      }
      case 'rotate': {
        const mf = this.macroFrame();
        if (!mf?.call) { this.err(col0, `%rotate outside a macro`); return; }
        const count = mf.call.count;
        if (count) {
          const n = ((Number(ppEvaluate(args, this.condCtx, endCol) % BigInt(count)) % count) + count) % count;
          mf.call.rot = (mf.call.rot + n) % count;
        }
        return;
      }
      case 'error': case 'warning': case 'fatal': {
        const ex = this.expand(args);
        const msg = ex.length === 1 && ex[0].kind === 'str' ? ex[0].str! : untokenize(ex);
        this.err(col0, msg, d === 'warning' ? 'warning' : 'error');
        if (d === 'fatal') this.aborted = true;
        return;
      }
      case 'line': case 'pragma': case 'use': case 'clear': case 'arg': case 'local': case 'stacksize':
        return;
      default:
        this.err(col0, `unknown preprocessor directive '%${d}'`);
    }
    void f;
  }

  private include(args: Token[], col0: number): void {
    const ex = this.expand(args);
    let name: string | undefined;
    if (ex.length === 1 && ex[0].kind === 'str') name = ex[0].str;
    else if (ex.length >= 2 && ex[0].text === '<' && ex[ex.length - 1].text === '>') name = untokenize(ex.slice(1, -1)).replace(/\s+/g, '');
    if (!name) { this.err(col0, `%include expects a file name in quotes`); return; }
    if (this.frames.length > this.maxDepth) { this.err(col0, `%include nested too deeply (recursive include of '${name}'?)`); this.aborted = true; return; }
    const from = this.current!.raw.loc.file;
    const tried = [joinPath(dirname(from), name)];
    const mainDir = dirname(this.opts.path);
    if (!tried.includes(joinPath(mainDir, name))) tried.push(joinPath(mainDir, name));
    for (const p of tried) {
      let text: string | undefined;
      try { text = this.opts.readFile(p); } catch (e) { this.err(col0, `%include '${name}': ${(e as Error).message}`); this.aborted = true; return; }
      if (text !== undefined) {
        this.frames.push({ kind: 'file', lines: splitLines(text, p), idx: 0, condDepth: this.conds.length });
        return;
      }
    }
    this.err(col0, `unable to open include file '${name}'`);
  }

  private beginMacro(caseless: boolean, args: Token[], col0: number): void {
    const name = args[0];
    if (!name || name.kind !== 'id') { this.err(col0, `%macro expects a macro name`); return; }
    let i = 1;
    let min = 0, max = 0, greedy = false;
    const spec = args[i];
    if (!spec) { this.err(col0, `%macro '${name.text}' expects a parameter count`); }
    else if (spec.kind === 'num') {
      min = max = Number(spec.value); i++;
      if (args[i]?.text === '-') {
        i++;
        const hi = args[i];
        if (hi?.kind === 'num') { max = Number(hi.value); i++; }
        else if (hi?.text === '*') { max = Infinity; i++; }
        else this.err(hi?.col ?? col0, `invalid parameter range in %macro`);
      }
      if (args[i]?.text === '+') { greedy = true; i++; }
      if (args[i]?.text === '.' || args[i]?.text === '.nolist') i++;
      if (args[i]?.kind === 'id' && args[i].text === '.nolist') i++;
    } else this.err(spec.col, `invalid parameter count '${spec.text}' in %macro`);
    const defaults = splitMacroArgs(args.slice(i)).map((a) => untokenize(a).trim());
    this.collectingMacro = {
      mm: { name: name.text, min, max, greedy, defaults, body: [], caseless, loc: this.current!.loc },
      depth: 0,
    };
  }
}

function indexOfArg(toks: Token[], n: number): number {
  let depth = 0, k = 0;
  for (let i = 0; i < toks.length; i++) {
    if (k === n) return i;
    const t = toks[i];
    if (t.text === '(' || t.text === '[' || t.text === '{') depth++;
    if (t.text === ')' || t.text === ']' || t.text === '}') depth--;
    if (t.text === ',' && depth === 0) k++;
  }
  return toks.length;
}

export function preprocess(opts: PreprocessOptions): PpLine[] {
  return new Preprocessor(opts).run();
}

// The pass engine: walks the statements, assigning addresses and encoding, until symbol values
// and sizes settle (forward references), then reports the final pass's diagnostics.
import { evaluate, Value, SymbolValue } from './evaluate';
import { Expr, ExprError } from './expr';
import { encodeInstruction, EncodeError } from './encoder';
import { intBytes, fitsData, stringBytes, floatData } from './data';
import { SectionState, newSection, layoutSections, Layout } from './sections';
import type { Body, Statement } from './statements';
import type { PpLine } from './source';

export interface SymDef {
  name: string;
  kind: 'label' | 'constant';
  /** Section of a label; constants have none. */
  section?: string;
  /** Offset in the section (labels) or the value (constants). */
  value: bigint;
  rel: number;
  unknown: boolean;
  line: PpLine;
}

export interface PassDiag { line: PpLine; col: number; severity: 'error' | 'warning'; message: string }

export interface StmtRecord { stmt: Statement; addr: bigint; section: string; bytes: number[]; nobits: boolean }

export interface PassResult {
  symbols: Map<string, SymDef>;
  sections: Map<string, SectionState>;
  layout: Layout;
  diags: PassDiag[];
  usedUndefined: boolean;
  records: StmtRecord[];
  bits: 16 | 32 | 64;
  org: bigint;
}

export interface AssemblerOptions { defaultBits: 16 | 32 | 64; defaultOrg: bigint; readBinary?: (name: string, from: string) => Uint8Array | undefined }

export const MAX_PASSES = 40;
const MAX_TIMES = 16 * 1024 * 1024;

class AsmError extends Error { constructor(message: string, public col: number) { super(message); } }

export class Assembler {
  private prev: PassResult | undefined;

  constructor(private stmts: Statement[], private opts: AssemblerOptions) {}

  /** Runs passes to convergence; returns the final pass and whether it converged. */
  run(): { result: PassResult; converged: boolean; passes: number } {
    let passes = 0;
    for (;;) {
      passes++;
      const r = this.pass(false);
      const stable = this.prev !== undefined && sameLayout(this.prev, r);
      this.prev = r;
      if (stable && !r.usedUndefined) return { result: r, converged: true, passes };
      if (stable || passes >= MAX_PASSES) {
        passes++;
        const f = this.pass(true);
        return { result: f, converged: stable, passes };
      }
    }
  }

  private pass(final: boolean): PassResult {
    const symbols = new Map<string, SymDef>();
    const sections = new Map<string, SectionState>();
    const diags: PassDiag[] = [];
    const records: StmtRecord[] = [];
    let usedUndefined = false;
    const prevLayout = this.prev?.layout;
    let bits = this.opts.defaultBits;
    const initialBits = bits;
    let firstBitsSeen = false;
    let org = this.prev?.org ?? this.opts.defaultOrg;
    let orgSet = false;
    let defaultRel = false;
    let sec = newSection('.text', 0);
    sections.set('.text', sec);
    let absolute = null as { value: bigint; back: SectionState } | null;
    let struc = null as { name: string; line: PpLine } | null;
    let istruc = null as { base: bigint; name: string } | null;
    const prevSyms = this.prev?.symbols;
    const prevRecords = this.prev?.records;
    /** How far the current line has moved in its section since the previous pass. */
    let shift = 0n;
    let cur!: Statement;

    const sectionStart = (name: string): bigint => {
      if (name === '.text') return prevLayout?.starts.get(name) ?? org;
      return prevLayout?.starts.get(name) ?? org;
    };
    const symValue = (d: SymDef): SymbolValue => {
      if (d.kind === 'constant') return { n: d.value, rel: d.rel, unknown: d.unknown };
      return { n: BigInt.asIntN(64, sectionStart(d.section!) + d.value), rel: 1, unknown: d.unknown };
    };
    // NASM: $ is the position at the start of the line (also for every repetition of `times`).
    let lineStart: bigint | null = null;
    const here = (): SymbolValue => absolute ? { n: absolute.value, rel: 0 } : { n: lineStart ?? sectionStart(sec.name) + sec.size, rel: 1 };
    const start = (): SymbolValue => absolute ? { n: absolute.value, rel: 0 } : { n: sectionStart(sec.name), rel: 1 };
    const lookup = (name: string): SymbolValue | undefined => {
      const d = symbols.get(name);
      if (d) return symValue(d);
      const p = prevSyms?.get(name);
      if (!p) { usedUndefined = true; return undefined; }
      const v = symValue(p);
      // A label further on in this section: the previous pass's address moved on by as much as
      // this line has since then (what grew before this line lies before the label too). Without
      // that, a short forward jump read last pass's target against this pass's address, looked
      // like a long backward jump and was made near for good (NASM keeps it short).
      if (p.kind === 'label' && p.section === sec.name && !absolute && shift !== 0n) return { ...v, n: BigInt.asIntN(64, v.n + shift) };
      return v;
    };
    const evalExpr = (e: Expr, regs = false, hereOverride?: SymbolValue): Value =>
      evaluate(e, { lookup, here: hereOverride ?? here(), start: start(), allowUndefined: !final, allowRegs: regs });
    const diag = (col: number, message: string, severity: 'error' | 'warning' = 'error') => diags.push({ line: cur.line, col, severity, message });
    const critical = (e: Expr, what: string): bigint => {
      const v = evalExpr(e);
      if (v.unknown && final) throw new AsmError(`${what} depends on an undefined symbol`, e.col);
      return v.unknown ? 0n : v.n;
    };

    const defineSymbol = (name: string, kind: 'label' | 'constant', value: bigint, rel: number, unknown: boolean, col: number) => {
      if (symbols.has(name)) { diag(col, `symbol '${name}' redefined (first defined at ${symbols.get(name)!.line.loc.file}:${symbols.get(name)!.line.loc.line})`); return; }
      symbols.set(name, { name, kind, section: kind === 'label' ? sec.name : undefined, value, rel, unknown, line: cur.line });
    };

    const emit = (bytes: number[] | Uint8Array, rec: StmtRecord) => {
      if (absolute) { if (bytes.length) throw new AsmError(`code or data in an absolute section (struc or 'absolute')`, 1); return; }
      if (sec.nobits) {
        if (bytes.some((b) => b !== 0)) diag(1, `initialized data in a nobits section ignored`, 'warning');
        sec.size += BigInt(bytes.length);
        for (let k = 0; k < bytes.length; k++) rec.bytes.push(0);
        return;
      }
      for (const b of bytes) { sec.bytes.push(b); rec.bytes.push(b); }
      sec.size += BigInt(bytes.length);
    };
    const reserve = (n: bigint, rec: StmtRecord) => {
      if (n < 0n) throw new AsmError(`negative reservation size`, 1);
      if (n > BigInt(MAX_TIMES)) throw new AsmError(`reservation of ${n} bytes too large`, 1);
      if (absolute) { absolute.value += n; return; }
      if (sec.nobits) { sec.size += n; return; }
      const zeros = new Array<number>(Number(n)).fill(0);
      emit(zeros, rec);
    };

    const doBody = (body: Body, rec: StmtRecord, times: number): void => {
      switch (body.k) {
        case 'none': return;
        case 'insn': {
          for (let i = 0; i < times; i++) {
            const addr = absolute ? absolute.value : sectionStart(sec.name) + sec.size;
            const r = encodeInstruction(body, {
              bits, addr: BigInt.asUintN(64, addr), defaultRel, forceNear: !!cur.forceNear,
              evaluate: (e, regs) => evalExpr(e, regs),
              warn: (col, msg) => diag(col, msg, 'warning'),
            });
            if (r.near && !final) cur.forceNear = true;
            emit(r.bytes, rec);
          }
          return;
        }
        case 'data': {
          const usesHere = body.items.some((it) => it.k === 'expr' && exprUsesHere(it.e));
          let once: number[] | null = null;
          for (let i = 0; i < times; i++) {
            if (once && !usesHere) { emit(once, rec); continue; }
            const out: number[] = [];
            for (const it of body.items) {
              if (it.k === 'str') pushAll(out, stringBytes(it.s, body.size));
              else if (it.k === 'undef') for (let k = 0; k < body.size; k++) out.push(0);
              else if (it.k === 'float') {
                const fb = floatData(it.text, body.size);
                if (!fb) throw new AsmError(`floating-point constant not supported in a ${body.size}-byte data item`, it.col);
                pushAll(out, fb);
              } else {
                const v = evalExpr(it.e, false);
                if (!v.unknown && !fitsData(v.n, body.size)) diag(it.col, `${['', 'byte', 'word', '', 'dword'][body.size] ?? 'data'} data exceeds bounds`, 'warning');
                pushAll(out, intBytes(v.unknown ? 0n : v.n, body.size));
              }
            }
            once = out;
            emit(out, rec);
          }
          return;
        }
        case 'res': {
          const n = critical(body.count, `'res' count`);
          reserve(n * BigInt(body.size) * BigInt(times), rec);
          return;
        }
        case 'equ': throw new AsmError(`'equ' cannot be repeated`, 1);
        case 'bits':
          bits = body.bits;
          if (!firstBitsSeen && records.every((r) => r.bytes.length === 0)) firstBitsSeen = true;
          return;
        case 'org': {
          const v = critical(body.e, `'org'`);
          if (orgSet && v !== org) throw new AsmError(`'org' redefined`, body.col);
          org = v; orgSet = true;
          return;
        }
        case 'section': {
          absolute = null;
          let s = sections.get(body.name);
          if (!s) { s = newSection(body.name, sections.size, body.nobits); sections.set(body.name, s); }
          if (body.align) s.align = Math.max(s.align, body.align);
          if (body.start) s.fixedStart = critical(body.start, `'start='`);
          sec = s;
          return;
        }
        case 'default': defaultRel = body.rel; return;
        case 'align': {
          const n = critical(body.n, `'align'`);
          if (n <= 0n || (n & (n - 1n)) !== 0n) throw new AsmError(`alignment ${n} is not a power of two`, body.col);
          const offset = absolute ? absolute.value : sec.size;
          const pad = Number((n - (BigInt.asUintN(64, offset) % n)) % n);
          if (!absolute) sec.align = Math.max(sec.align, Number(n));
          if (body.fill) { doBody(body.fill, rec, pad); return; }
          if (body.b || sec.nobits || absolute) { reserve(BigInt(pad), rec); return; }
          emit(new Array<number>(pad).fill(0x90), rec);
          return;
        }
        case 'incbin': {
          let data: Uint8Array | undefined;
          try { data = this.opts.readBinary?.(body.file, cur.line.loc.file); } catch (e) { throw new AsmError(`incbin '${body.file}': ${(e as Error).message}`, body.col); }
          if (!data) throw new AsmError(`unable to open incbin file '${body.file}'`, body.col);
          const skip = body.skip ? Number(critical(body.skip, `incbin skip`)) : 0;
          const len = body.len ? Number(critical(body.len, `incbin length`)) : data.length - skip;
          for (let i = 0; i < times; i++) emit(data.subarray(skip, skip + Math.max(0, len)), rec);
          return;
        }
        case 'absolute': {
          const v = critical(body.e, `'absolute'`);
          absolute = { value: v, back: absolute ? absolute.back : sec };
          return;
        }
        case 'struc': {
          defineSymbol(body.name, 'constant', 0n, 0, false, body.col);
          struc = { name: body.name, line: cur.line };
          absolute = { value: 0n, back: absolute ? absolute.back : sec };
          return;
        }
        case 'endstruc': {
          if (!struc || !absolute) throw new AsmError(`'endstruc' without 'struc'`, body.col);
          defineSymbol(`${struc.name}_size`, 'constant', absolute.value, 0, false, body.col);
          sec = absolute.back; absolute = null; struc = null;
          return;
        }
        case 'istruc': istruc = { base: sec.size, name: body.name }; return;
        case 'at': {
          if (!istruc) throw new AsmError(`'at' outside 'istruc'`, body.col);
          const f = critical(body.field, `'at' field`);
          const target = istruc.base + f;
          if (target < sec.size) throw new AsmError(`'at' field out of order or overlapping`, body.col);
          emit(new Array<number>(Number(target - sec.size)).fill(0), rec);
          doBody(body.body, rec, 1);
          return;
        }
        case 'iend': {
          if (!istruc) throw new AsmError(`'iend' without 'istruc'`, body.col);
          const size = lookup(`${istruc.name}_size`);
          if (size && !size.unknown) {
            const target = istruc.base + size.n;
            if (target > sec.size) emit(new Array<number>(Number(target - sec.size)).fill(0), rec);
          }
          istruc = null;
          return;
        }
      }
    };

    for (let k = 0; k < this.stmts.length; k++) {
      const st = this.stmts[k];
      cur = st;
      shift = 0n;
      const rec: StmtRecord = { stmt: st, addr: 0n, section: sec.name, bytes: [], nobits: sec.nobits };
      try {
        // A section/absolute switch on the same line applies before the label is defined.
        if (st.body.k === 'section' || st.body.k === 'absolute' || st.body.k === 'org' || st.body.k === 'struc') {
          if (!st.label) { doBody(st.body, rec, 1); records.push({ ...rec, section: sec.name }); continue; }
        }
        rec.section = sec.name;
        rec.nobits = sec.nobits;
        rec.addr = absolute ? absolute.value : sectionStart(sec.name) + sec.size;
        lineStart = absolute ? null : rec.addr;
        const pr = prevRecords?.[k]; // one record per statement, in every pass
        if (pr && !absolute && pr.section === rec.section && pr.stmt === st) shift = rec.addr - pr.addr;
        if (st.label) {
          if (st.body.k === 'equ') {
            const v = evalExpr(st.body.e);
            defineSymbol(st.label, 'constant', v.n, v.rel, v.unknown, st.labelCol ?? 1);
            records.push(rec);
            continue;
          }
          if (absolute) defineSymbol(st.label, 'constant', absolute.value, 0, false, st.labelCol ?? 1);
          else defineSymbol(st.label, 'label', sec.size, 1, false, st.labelCol ?? 1);
        }
        let times = 1;
        if (st.times) {
          const n = critical(st.times, `'times' count`);
          if (n < 0n) { diag(st.timesCol ?? 1, `'times' count ${n} is negative`); times = 0; }
          else if (n > BigInt(MAX_TIMES)) throw new AsmError(`'times' count ${n} too large`, st.timesCol ?? 1);
          else times = Number(n);
        }
        doBody(st.body, rec, times);
      } catch (e) {
        if (e instanceof ExprError || e instanceof EncodeError || e instanceof AsmError) diag(e.col, e.message);
        else diag(1, `internal assembler error: ${e instanceof Error ? e.message : String(e)}`);
      }
      lineStart = null;
      records.push(rec);
    }
    if (struc) diags.push({ line: struc.line, col: 1, severity: 'error', message: `'struc' without 'endstruc'` });
    void initialBits;
    const layout = layoutSections(sections, org);
    return { symbols, sections, layout, diags, usedUndefined, records, bits: this.firstBits(), org };
  }

  /** The mode the image starts in: the first `bits` directive before any code, else the default. */
  private firstBits(): 16 | 32 | 64 {
    for (const st of this.stmts) {
      if (st.body.k === 'bits') return st.body.bits;
      if (st.body.k === 'insn' || st.body.k === 'data') break;
    }
    return this.opts.defaultBits;
  }
}

function sameLayout(a: PassResult, b: PassResult): boolean {
  if (a.org !== b.org) return false;
  for (const [name, s] of b.layout.starts) if (a.layout.starts.get(name) !== s) return false;
  if (a.symbols.size !== b.symbols.size) return false;
  for (const [name, d] of b.symbols) {
    const o = a.symbols.get(name);
    if (!o || o.value !== d.value || o.section !== d.section || o.unknown !== d.unknown) return false;
  }
  for (const [name, s] of b.sections) if (a.sections.get(name)?.size !== s.size) return false;
  return true;
}

export function exprUsesHere(e: Expr): boolean {
  switch (e.k) {
    case 'here': return true;
    case 'un': return exprUsesHere(e.a);
    case 'bin': return exprUsesHere(e.a) || exprUsesHere(e.b);
    case 'cond': return exprUsesHere(e.c) || exprUsesHere(e.a) || exprUsesHere(e.b);
    default: return false;
  }
}

/** Append every element of `src` (a spread would pass them all as arguments: a long string overflows the stack). */
function pushAll(dst: number[], src: ArrayLike<number>): void {
  for (let k = 0; k < src.length; k++) dst.push(src[k]);
}

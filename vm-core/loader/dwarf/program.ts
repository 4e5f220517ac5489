// The debugger's view of a program's DWARF: functions, inlined calls and lexical blocks by pc
// (DWARF 5 §3.3, §3.4, §3.5), their variables and parameters with types and locations (§4.1),
// global variables, and the call frame information. Built on demand from the sections the ELF
// loader keeps (GuestImage.debug); never throws.
import { DW_AT, DW_TAG } from './constants';
import { DieTree, readLocList, type Die } from './dies';
import { CallFrameInfo } from './cfi';
import { TypeReader, type CType } from './types';
import { evaluateLocation, type Location, type LocationContext } from './location';
import { formConstant } from './forms';
import type { DebugSections, DwarfReport } from './sections';

export interface DwarfVariable {
  name: string;
  type: CType;
  param: boolean;
  die: Die;
}

/** One level of the source-level call chain at a pc: the function itself or a call inlined into it. */
export interface ScopeFrame {
  /** The subprogram, or the DW_TAG_inlined_subroutine entry. */
  die: Die;
  name: string;
  inlined: boolean;
  /** The concrete subprogram the code belongs to (its frame base). */
  subprogram: Die;
  /** Where an inlined call was made (DW_AT_call_file index, DW_AT_call_line), for the outer frame's line. */
  callFile?: number;
  callLine?: number;
  /** Lexical blocks containing the pc, outermost first. */
  blocks: Die[];
}

export class DwarfProgram {
  readonly tree: DieTree;
  readonly types: TypeReader;
  readonly cfi: CallFrameInfo;
  readonly addressSize: number;
  readonly problems: string[] = [];
  private subprograms: { low: number; high: number; die: Die }[] = [];
  private globals = new Map<string, Die>();

  constructor(secs: DebugSections, addressSize: number) {
    const report: DwarfReport = (s, off, msg) => { if (this.problems.length < 100) this.problems.push(`${s.name}+0x${off.toString(16)}: ${msg}`); };
    this.addressSize = addressSize;
    this.tree = new DieTree(secs, report);
    this.types = new TypeReader(this.tree);
    this.cfi = new CallFrameInfo(secs, addressSize, report);
    for (const u of this.tree.units) if (u.root) this.index(u.root, 0);
    this.subprograms.sort((a, b) => a.low - b.low);
  }

  private index(d: Die, depth: number): void {
    if (depth > 64) return;
    for (const c of d.children) {
      if (c.tag === DW_TAG.subprogram) {
        for (const [low, high] of this.tree.ranges(c)) this.subprograms.push({ low, high, die: c });
      } else if (c.tag === DW_TAG.variable && depth === 0) {
        // File-scope variables (a definition with a location wins over a declaration).
        const name = this.tree.name(c);
        if (name && (c.attrs.has(DW_AT.location) || c.attrs.has(DW_AT.const_value) || !this.globals.has(name))) this.globals.set(name, c);
      }
      if (c.tag === DW_TAG.namespace || c.tag === DW_TAG.module) this.index(c, depth + 1);
    }
  }

  /** The concrete subprogram entry whose code covers `pc`. */
  subprogramAt(pc: number): Die | undefined {
    const s = this.subprograms;
    let lo = 0, hi = s.length - 1, best = -1;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (s[mid].low <= pc) { best = mid; lo = mid + 1; } else hi = mid - 1; }
    for (let i = best; i >= 0 && i > best - 64; i--) if (pc >= s[i].low && pc < s[i].high) return s[i].die;
    return undefined;
  }

  /** The function's low pc (entry point) for the subprogram. */
  entryOf(d: Die): number | undefined {
    return this.tree.addr(d, DW_AT.entry_pc) ?? this.tree.ranges(d)[0]?.[0];
  }

  /**
   * The source-level frames at `pc`, innermost first: each inlined call containing pc (§3.3.8), then
   * the function. Empty when no function covers pc.
   */
  scopesAt(pc: number): ScopeFrame[] {
    const sub = this.subprogramAt(pc);
    if (!sub) return [];
    const chain: ScopeFrame[] = [];
    let cur: ScopeFrame = { die: sub, name: this.tree.name(sub) ?? '??', inlined: false, subprogram: sub, blocks: [] };
    chain.push(cur);
    let node: Die = sub;
    for (let depth = 0; depth < 128; depth++) {
      const next = node.children.find((c) => (c.tag === DW_TAG.lexical_block || c.tag === DW_TAG.inlined_subroutine)
        && this.tree.ranges(c).some(([l, h]) => pc >= l && pc < h));
      if (!next) break;
      if (next.tag === DW_TAG.lexical_block) cur.blocks.push(next);
      else {
        cur = { die: next, name: this.tree.name(next) ?? '??', inlined: true, subprogram: sub, blocks: [],
          callFile: formConstant(next.attrs.get(DW_AT.call_file)), callLine: formConstant(next.attrs.get(DW_AT.call_line)) };
        chain.push(cur);
      }
      node = next;
    }
    return chain.reverse();
  }

  /** Parameters of a frame, in declaration order. */
  params(f: ScopeFrame): DwarfVariable[] {
    return f.die.children.filter((c) => c.tag === DW_TAG.formal_parameter).map((c) => this.variable(c, true)).filter((v): v is DwarfVariable => !!v);
  }

  /** Locals of a frame visible at the pc: innermost block first, then outer ones (as gdb's `info locals`). */
  locals(f: ScopeFrame): DwarfVariable[] {
    const out: DwarfVariable[] = [];
    for (const b of [...f.blocks].reverse().concat([f.die])) {
      for (const c of b.children) if (c.tag === DW_TAG.variable) { const v = this.variable(c, false); if (v) out.push(v); }
    }
    return out;
  }

  /** An enumerator of a file-scope enumeration type: its type and value. */
  enumerator(name: string): { type: CType; value: bigint } | undefined {
    if (!this.enumerators) {
      this.enumerators = new Map();
      for (const u of this.tree.units) {
        for (const c of u.root?.children ?? []) {
          if (c.tag !== DW_TAG.enumeration_type) continue;
          const t = this.types.type(c);
          if (t.kind !== 'enum') continue;
          for (const [n, v] of t.values) if (!this.enumerators.has(n)) this.enumerators.set(n, { type: t, value: v });
        }
      }
    }
    return this.enumerators.get(name);
  }
  private enumerators: Map<string, { type: CType; value: bigint }> | undefined;

  global(name: string): DwarfVariable | undefined {
    const d = this.globals.get(name);
    return d ? this.variable(d, false) : undefined;
  }
  globalNames(): string[] { return [...this.globals.keys()]; }

  private variable(d: Die, param: boolean): DwarfVariable | undefined {
    const name = this.tree.name(d);
    if (!name) return undefined;
    return { name, type: this.types.typeOf(d), param, die: d };
  }

  /** Where a variable lives at `pc` (§2.6): its location expression or the list entry covering pc; a constant value. */
  locate(v: DwarfVariable, pc: number, ctx: LocationContext): Location | { kind: 'const'; value: Uint8Array | bigint } {
    const d = v.die;
    const cv = this.tree.inherited(d, DW_AT.const_value);
    if (cv && !d.attrs.has(DW_AT.location)) {
      if (cv.value.kind === 'block') return { kind: 'const', value: cv.value.bytes };
      if (cv.value.kind === 'const') return { kind: 'const', value: BigInt(cv.value.value) };
      return { kind: 'optimized' };
    }
    const lv = d.attrs.get(DW_AT.location);
    if (!lv) return { kind: 'optimized' };
    if (lv.kind === 'block') return evaluateLocation(lv.bytes, ctx);
    let list;
    try { list = readLocList(this.tree.secs, d.unit, lv); } catch (e) { return { kind: 'error', message: `bad location list: ${(e as Error).message}` }; }
    const hit = list.find((e) => pc >= e.low && pc < e.high);
    return hit ? evaluateLocation(hit.expr, ctx) : { kind: 'optimized' };
  }

  /** The function's DW_AT_frame_base, evaluated: the value DW_OP_fbreg offsets are relative to. */
  frameBase(sub: Die, pc: number, ctx: LocationContext): bigint | undefined {
    const fb = sub.attrs.get(DW_AT.frame_base);
    if (!fb) return undefined;
    let expr: Uint8Array | undefined;
    if (fb.kind === 'block') expr = fb.bytes;
    else {
      try { expr = readLocList(this.tree.secs, sub.unit, fb).find((e) => pc >= e.low && pc < e.high)?.expr; } catch { return undefined; }
    }
    if (!expr) return undefined;
    const l = evaluateLocation(expr, ctx);
    if (l.kind === 'memory') return l.addr;
    if (l.kind === 'register') return ctx.reg(l.reg);
    if (l.kind === 'value') return l.value;
    return undefined;
  }

  /** Named types (typedefs, struct/union/enum tags, base types) for casts and sizeof in expressions. */
  findType(name: string): CType | undefined {
    if (this.typeCache.has(name)) return this.typeCache.get(name);
    const t = this.findTypeUncached(name);
    if (this.typeCache.size < 10_000) this.typeCache.set(name, t);
    return t;
  }
  private typeCache = new Map<string, CType | undefined>();

  private findTypeUncached(name: string): CType | undefined {
    const m = /^(struct|union|enum)\s+(\w+)$/.exec(name);
    const tagWanted = m ? (m[1] === 'struct' ? DW_TAG.structure_type : m[1] === 'union' ? DW_TAG.union_type : DW_TAG.enumeration_type) : undefined;
    const want = m ? m[2] : name;
    let fallback: CType | undefined;
    for (const u of this.tree.units) {
      for (const c of u.root?.children ?? []) {
        const ok = tagWanted !== undefined ? c.tag === tagWanted : c.tag === DW_TAG.typedef || c.tag === DW_TAG.base_type;
        if (!ok || this.tree.str(c, DW_AT.name) !== want) continue;
        const t = this.types.type(c);
        if (!c.attrs.get(DW_AT.declaration)) return t;
        fallback ??= t;
      }
    }
    return fallback;
  }
}

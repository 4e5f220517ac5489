// Preprocessor macros (NASM manual chapter 4): single-line %define/%xdefine/%idefine with
// parameters, and multi-line %macro definitions with parameter substitution (%1, %{10}, %0,
// %%local), greedy parameters and defaults.
import { Token, tokenize, untokenize } from './lexer';
import type { SourceLoc } from './source';

export interface SingleLineMacro {
  name: string;
  /** Parameter names, or null for a macro without parentheses. */
  params: string[] | null;
  body: Token[];
  caseless: boolean;
}

export interface RawLine { text: string; loc: SourceLoc }

export interface MultiLineMacro {
  name: string;
  min: number;
  max: number;
  greedy: boolean;
  defaults: string[];
  body: RawLine[];
  caseless: boolean;
  loc: SourceLoc;
}

export class DefineTable {
  private exact = new Map<string, SingleLineMacro[]>();
  private caseless = new Map<string, SingleLineMacro[]>();

  define(m: SingleLineMacro): void {
    const map = m.caseless ? this.caseless : this.exact;
    const key = m.caseless ? m.name.toLowerCase() : m.name;
    const nparams = m.params ? m.params.length : -1;
    const list = (map.get(key) ?? []).filter((x) => (x.params ? x.params.length : -1) !== nparams);
    list.push(m);
    map.set(key, list);
  }

  undef(name: string): void {
    this.exact.delete(name);
    this.caseless.delete(name.toLowerCase());
  }

  has(name: string): boolean {
    return this.exact.has(name) || this.caseless.has(name.toLowerCase());
  }

  lookup(name: string): SingleLineMacro[] | undefined {
    return this.exact.get(name) ?? this.caseless.get(name.toLowerCase());
  }
}

export class MacroTable {
  private exact = new Map<string, MultiLineMacro[]>();
  private caseless = new Map<string, MultiLineMacro[]>();

  define(m: MultiLineMacro): void {
    const map = m.caseless ? this.caseless : this.exact;
    const key = m.caseless ? m.name.toLowerCase() : m.name;
    const list = (map.get(key) ?? []).filter((x) => !(x.min === m.min && x.max === m.max));
    list.push(m);
    map.set(key, list);
  }

  undef(name: string): void { this.exact.delete(name); this.caseless.delete(name.toLowerCase()); }

  has(name: string): boolean { return this.exact.has(name) || this.caseless.has(name.toLowerCase()); }

  /** All definitions of `name` (for overloads by parameter count). */
  lookup(name: string): MultiLineMacro[] {
    return [...(this.exact.get(name) ?? []), ...(this.caseless.get(name.toLowerCase()) ?? [])];
  }
}

export const MAX_SMACRO_DEPTH = 64;

export class ExpansionError extends Error {
  constructor(message: string, public col: number) { super(message); }
}

/**
 * Expands single-line macros in a token list. A macro is not expanded again inside its own
 * expansion (NASM's rule against infinite recursion). Returns the new tokens and whether
 * anything changed.
 */
export function expandDefines(toks: Token[], defs: DefineTable, active: Set<SingleLineMacro> = new Set(), depth = 0): { toks: Token[]; changed: boolean } {
  if (depth > MAX_SMACRO_DEPTH) throw new ExpansionError(`single-line macro expansion nested too deeply`, toks[0]?.col ?? 1);
  const out: Token[] = [];
  let changed = false;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.kind !== 'id') { out.push(t); continue; }
    const cands = defs.lookup(t.text);
    if (!cands) { out.push(t); continue; }
    let args: Token[][] | null = null;
    let end = i;
    const next = toks[i + 1];
    if (next && next.text === '(' && cands.some((c) => c.params)) {
      const r = collectArgs(toks, i + 1);
      if (r) { args = r.args; end = r.end; }
    }
    const m = args
      ? cands.find((c) => c.params && c.params.length === args!.length) ?? cands.find((c) => c.params && c.params.length === 0 && args!.length === 1 && args![0].length === 0)
      : cands.find((c) => !c.params);
    if (!m || active.has(m)) { out.push(t); continue; }
    let body: Token[];
    if (m.params && args) {
      body = [];
      for (const b of m.body) {
        const pi = b.kind === 'id' ? m.params.indexOf(b.text) : -1;
        if (pi >= 0) {
          const a = args[pi] ?? [];
          a.forEach((x, k) => body.push({ ...x, space: k === 0 ? b.space : x.space }));
        } else body.push(b);
      }
      i = end;
    } else body = m.body;
    active.add(m);
    const sub = expandDefines(body.map((b) => ({ ...b, col: t.col })), defs, active, depth + 1).toks;
    active.delete(m);
    sub.forEach((x, k) => out.push(k === 0 ? { ...x, space: t.space } : x));
    changed = true;
  }
  return { toks: out, changed };
}

/** Parses `( a, b(c,d), e )` starting at toks[open]; returns args and the index of ')'. */
function collectArgs(toks: Token[], open: number): { args: Token[][]; end: number } | null {
  const args: Token[][] = [[]];
  let depth = 0;
  for (let j = open + 1; j < toks.length; j++) {
    const t = toks[j];
    if (t.text === '(' ) depth++;
    if (t.text === ')') {
      if (depth === 0) return { args, end: j };
      depth--;
    }
    if (t.text === ',' && depth === 0) { args.push([]); continue; }
    args[args.length - 1].push(t);
  }
  return null;
}

/** Splits multi-line macro arguments at top-level commas; `{a, b}` groups one argument. */
export function splitMacroArgs(toks: Token[]): Token[][] {
  if (toks.length === 0) return [];
  const args: Token[][] = [[]];
  let depth = 0;
  for (const t of toks) {
    if (t.text === '(' || t.text === '[') depth++;
    if (t.text === ')' || t.text === ']') depth--;
    if (t.text === ',' && depth === 0) { args.push([]); continue; }
    args[args.length - 1].push(t);
  }
  return args.map((a) => {
    if (a.length >= 2 && a[0].text === '{' && a[a.length - 1].text === '}') return a.slice(1, -1);
    return a;
  });
}

export interface MacroCall {
  params: string[];
  /** Number of parameters given at the call (NASM's %0). */
  count: number;
  /**
   * How far %rotate has turned the first `count` parameters left: %n is params[(n - 1 + rot) % count]
   * (an offset, not a rebuilt list: a macro rotating through 100,000 parameters stays linear).
   */
  rot: number;
  unique: number;
}

/** The text of parameter %n (1-based) of a call, after its rotations; '' past the last. */
export function macroParam(call: MacroCall, n: number): string {
  if (n <= call.count) return call.params[(n - 1 + call.rot) % call.count];
  return call.params[n - 1] ?? '';
}

/** Substitutes %1..%n, %{n}, %0 and %%name in one macro body line. */
export function substituteParams(text: string, call: MacroCall): string {
  if (!text.includes('%')) return text;
  const toks = tokenize(text, 'pp');
  let changed = false;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.kind !== 'pp') continue;
    let rep: string | undefined;
    const m = /^%(?:\{([0-9]+)\}|([0-9]+))$/.exec(t.text);
    if (m) {
      const n = Number(m[1] ?? m[2]);
      rep = n === 0 ? String(call.count) : macroParam(call, n);
    } else if (t.text.startsWith('%%')) {
      rep = `..@${call.unique}.${t.text.slice(2)}`;
    }
    if (rep !== undefined) {
      toks[i] = { ...t, kind: 'id', text: rep };
      changed = true;
    }
  }
  return changed ? untokenize(toks) : text;
}

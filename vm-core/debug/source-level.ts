// The source-level (C) view of a stopped vCPU for the front ends: its DWARF frames, cached until the
// machine moves, with Locals and Arguments scopes and edits recorded like every other debugger edit.
import type { DebugEngine } from './engine';
import { CDebugInfo, type CFrame } from './c-frames';
import type { VarNode } from './inspect';
import { bytesOf, isFloat, type CValue } from './c-values';
import { parseValue } from './inspect';
import { CExpression, isBuiltinTypeName, type CExprScope } from './c-expr';
import { sizeOf, typeName } from '../loader/dwarf/types';

export class SourceLevel {
  private info: CDebugInfo | null | undefined;
  private cache = new Map<number, { at: string; frames: CFrame[] }>();

  constructor(readonly engine: DebugEngine) {}
  private get e(): DebugEngine { return this.engine; }

  /** The C debug information, or undefined for images without DWARF. */
  get c(): CDebugInfo | undefined {
    if (this.info === undefined) this.info = CDebugInfo.of(this.e.image) ?? null;
    return this.info ?? undefined;
  }

  private stamp(vi: number): string {
    const v = this.e.views[vi];
    return `${this.e.recording.position()}:${v.rip()}:${v.gpr(4)}:${this.edits}`;
  }
  private edits = 0;

  /** Frames of vCPU `vi`, innermost first; empty unless the vCPU is in code with DWARF. */
  frames(vi: number): CFrame[] {
    const c = this.c;
    if (!c || !this.e.views[vi]) return [];
    const at = this.stamp(vi);
    const hit = this.cache.get(vi);
    if (hit && hit.at === at) return hit.frames;
    const frames = c.frames(this.e.views[vi]);
    this.cache.set(vi, { at, frames });
    return frames;
  }

  /** True when the innermost frame is a C function (the stack shows source frames). */
  active(vi: number): boolean {
    return this.frames(vi)[0]?.scope !== undefined;
  }

  scopes(vi: number, index: number): { name: string; get: () => VarNode[] }[] {
    const c = this.c;
    const f = this.frames(vi)[index];
    if (!c || !f?.scope) return [];
    const view = this.e.views[vi];
    const edit = (v: CValue, text: string) => this.store(vi, v, text);
    return [
      { name: 'Locals', get: () => c.localsScope(view, f, edit) },
      { name: 'Arguments', get: () => c.argsScope(view, f, edit) },
    ];
  }

  /** What C expressions see in frame `index` of vCPU `vi` (globals only when there is no C frame). */
  exprScope(vi: number, index: number): CExprScope | undefined {
    const c = this.c;
    const view = this.e.views[vi];
    if (!c || !view) return undefined;
    const f = this.frames(vi)[index] ?? this.frames(vi)[0];
    const p = c.program;
    return {
      env: c.env(view),
      variable: (name) => {
        if (f?.scope) {
          const v = p.locals(f.scope).find((x) => x.name === name) ?? p.params(f.scope).find((x) => x.name === name);
          if (v) return c.value(view, f, v);
        }
        const g = p.global(name);
        if (!g) {
          const en = p.enumerator(name);
          return en ? { type: en.type, bytes: bytesOf(en.value, sizeOf(en.type)) } : undefined;
        }
        return f ? c.value(view, f, g) : c.valueAt(view, undefined, g.type, p.locate(g, 0, { addressSize: p.addressSize, reg: () => undefined, read: () => undefined }));
      },
      register: (name) => view.registerValue(name),
      type: (name) => p.findType(name),
      functionAddress: (name) => {
        const fn = this.e.image.functions?.find((x) => x.name === name);
        return fn ? BigInt(fn.low) : undefined;
      },
    };
  }

  /** Parses and evaluates a C expression; throws ExprError (with a column) when it is not one. */
  evaluate(vi: number, index: number, text: string): { value: string; type: string; node: VarNode; address?: bigint; size: number } {
    const scope = this.exprScope(vi, index);
    if (!scope) throw new Error('no C debug information');
    const isVar = (n: string) => scope.variable(n) !== undefined;
    const expr = CExpression.parse(text, (n) => !isVar(n) && (scope.type(n) !== undefined || isBuiltinTypeName(n)));
    const v = expr.evaluate(scope);
    const c = this.c!;
    const node = c.node(this.e.views[vi], text, v, (val, t) => this.store(vi, val, t), `(${text})`);
    return { value: node.value, type: typeName(v.type), node, address: v.addr, size: sizeOf(v.type) };
  }

  /** setVariable on a scalar: the new value is parsed as a number and stored as an edit. */
  store(vi: number, v: CValue, text: string): string {
    const c = this.c!;
    const view = this.e.views[vi];
    const t = text.trim();
    let x: bigint | number;
    if (isFloat(v.type)) {
      x = Number(t);
      if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t) || !Number.isFinite(x)) throw new Error(`'${text}' is not a floating-point number`);
    } else x = parseValue(t);
    this.e.edit(`set ${text}`, () => c.store(view, v, x));
    this.edits++;
    return c.node(view, '', reread(c, view, v), () => '', '').value;
  }
}

function reread(c: CDebugInfo, view: import('./inspect').VcpuView, v: CValue): CValue {
  if (v.addr !== undefined) {
    const r = c.env(view).read(v.addr, v.bytes?.length ?? 0);
    if (r) return { ...v, bytes: r };
  }
  if (v.reg !== undefined) {
    const regs = c.registers(view);
    const x = regs.get(v.reg);
    if (x !== undefined && v.bytes) {
      const b = new Uint8Array(v.bytes.length);
      let y = x;
      for (let k = 0; k < b.length; k++) { b[k] = Number(y & 0xffn); y >>= 8n; }
      return { ...v, bytes: b };
    }
  }
  return v;
}

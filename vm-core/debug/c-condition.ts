// Breakpoint conditions in C (issue 15): `p->val == 3` on a breakpoint in a C guest is a C expression
// over the variables of the innermost C frame of the vCPU that reached it, true when non-zero (a
// pointer when not null), as gdb's `break ... if COND`. The register language (expr.ts) stays the
// fallback: a condition that names no C variable there (`rax == 5`) is tested as before.
import type { DebugEngine } from './engine';
import { SourceLevel } from './source-level';
import { CExpression, isBuiltinTypeName } from './c-expr';
import { isFloat, toBigInt, toNumber, type CValue } from './c-values';
import { stripType } from '../loader/dwarf/types';
import { ExprError } from './expr';

/** Truth of a C value as a condition: scalars and pointers compare with zero; anything else is an error. */
export function cTruth(v: CValue): boolean {
  const t = stripType(v.type);
  if (t.kind === 'struct' || t.kind === 'union' || t.kind === 'array' || t.kind === 'function' || t.kind === 'void') {
    throw new ExprError(`a ${t.kind} is not a condition (compare a member or use its address)`, 1);
  }
  if (v.unavailable && !v.bytes) throw new ExprError(`value ${v.unavailable}`, 1);
  if (isFloat(v.type)) return (toNumber(v) ?? 0) !== 0;
  return (toBigInt(v) ?? 0n) !== 0n;
}

export class CConditions {
  private level: SourceLevel | undefined;
  constructor(private readonly engine: DebugEngine) {}

  private source(): SourceLevel {
    if (!this.level || this.level.engine !== this.engine) this.level = new SourceLevel(this.engine);
    return this.level;
  }

  /** True when the image has C debug information (conditions may then be C). */
  get available(): boolean { return this.source().c !== undefined; }

  /** Check the syntax of a C condition; throws ExprError naming the column. */
  parse(text: string): void {
    const p = this.source().c?.program;
    CExpression.parse(text, (n) => p?.findType(n) !== undefined || isBuiltinTypeName(n));
  }

  /** The condition's truth in vCPU `vi`'s innermost C frame; throws when it is not a C expression there. */
  test(text: string, vi: number): boolean {
    const sl = this.source();
    if (!sl.active(vi)) throw new ExprError('not stopped in C code', 1);
    const scope = sl.exprScope(vi, 0);
    if (!scope) throw new ExprError('no C debug information', 1);
    // As the evaluate request parses: a name is a type only where no variable of that name is in scope.
    const expr = CExpression.parse(text, (n) => scope.variable(n) === undefined && (scope.type(n) !== undefined || isBuiltinTypeName(n)));
    return cTruth(expr.evaluate(scope));
  }
}

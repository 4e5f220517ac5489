// The %if family (NASM manual 4.4): evaluates the condition of one conditional directive.
import { Token, tokenize, untokenize } from './lexer';
import { parseExpression, ExprError } from './expr';
import { evaluate } from './evaluate';
import { DefineTable, MacroTable } from './pp-macros';

export interface ConditionContext {
  defs: DefineTable;
  macros: MacroTable;
  expand(toks: Token[]): Token[];
}

/** Evaluates a preprocessor numeric expression (no labels: they are not known yet). */
export function ppEvaluate(toks: Token[], ctx: ConditionContext, endCol: number): bigint {
  const text = untokenize(ctx.expand(toks));
  const asmToks = tokenize(text, 'asm');
  if (asmToks.length === 0) throw new ExprError('expression expected', endCol);
  const e = parseExpression(asmToks, endCol);
  const v = evaluate(e, { lookup: () => undefined });
  return v.n;
}

/** Condition of %ifXXX / %elifXXX (`kind` without the if/elif prefix, e.g. 'def', 'nidn', ''). */
export function evalCondition(kind: string, args: Token[], ctx: ConditionContext, endCol: number): boolean {
  let negate = false;
  let k = kind;
  if (k.startsWith('n') && k !== 'num') { negate = true; k = k.slice(1); }
  let r: boolean;
  switch (k) {
    case '': r = ppEvaluate(args, ctx, endCol) !== 0n; break;
    case 'def': r = args.length > 0 && ctx.defs.has(args[0].text); break;
    case 'macro': r = args.length > 0 && ctx.macros.has(args[0].text); break;
    case 'idn': case 'idni': {
      const ex = ctx.expand(args);
      const comma = ex.findIndex((t) => t.text === ',');
      if (comma < 0) throw new ExprError(`%if${kind} expects two comma-separated arguments`, args[0]?.col ?? endCol);
      const a = ex.slice(0, comma).map((t) => t.text).join(' ');
      const b = ex.slice(comma + 1).map((t) => t.text).join(' ');
      r = k === 'idni' ? a.toLowerCase() === b.toLowerCase() : a === b;
      break;
    }
    case 'num': { const ex = ctx.expand(args); r = ex.length === 1 && ex[0].kind === 'num'; break; }
    case 'str': { const ex = ctx.expand(args); r = ex.length === 1 && ex[0].kind === 'str'; break; }
    case 'id': { const ex = ctx.expand(args); r = ex.length === 1 && ex[0].kind === 'id'; break; }
    case 'empty': r = ctx.expand(args).length === 0; break;
    default: throw new ExprError(`unknown conditional directive '%if${kind}'`, 1);
  }
  return negate ? !r : r;
}

export const CONDITION_KINDS = new Set(['', 'def', 'ndef', 'macro', 'nmacro', 'idn', 'nidn', 'idni', 'nidni', 'num', 'nnum', 'str', 'nstr', 'id', 'nid', 'empty', 'nempty']);

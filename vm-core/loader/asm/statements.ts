// Parsed form of one source line: optional label, optional `times`, and one body.
import type { Expr } from './expr';
import type { RegInfo } from './registers';
import type { PpLine } from './source';

export interface RegOperand { kind: 'reg'; reg: RegInfo; col: number }

export interface MemOperand {
  kind: 'mem';
  /** Operand size from byte/word/dword/... before the bracket (bytes). */
  size?: number;
  /** Expression inside the brackets (registers appear as %reg:name symbols). */
  expr: Expr;
  seg?: RegInfo;
  /** Displacement / address size written inside the brackets ([dword eax+1], [qword 0x10]). */
  dispSize?: number;
  rel?: boolean;
  abs?: boolean;
  nosplit?: boolean;
  far?: boolean;
  near?: boolean;
  col: number;
}

export interface ImmOperand {
  kind: 'imm';
  expr: Expr;
  size?: number;
  strict?: boolean;
  short?: boolean;
  near?: boolean;
  far?: boolean;
  col: number;
}

export interface FarImmOperand { kind: 'farimm'; seg: Expr; off: Expr; size?: number; col: number }

export type Operand = RegOperand | MemOperand | ImmOperand | FarImmOperand;

export interface Prefix { name: string; col: number }

export type DataItem =
  | { k: 'expr'; e: Expr; col: number }
  | { k: 'str'; s: string; col: number }
  | { k: 'float'; text: string; col: number }
  | { k: 'undef'; col: number };

export type Body =
  | { k: 'none' }
  | { k: 'insn'; prefixes: Prefix[]; mnemonic: string; mcol: number; operands: Operand[] }
  | { k: 'data'; size: number; items: DataItem[] }
  | { k: 'res'; size: number; count: Expr; col: number }
  | { k: 'equ'; e: Expr }
  | { k: 'bits'; bits: 16 | 32 | 64 }
  | { k: 'org'; e: Expr; col: number }
  | { k: 'section'; name: string; align?: number; nobits?: boolean; start?: Expr; col: number }
  | { k: 'default'; rel: boolean }
  | { k: 'align'; n: Expr; fill?: Body; b: boolean; col: number }
  | { k: 'incbin'; file: string; skip?: Expr; len?: Expr; col: number }
  | { k: 'absolute'; e: Expr; col: number }
  | { k: 'struc'; name: string; col: number }
  | { k: 'endstruc'; col: number }
  | { k: 'istruc'; name: string; col: number }
  | { k: 'at'; field: Expr; body: Body; col: number }
  | { k: 'iend'; col: number };

export interface Statement {
  line: PpLine;
  /** Fully qualified label name (local labels already prefixed). */
  label?: string;
  labelCol?: number;
  times?: Expr;
  timesCol?: number;
  body: Body;
  /** Pass-to-pass state: a branch that once needed the near form stays near. */
  forceNear?: boolean;
}

// The instruction table, built once from iced-x86's OpCodeInfo for every Code: mnemonic,
// explicit operand kinds, valid modes, operand/address size and memory operand size. NASM
// spellings that differ from iced's mnemonics are mapped in NASM_ALIASES.
import { Code, CodeExt, Mnemonic, OpCodeOperandKind as K, EncodingKind, MemorySize, MemorySizeExt } from 'iced-x86';

export interface OpEntry {
  code: Code;
  name: string;
  /** Operand kinds as written in NASM syntax (implicit string operands removed). */
  ops: K[];
  /** All operand kinds iced expects. */
  allOps: K[];
  mode16: boolean;
  mode32: boolean;
  mode64: boolean;
  /** Operand size 0/16/32/64 (0 = not size-specific). */
  os: number;
  /** Address size 0/16/32/64. */
  as: number;
  /** Size in bytes of the memory operand, 0 = unknown/any. */
  memSize: number;
  /** m16:16/m16:32/m16:64 far pointer in memory. */
  far: boolean;
  /** Index in iced's Code order (tie-break: NASM lists the same forms first). */
  order: number;
}

const IMPLICIT = new Set<K>([K.seg_rSI, K.es_rDI, K.seg_rDI, K.seg_rBX_al]);
const KEEP_EXPLICIT = new Set(['maskmovq', 'maskmovdqu', 'vmaskmovdqu']);

/** Mnemonic -> forms. */
const table = new Map<string, OpEntry[]>();

function build(): void {
  const names = Object.keys(Code).filter((k) => Number.isNaN(Number(k)));
  for (const k of names) {
    const code = (Code as unknown as Record<string, number>)[k] as Code;
    if (code === Code.INVALID || k.startsWith('Declare') || k === 'Zero_bytes' || /486|Undoc|undoc/.test(k)) continue;
    // iced names every EVEX, XOP and MVEX form with that prefix: skip them before asking iced (the
    // encoding check below would), which saves 2,000 WebAssembly look-ups at every start.
    if (/^(EVEX|XOP|MVEX)_/.test(k)) continue;
    const oc = CodeExt.opCode(code);
    try {
      const enc = oc.encoding;
      if (enc !== EncodingKind.Legacy && enc !== EncodingKind.VEX && enc !== EncodingKind.D3NOW) continue;
      if (!oc.isInstruction) continue;
      const name = Mnemonic[oc.mnemonic].toLowerCase();
      const allOps: K[] = [];
      for (let i = 0; i < oc.opCount; i++) allOps.push(oc.opKind(i));
      const hasImplicit = allOps.some((o) => IMPLICIT.has(o));
      const ops = hasImplicit ? (KEEP_EXPLICIT.has(name) ? allOps.filter((o) => !IMPLICIT.has(o)) : []) : allOps;
      const ms = oc.memorySize;
      const e: OpEntry = {
        code, name, ops, allOps,
        mode16: oc.mode16, mode32: oc.mode32, mode64: oc.mode64,
        os: oc.operandSize, as: oc.addressSize,
        memSize: ms === MemorySize.Unknown ? 0 : MemorySizeExt.size(ms),
        far: (name === 'jmp' || name === 'call') && (ms === MemorySize.SegPtr16 || ms === MemorySize.SegPtr32 || ms === MemorySize.SegPtr64),
        order: code,
      };
      let list = table.get(name);
      if (!list) table.set(name, (list = []));
      list.push(e);
    } finally {
      oc.free();
    }
  }
}
build();

/** NASM name -> iced mnemonic(s) and an optional operand-size restriction. */
interface Alias { names: string[]; os?: number }
const NASM_ALIASES = new Map<string, Alias>();
function alias(nasm: string, names: string[], os?: number): void { NASM_ALIASES.set(nasm, { names, os }); }

const CC: [string, string[]][] = [
  ['o', []], ['no', []], ['b', ['c', 'nae']], ['ae', ['nc', 'nb']], ['e', ['z']], ['ne', ['nz']],
  ['be', ['na']], ['a', ['nbe']], ['s', []], ['ns', []], ['p', ['pe']], ['np', ['po']],
  ['l', ['nge']], ['ge', ['nl']], ['le', ['ng']], ['g', ['nle']],
];
for (const [cc, others] of CC) {
  for (const o of others) {
    alias('j' + o, ['j' + cc]);
    alias('set' + o, ['set' + cc]);
    alias('cmov' + o, ['cmov' + cc]);
  }
}
alias('sal', ['shl']);
alias('xlat', ['xlatb']);
alias('pusha', ['pusha', 'pushad']); alias('popa', ['popa', 'popad']);
alias('pushaw', ['pusha'], 16); alias('popaw', ['popa'], 16);
alias('pushf', ['pushf', 'pushfd', 'pushfq']); alias('popf', ['popf', 'popfd', 'popfq']);
alias('pushfw', ['pushf'], 16); alias('popfw', ['popf'], 16);
alias('iret', ['iret', 'iretd', 'iretq']); alias('iretw', ['iret'], 16);
alias('retn', ['ret']);
alias('retw', ['ret'], 16); alias('retd', ['ret'], 32); alias('retq', ['ret'], 64);
alias('retnw', ['ret'], 16); alias('retnd', ['ret'], 32); alias('retnq', ['ret'], 64);
alias('retfw', ['retf'], 16); alias('retfd', ['retf'], 32); alias('retfq', ['retf'], 64);
alias('icebp', ['int1']); alias('int01', ['int1']); alias('int03', ['int3']);
alias('sysretd', ['sysret']); alias('sysexitd', ['sysexit']);
alias('sysret', ['sysret', 'sysretq']); alias('sysexit', ['sysexit', 'sysexitq']);
alias('pushw', ['push'], 16); alias('pushd', ['push'], 32); alias('pushq', ['push'], 64);
alias('popw', ['pop'], 16); alias('popd', ['pop'], 32); alias('popq', ['pop'], 64);
alias('loopz', ['loope']); alias('loopnz', ['loopne']);
alias('cmpxchg8b', ['cmpxchg8b']);
alias('fwait', ['wait']);
alias('hlt', ['hlt']);
alias('xsave64', ['xsave64']);
alias('leavew', ['leave'], 16); alias('leaved', ['leave'], 32); alias('leaveq', ['leave'], 64);
alias('enterw', ['enter'], 16); alias('enterd', ['enter'], 32); alias('enterq', ['enter'], 64);
alias('cwde', ['cwde']);

export interface Lookup { entries: OpEntry[]; os?: number }

/** Forms of a NASM mnemonic (lowercase), or undefined if unknown. */
export function lookupMnemonic(name: string): Lookup | undefined {
  const a = NASM_ALIASES.get(name);
  if (a) {
    const entries = a.names.flatMap((n) => table.get(n) ?? []);
    return entries.length ? { entries, os: a.os } : undefined;
  }
  const entries = table.get(name);
  return entries ? { entries } : undefined;
}

export function isMnemonic(name: string): boolean {
  const n = name.toLowerCase();
  return table.has(n) || NASM_ALIASES.has(n);
}

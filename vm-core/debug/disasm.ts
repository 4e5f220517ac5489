// Disassembly for the debugger (DAP disassemble): iced-x86's formatter in Intel syntax with GDB's
// conventions (0x-prefixed lower-case hex, a branch target or RIP-relative operand followed by
// `<symbol+offset>`, as gdb's `x/i` and `disassemble` print them) over guest memory read through
// the page tables, with source locations.
import { Decoder, DecoderOptions, Formatter, FormatterSyntax, Instruction, OpKind } from 'iced-x86';
import type { VcpuView } from './inspect';
import { lineForAddress, type GuestImage } from '../loader/image';

export interface DisassembledLine {
  address: number;
  bytes: string;
  text: string;
  symbol?: string;
  file?: string;
  line?: number;
  unreadable?: boolean;
}

let formatter: Formatter | undefined;
function fmt(): Formatter {
  if (!formatter) {
    formatter = new Formatter(FormatterSyntax.Nasm);
    formatter.firstOperandCharIndex = 8;
    // GDB's numbers: 0x174, not NASM/MASM's 174h.
    formatter.hexPrefix = '0x';
    formatter.hexSuffix = '';
    formatter.uppercaseHex = false;
    formatter.spaceAfterOperandSeparator = false;
  }
  return formatter;
}

/**
 * Disassemble `count` instructions starting `instructionOffset` instructions away from `address`
 * (negative offsets walk back by decoding from earlier line-map entries or byte by byte).
 */
export function disassemble(view: VcpuView, image: GuestImage, address: number, instructionOffset: number, count: number, bits: 16 | 32 | 64): DisassembledLine[] {
  let start = address;
  if (instructionOffset < 0) start = walkBack(view, image, address, -instructionOffset, bits);
  const out: DisassembledLine[] = [];
  let pc = start;
  if (instructionOffset > 0) {
    for (const l of decodeRun(view, image, pc, instructionOffset, bits)) pc = l.address + Math.max(1, l.bytes.length / 2);
  }
  for (const l of decodeRun(view, image, pc, count, bits)) out.push(l);
  return out;
}

function walkBack(view: VcpuView, image: GuestImage, address: number, n: number, bits: 16 | 32 | 64): number {
  // Prefer instruction starts known from the line map; else decode from a guess and resynchronise.
  for (let back = n * 4; back <= n * 15; back += n * 4) {
    const from = address - back;
    const lines = decodeRun(view, image, from, back + 1, bits);
    const idx = lines.findIndex((l) => l.address === address);
    if (idx >= n) return lines[idx - n].address;
  }
  return address - n;
}

function decodeRun(view: VcpuView, image: GuestImage, pc: number, count: number, bits: 16 | 32 | 64): DisassembledLine[] {
  const out: DisassembledLine[] = [];
  const want = count * 15 + 15;
  const { bytes, unreadable } = view.readMemory(pc, want, false);
  if (unreadable === want) {
    for (let k = 0; k < count; k++) out.push({ address: pc + k, bytes: '', text: '??', unreadable: true });
    return out;
  }
  const dec = new Decoder(bits, bytes, DecoderOptions.None);
  const ins = new Instruction();
  try {
    dec.ip = BigInt.asUintN(64, BigInt(pc));
    let off = 0;
    while (out.length < count && off < bytes.length - 15) {
      dec.decodeOut(ins);
      const len = ins.length;
      const addr = pc + off;
      let text = ins.isInvalid ? '(bad)' : fmt().format(ins);
      const k = ins.op0Kind;
      if (!ins.isInvalid && (k === OpKind.NearBranch16 || k === OpKind.NearBranch32 || k === OpKind.NearBranch64)) {
        const sym = gdbSymbol(view, Number(BigInt.asIntN(64, ins.nearBranchTarget)));
        if (sym) text += ` ${sym}`;
      } else if (!ins.isInvalid && ins.isIpRelMemoryOperand) {
        // gdb: lea rax,[rip+0x2ee5]        # 0x404010 <counter>
        const target = Number(BigInt.asIntN(64, ins.ipRelMemoryAddress));
        const sym = gdbSymbol(view, target);
        text += `        # 0x${target.toString(16)}${sym ? ` ${sym}` : ''}`;
      }
      const l = lineForAddress(image.lines, addr);
      const symbol = image.symbols.find((s) => s.addr === addr && s.kind !== 'constant')?.name ?? image.functions?.find((f) => f.low === addr)?.name;
      out.push({ address: addr, bytes: Array.from(bytes.subarray(off, off + len), (b) => b.toString(16).padStart(2, '0')).join(''), text, symbol, file: l?.file, line: l?.line });
      off += Math.max(1, len);
    }
  } finally {
    ins.free();
    dec.free();
  }
  return out;
}

/** `<symbol>` or `<symbol+offset>` (decimal offset, as gdb prints it) for an address, if a symbol covers it. */
export function gdbSymbol(view: VcpuView, addr: number): string | undefined {
  const s = view.nearestSymbol(addr);
  return s ? `<${s.name}${s.offset ? `+${s.offset}` : ''}>` : undefined;
}

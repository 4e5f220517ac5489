// Source-level frames of a C guest: unwinding from the vCPU's registers with the DWARF call frame
// information (.eh_frame / .debug_frame), falling back to the frame-pointer chain where there is
// none; frames for inlined calls as gdb shows them; each frame's arguments and locals as C values
// read through the guest's page tables (VcpuView's side-effect-free reads).
import { DwarfProgram, type DwarfVariable, type ScopeFrame } from '../loader/dwarf/program';
import { unwindCfi, type DwarfRegs } from '../loader/dwarf/cfi';
import type { LocationContext, Location } from '../loader/dwarf/location';
import { sizeOf, stripType, typeName, type CType } from '../loader/dwarf/types';
import { filePath, readLineProgramHeader } from '../loader/dwarf/line-program';
import { readerFor } from '../loader/dwarf/sections';
import { lineForAddress, type GuestImage } from '../loader/image';
import type { VcpuView, VarNode } from './inspect';
import { bytesOf, derefValue, elementValue, floatBytes, formatValue, isFloat, isIntegral, memberValue, toBigInt, type CValue, type ValueEnv } from './c-values';

export interface CFrame {
  /** The frame's pc (linear); for callers, the return address. */
  pc: number;
  /** Registers by DWARF number, as unwound to this frame. */
  regs: DwarfRegs;
  /** The canonical frame address of the physical frame (its caller's stack pointer). */
  cfa?: bigint;
  /** The physical frame this one belongs to (inlined frames share it); 0 is the innermost. */
  physical: number;
  scope?: ScopeFrame;
  name: string;
  file?: string;
  line?: number;
  /** True for frames above the innermost physical frame (pc is a return address). */
  caller: boolean;
}

const MAX_FRAMES = 256;
// DWARF register numbers -> GPR index (rax rcx rdx rbx rsp rbp rsi rdi r8..r15), psABI figure 3.36.
const DWARF64_TO_GPR = [0, 2, 1, 3, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15];
// i386 psABI: eax ecx edx ebx esp ebp esi edi.
const DWARF32_TO_GPR = [0, 1, 2, 3, 4, 5, 6, 7];

const programs = new WeakMap<GuestImage, DwarfProgram | null>();

/** The image's DWARF program, parsed once; undefined for images without .debug_info or CFI. */
export function dwarfProgram(image: GuestImage): DwarfProgram | undefined {
  let p = programs.get(image);
  if (p === undefined) {
    p = image.debug ? new DwarfProgram(image.debug.sections, image.debug.addressSize) : null;
    programs.set(image, p);
  }
  return p ?? undefined;
}

export class CDebugInfo {
  readonly program: DwarfProgram;
  readonly is64: boolean;
  readonly spReg: number;
  readonly ipReg: number;
  readonly fpReg: number;
  private fileNames = new Map<number, string[]>();

  constructor(readonly image: GuestImage, program: DwarfProgram) {
    this.program = program;
    this.is64 = program.addressSize === 8;
    this.spReg = this.is64 ? 7 : 4;
    this.ipReg = this.is64 ? 16 : 8;
    this.fpReg = this.is64 ? 6 : 5;
  }

  static of(image: GuestImage): CDebugInfo | undefined {
    const p = dwarfProgram(image);
    return p && p.tree.units.length ? new CDebugInfo(image, p) : undefined;
  }

  private mask(v: bigint): bigint { return this.is64 ? BigInt.asUintN(64, v) : BigInt.asUintN(32, v); }

  /** The vCPU's registers by DWARF number. */
  registers(view: VcpuView): DwarfRegs {
    const m: DwarfRegs = new Map();
    const map = this.is64 ? DWARF64_TO_GPR : DWARF32_TO_GPR;
    map.forEach((g, d) => m.set(d, this.mask(view.gpr(g))));
    m.set(this.ipReg, this.mask(BigInt(view.linearRip())));
    return m;
  }

  env(view: VcpuView): ValueEnv {
    return {
      addressSize: this.program.addressSize,
      read: (addr, size) => {
        const r = view.readMemory(Number(this.mask(addr)), size, false);
        return r.unreadable ? undefined : r.bytes;
      },
      symbolize: (addr, func) => this.symbolize(addr, func),
    };
  }

  /** A little-endian integer of `size` bytes at a linear address, or undefined when unreadable. */
  private readInt(view: VcpuView): (addr: bigint, size: number) => bigint | undefined {
    const env = this.env(view);
    return (addr, size) => {
      const b = env.read(addr, size);
      return b ? toRaw(b) : undefined;
    };
  }

  /** gdb's <symbol+off> for an address inside a function or data object of the symbol table. */
  symbolize(addr: bigint, func: boolean): string | undefined {
    const a = Number(addr);
    let best: { name: string; addr: number; size: number } | undefined;
    for (const s of this.image.symbols) {
      if (s.kind === 'constant' || s.kind === 'label' || s.addr > a) continue;
      if (func ? s.kind !== 'function' : false) continue;
      if (a >= s.addr + Math.max(s.size, 1) && !(s.size === 0 && a === s.addr)) continue;
      if (!best || s.addr > best.addr) best = s;
    }
    if (!best) return undefined;
    return a === best.addr ? best.name : `${best.name}+${a - best.addr}`;
  }

  /** Frames, innermost first: inlined calls and C functions, unwound with CFI or frame pointers. */
  frames(view: VcpuView): CFrame[] {
    const out: CFrame[] = [];
    let regs = this.registers(view);
    const read = this.readInt(view);
    const as = this.program.addressSize;
    for (let physical = 0; physical < MAX_FRAMES && out.length < MAX_FRAMES; physical++) {
      const pcv = regs.get(this.ipReg);
      if (pcv === undefined || pcv === 0n) break;
      const pc = Number(pcv);
      const lookup = physical === 0 ? pc : pc - 1; // a return address may lie past the call's function
      const scopes = this.program.scopesAt(lookup);
      // gdb (skip_inline_frames): stopped exactly at the start of an inlined call, the call has not
      // begun yet; the innermost frame is the caller's.
      while (physical === 0 && scopes.length > 1 && scopes[0].inlined && this.program.entryOf(scopes[0].die) === pc) scopes.shift();
      const line = lineForAddress(this.image.lines, lookup);
      let cfa: bigint | undefined;
      const unwound = unwindCfi(this.program.cfi, lookup, regs, this.spReg, this.ipReg, as, read);
      if (unwound) cfa = unwound.cfa;
      if (scopes.length === 0) {
        out.push({ pc, regs, cfa, physical, name: this.functionName(pc), file: line?.file, line: line?.line, caller: physical > 0 });
      } else {
        // The innermost scope shows the pc's line; each outer (inlining) scope the line of the inlined call.
        let file = line?.file, ln = line?.line;
        scopes.forEach((s, k) => {
          out.push({ pc, regs, cfa, physical, scope: s, name: s.name, file, line: ln, caller: physical > 0 || k > 0 });
          if (s.inlined) { file = s.callFile !== undefined ? this.fileName(s.die, s.callFile) ?? file : file; ln = s.callLine ?? ln; }
        });
      }
      // gdb (backtrace past-entry off, inside_entry_func): the function at the ELF entry point is the
      // outermost frame; what its stack holds above (a boot loader's or the VMM's) is no caller.
      const fn = scopes[scopes.length - 1]?.subprogram ? this.program.entryOf(scopes[scopes.length - 1].subprogram) : this.image.functions?.find((x) => lookup >= x.low && lookup < x.high)?.low;
      if (fn !== undefined && fn === this.image.entry) break;
      let next: DwarfRegs | undefined = unwound?.regs;
      if (!next) next = this.unwindFramePointer(regs, pc, scopes[scopes.length - 1]?.subprogram ? this.program.entryOf(scopes[scopes.length - 1].subprogram) : undefined, read);
      if (!next) break;
      const sp = regs.get(this.spReg), nsp = next.get(this.spReg);
      if (sp !== undefined && nsp !== undefined && nsp <= sp) break; // the stack must unwind upwards
      regs = next;
    }
    return out;
  }

  // Frame-pointer fallback (System V psABI §3.2.2 standard frame): at entry the return address is at
  // [sp]; after `push rbp` at [sp+w]; once rbp is set up, [rbp] is the caller's rbp and [rbp+w] the return address.
  private unwindFramePointer(regs: DwarfRegs, pc: number, entry: number | undefined, read: (a: bigint, n: number) => bigint | undefined): DwarfRegs | undefined {
    const w = BigInt(this.program.addressSize);
    const sp = regs.get(this.spReg), fp = regs.get(this.fpReg);
    const out: DwarfRegs = new Map(regs);
    if (entry !== undefined && pc === entry && sp !== undefined) {
      const ra = read(sp, Number(w));
      if (ra === undefined) return undefined;
      out.set(this.ipReg, ra); out.set(this.spReg, sp + w);
      return out;
    }
    if (fp === undefined || fp === 0n) return undefined;
    const ra = read(fp + w, Number(w)), cfp = read(fp, Number(w));
    if (ra === undefined || cfp === undefined) return undefined;
    out.set(this.ipReg, ra); out.set(this.fpReg, cfp); out.set(this.spReg, fp + 2n * w);
    return out;
  }

  private functionName(pc: number): string {
    const f = this.image.functions?.find((x) => pc >= x.low && pc < x.high);
    return f?.name ?? this.symbolize(BigInt(pc), true) ?? '??';
  }

  /** Path of file `index` of the line table of the unit that owns `die` (DW_AT_decl_file / call_file). */
  private fileName(die: { unit: { stmtList?: number; compDir?: string; name?: string; enc: { addressSize: number } } }, index: number): string | undefined {
    const u = die.unit;
    if (u.stmtList === undefined || !this.program.tree.secs.line) return undefined;
    let files = this.fileNames.get(u.stmtList);
    if (!files) {
      files = [];
      try {
        const h = readLineProgramHeader(readerFor(this.program.tree.secs.line, u.stmtList), this.program.tree.secs, { compDir: u.compDir, name: u.name }, u.enc.addressSize);
        for (let i = 0; i < h.files.length; i++) files.push(filePath(h, i, u.compDir) ?? '');
      } catch { /* no names */ }
      this.fileNames.set(u.stmtList, files);
    }
    return files[index] || undefined;
  }

  // ---------------------------------------------------------------- variables

  locationContext(view: VcpuView, f: CFrame): LocationContext {
    const read = this.readInt(view);
    const ctx: LocationContext = {
      addressSize: this.program.addressSize,
      reg: (n) => f.regs.get(n),
      read,
      cfa: () => f.cfa,
    };
    if (f.scope) ctx.frameBase = () => this.program.frameBase(f.scope!.subprogram, f.caller && f.physical > 0 ? f.pc - 1 : f.pc, ctx);
    return ctx;
  }

  /** A variable's value in a frame. */
  value(view: VcpuView, f: CFrame, v: DwarfVariable): CValue {
    const ctx = this.locationContext(view, f);
    const pc = f.physical > 0 ? f.pc - 1 : f.pc;
    const loc = this.program.locate(v, pc, ctx);
    return this.valueAt(view, f, v.type, loc);
  }

  valueAt(view: VcpuView, f: CFrame | undefined, type: CType, loc: Location | { kind: 'const'; value: Uint8Array | bigint }): CValue {
    const size = sizeOf(type);
    const env = this.env(view);
    switch (loc.kind) {
      case 'const': return { type, bytes: typeof loc.value === 'bigint' ? bytesOf(loc.value, size) : loc.value.subarray(0, size) };
      case 'memory': {
        const bytes = env.read(loc.addr, size);
        return bytes ? { type, bytes, addr: loc.addr } : { type, addr: loc.addr, unavailable: `<error: Cannot access memory at address 0x${loc.addr.toString(16)}>` };
      }
      case 'register': {
        const r = f?.regs.get(loc.reg);
        if (r === undefined) return { type, unavailable: isFloat(type) ? '<unavailable>' : '<optimized out>' };
        return { type, bytes: bytesOf(r, Math.max(size, 0)), reg: f && f.physical === 0 ? loc.reg : undefined };
      }
      case 'value': return { type, bytes: bytesOf(loc.value, size) };
      case 'implicit': return { type, bytes: loc.bytes.subarray(0, size) };
      case 'pieces': {
        // §2.6.1.2: the pieces in order from the least significant bit of the object.
        let acc = 0n, invalid = 0n, at = 0;
        for (const p of loc.pieces) {
          if (at >= size * 8) break;
          const nbytes = Math.ceil((p.offset + p.bits) / 8);
          const mask = (1n << BigInt(p.bits)) - 1n;
          const part = this.valueAt(view, f, { kind: 'base', name: 'piece', size: nbytes, encoding: 7 }, p.loc);
          if (!part.bytes) invalid |= mask << BigInt(at);
          else acc |= ((toRaw(part.bytes) >> BigInt(p.offset)) & mask) << BigInt(at);
          at += p.bits;
        }
        if (at < size * 8) invalid |= ((1n << BigInt(size * 8 - at)) - 1n) << BigInt(at);
        const out: CValue = { type, bytes: bytesOf(acc, size) };
        if (invalid) out.invalid = invalid & ((1n << BigInt(size * 8)) - 1n);
        return out;
      }
      case 'optimized': return { type, unavailable: '<optimized out>' };
      case 'error': return { type, unavailable: `<error: ${loc.message}>` };
    }
  }

  /** Arguments (DAP scope and gdb's `info args`). */
  argsScope(view: VcpuView, f: CFrame, edit: EditFn): VarNode[] {
    if (!f.scope) return [];
    return this.program.params(f.scope).map((v) => this.node(view, v.name, this.value(view, f, v), edit, v.name));
  }

  localsScope(view: VcpuView, f: CFrame, edit: EditFn): VarNode[] {
    if (!f.scope) return [];
    return this.program.locals(f.scope).map((v) => this.node(view, v.name, this.value(view, f, v), edit, v.name));
  }

  /** A variables-tree node for a value: children for structs, unions, arrays and pointers. */
  node(view: VcpuView, name: string, v: CValue, edit: EditFn, path: string): VarNode {
    const env = this.env(view);
    const t = stripType(v.type);
    const n: VarNode = { name, value: formatValue(env, v), type: typeName(v.type) };
    if (v.addr !== undefined) n.memoryReference = '0x' + v.addr.toString(16);
    if (v.addr !== undefined) n.dataId = `mem:v:${v.addr}:${Math.max(1, Math.min(sizeOf(v.type), 8))}`;
    if (t.kind === 'struct' || t.kind === 'union') {
      n.children = () => (t.members ?? []).map((m) => this.node(view, m.name ?? '<anonymous>', memberValue(v, m), edit, `${path}.${m.name ?? ''}`));
    } else if (t.kind === 'array') {
      const count = Math.min(t.count ?? 0, 1000);
      n.children = () => Array.from({ length: count }, (_, i) => this.node(view, `[${i}]`, elementValue(v, t.element, i), edit, `${path}[${i}]`));
    } else if (t.kind === 'pointer' && v.bytes) {
      const target = t.target();
      const st = stripType(target);
      const p = toBigInt(v) ?? 0n;
      if (p !== 0n && st.kind !== 'void' && st.kind !== 'function') {
        n.children = () => [this.node(view, `*${path}`, derefValue(env, v, target), edit, `(*${path})`)];
      }
      n.memoryReference = '0x' + BigInt.asUintN(this.program.addressSize * 8, p).toString(16);
    }
    if (isIntegral(v.type) || isFloat(v.type)) {
      if (v.bytes && (v.addr !== undefined || v.reg !== undefined)) n.set = (text) => edit(v, text);
    }
    return n;
  }

  /** Stores a scalar (setVariable): memory through the page tables, or a frame-0 register. */
  store(view: VcpuView, v: CValue, x: bigint | number): void {
    const size = sizeOf(v.type);
    let bytes: Uint8Array;
    if (isFloat(v.type)) bytes = floatBytes(Number(x), size);
    else {
      let b = typeof x === 'number' ? BigInt(Math.trunc(x)) : x;
      if (v.bits && v.bytes) {
        const old = toRaw(v.bytes);
        const m = ((1n << BigInt(v.bits.size)) - 1n) << BigInt(v.bits.offset);
        b = (old & ~m) | ((b << BigInt(v.bits.offset)) & m);
        bytes = bytesOf(b, v.bytes.length);
      } else bytes = bytesOf(b, size);
    }
    if (v.addr !== undefined) {
      const n = view.writeMemory(Number(this.mask(v.addr)), bytes, false);
      if (n !== bytes.length) throw new Error(`cannot write memory at 0x${v.addr.toString(16)}`);
    } else if (v.reg !== undefined) {
      const g = (this.is64 ? DWARF64_TO_GPR : DWARF32_TO_GPR)[v.reg];
      if (g === undefined) throw new Error(`cannot write DWARF register ${v.reg}`);
      const old = view.gpr(g);
      const w = BigInt(size * 8);
      const m = (1n << w) - 1n;
      view.setGpr(g, (old & ~m) | (toRaw(bytes) & m));
    } else throw new Error('the value is not an lvalue');
  }
}

export type EditFn = (v: CValue, text: string) => string;

function toRaw(b: Uint8Array): bigint {
  let x = 0n;
  for (let k = b.length - 1; k >= 0; k--) x = (x << 8n) | BigInt(b[k]);
  return x;
}

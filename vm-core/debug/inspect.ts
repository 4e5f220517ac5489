// What the debugger shows of one vCPU: registers as the guest will see them (KVM's cached values where
// KVM holds them, the VMCS/VMCB guest state otherwise), the register cache, the current exit, pending
// events, the VMCS/VMCB, memory through the guest's page tables, disassembly and the call stack.
// Reading never changes the model: no VMREAD is counted, no register marked available, no accessed
// bit set in guest page tables.
import type { DebugEngine } from './engine';
import type { KvmVcpu } from '../kvm/vcpu';
import type { ExitEvent } from './exit-filters';
import type { EvalContext } from './expr';
import { lineForAddress, type LineEntry } from '../loader/image';
import { getRflags, materializeFlags } from '../cpu/flags';
import { CS, SEG_NAMES, GPR_NAMES, CR0_PG, CR4_PAE, EFER_LMA, CR4_PSE } from '../cpu/state';
import { coreReadMsr, MSR_NAMES } from '../cpu/msr';
import { KVM_REG_NAMES, VCPU_EXREG_CR0, VCPU_EXREG_CR3, VCPU_EXREG_CR4, VCPU_REGS_RIP } from '../kvm/x86/kvm_cache_regs';
import * as U from '../kvm/uapi';
import { KVM_REQ_TRIPLE_FAULT, KVM_REQ_LOAD_MMU_PGD } from '../kvm/vcpu_arch';
import { exitRecord } from '../vmm/exit-record';
import { setRflagsFromDebugger, checkSegmentBitEdit, setSegmentBitFromDebugger, type SegmentBit } from './edit-regs';

/** A node of the variables tree the adapter turns into DAP variables. */
export interface VarNode {
  name: string;
  value: string;
  type?: string;
  memoryReference?: string;
  children?: () => VarNode[];
  /** Set from user text; returns the new display value or throws Error with a message. */
  set?: (text: string) => string;
  /** Data-breakpoint id for this variable (registers). */
  dataId?: string;
  hint?: 'readOnly' | 'changed';
}

const RFLAG_BITS: [string, number][] = [['CF', 0], ['PF', 2], ['AF', 4], ['ZF', 6], ['SF', 7], ['TF', 8], ['IF', 9],
  ['DF', 10], ['OF', 11], ['NT', 14], ['RF', 16], ['VM', 17], ['AC', 18], ['VIF', 19], ['VIP', 20], ['ID', 21]];

const hex = (v: bigint | number) => '0x' + (typeof v === 'bigint' ? BigInt.asUintN(64, v) : v < 0 ? BigInt.asUintN(64, BigInt(Math.trunc(v))) : BigInt(Math.trunc(v))).toString(16);
const u64 = (n: number) => BigInt.asUintN(64, BigInt(Math.trunc(n)));

export class VcpuView {
  constructor(private e: DebugEngine, readonly v: KvmVcpu) {}

  private get c() { return this.v.cpu; }

  // ---------------------------------------------------------------- register values

  private avail(reg: number): boolean { return ((this.v.arch.regs_avail >>> reg) & 1) === 1; }
  private archReg(r: number): bigint {
    const a = this.v.arch.regs;
    return BigInt.asUintN(64, (BigInt(a[2 * r + 1]) << 32n) | BigInt(a[2 * r] >>> 0));
  }
  private cpuReg(r: number): bigint {
    const R = this.c.R;
    return BigInt.asUintN(64, (BigInt(R[2 * r + 1]) << 32n) | BigInt(R[2 * r] >>> 0));
  }

  /** The guest's GPR n as KVM will enter it: vcpu->arch.regs (RSP from the VMCS unless cached). */
  gpr(n: number): bigint {
    if (n === 4) return this.avail(4) ? this.archReg(4) : this.cpuReg(4);
    return this.archReg(n);
  }
  rip(): number { return this.v.peekRip(); }
  sp(): number { return Number(BigInt.asIntN(64, this.gpr(4))); }
  linearRip(): number { return this.linearAt(this.rip()); }
  /**
   * The code size of the guest's next instruction, from CS, CR0, EFER and RFLAGS.VM as they stand
   * (Cpu.updateMode's rule): after KVM_SET_SREGS the processor's cached mode is recomputed only at
   * the next VM entry.
   */
  codeBits(): 16 | 32 | 64 {
    const c = this.c, ar = c.seg[CS].ar;
    const pe = (c.cr0 & 1) !== 0, v86 = pe && (this.rflags() & 0x20000) !== 0;
    if ((c.efer & EFER_LMA) && (ar & 0x2000)) return 64;
    return (ar & 0x4000) && pe && !v86 ? 32 : 16;
  }
  /** The linear address of `rip` in the current code segment: CS.base + RIP, RIP itself in 64-bit mode. */
  linearAt(rip: number): number {
    const c = this.c;
    return this.codeBits() === 64 ? rip : (c.seg[CS].base + rip) >>> 0;
  }
  rflags(): number { return getRflags(this.c); }

  /** Value of a register by name (for conditions, watches and register data breakpoints). */
  registerValue(name: string, live = false): bigint | undefined {
    const n = name.toLowerCase();
    const g = GPR_NAMES.indexOf(n as never);
    if (g >= 0) return live ? this.cpuReg(g) : this.gpr(g);
    const sub = SUBREGS[n];
    if (sub) { const v = live ? this.cpuReg(sub[0]) : this.gpr(sub[0]); return (v >> BigInt(sub[1])) & ((1n << BigInt(sub[2])) - 1n); }
    // Live: read while the guest runs (an instruction-boundary hook), from the processor itself;
    // KVM's copies are only brought up to date at the next exit.
    if (live) {
      const c = this.c;
      switch (n) {
        case 'rip': return u64(c.rip);
        case 'eip': return u64(c.rip) & 0xffffffffn;
        case 'cr0': return BigInt(this.v.ops.view.guestCr0() >>> 0);
        case 'cr3': return u64(c.cr3);
        case 'cr4': return BigInt(this.v.ops.view.guestCr4() >>> 0);
        case 'efer': return BigInt(c.efer >>> 0);
      }
    }
    switch (n) {
      case 'rip': return u64(this.rip());
      case 'eip': return u64(this.rip()) & 0xffffffffn;
      case 'ip': return u64(this.rip()) & 0xffffn;
      case 'pc': return u64(this.linearRip());
      case 'rflags': case 'eflags': case 'flags': return BigInt(this.rflags() >>> 0);
      // KVM's value where it holds one (after KVM_SET_SREGS, before the next entry, the processor
      // still has the old state), else the guest's view of the processor's.
      case 'cr0': return BigInt(this.avail(VCPU_EXREG_CR0) ? this.v.arch.cr0 >>> 0 : this.v.ops.view.guestCr0() >>> 0);
      case 'cr2': return u64(this.c.cr2);
      case 'cr3': return u64(this.avail(VCPU_EXREG_CR3) ? this.v.arch.cr3 : this.c.cr3);
      case 'cr4': return BigInt(this.avail(VCPU_EXREG_CR4) ? this.v.arch.cr4 >>> 0 : this.v.ops.view.guestCr4() >>> 0);
      case 'cr8': return BigInt(this.c.cr8);
      case 'efer': return BigInt(this.v.arch.efer >>> 0);
      case 'xcr0': return BigInt(this.c.xcr0 >>> 0);
      case 'dr6': return BigInt(this.c.dr6 >>> 0);
      case 'dr7': return BigInt(this.c.dr7 >>> 0);
      case 'cpl': return BigInt(this.c.cpl);
      case 'icount': return BigInt(this.c.icount);
    }
    const dr = /^dr([0-3])$/.exec(n);
    if (dr) return u64(this.c.dr[Number(dr[1])]);
    const seg = SEG_NAMES.indexOf(n as never);
    if (seg >= 0) return BigInt(this.c.seg[seg].selector);
    const flag = RFLAG_BITS.find(([f]) => f.toLowerCase() === n);
    if (flag) return BigInt((this.rflags() >>> flag[1]) & 1);
    return undefined;
  }

  // ---------------------------------------------------------------- memory (side-effect free)

  /**
   * The page-table root the guest's next instruction walks: KVM's CR3 (and PDPTEs) while
   * KVM_REQ_LOAD_MMU_PGD is pending (KVM_SET_SREGS or a CR write wrote vcpu->arch.cr3; vmx_load_mmu_pgd
   * copies it to GUEST_CR3 only at the next VM entry), else the processor's.
   */
  private pagingRoot(): { cr3: number; pdpte: readonly number[] } {
    const a = this.v.arch, c = this.c;
    if (a.requests & KVM_REQ_LOAD_MMU_PGD) return { cr3: a.cr3, pdpte: a.pdptrs };
    return { cr3: c.cr3, pdpte: c.pdpte };
  }

  /** Guest-virtual -> guest-physical with no accessed/dirty updates and no faults; -1 if unmapped. */
  gvaToGpa(lin: number): number {
    const c = this.c;
    const { cr3, pdpte } = this.pagingRoot();
    if (!(c.cr0 & CR0_PG)) return lin >>> 0;
    const bus = c.bus;
    const rd64 = (gpa: number): bigint | undefined => {
      const b = bus.read(gpa, 8, []);
      const r = bus.regionAt(gpa);
      if (!r) return undefined;
      return new DataView(b.buffer).getBigUint64(0, true);
    };
    const lo = lin >>> 0;
    if (!(c.cr4 & CR4_PAE)) {
      const pde = rd64((cr3 & 0xfffff000) + ((lo >>> 22) << 2));
      if (pde === undefined || !(pde & 1n)) return -1;
      const d = Number(pde & 0xffffffffn);
      if ((d & 0x80) && (c.cr4 & CR4_PSE)) return ((d & 0xffc00000) >>> 0) + (lo & 0x3fffff);
      const pte = rd64((d & 0xfffff000) + (((lo >>> 12) & 0x3ff) << 2));
      if (pte === undefined || !(pte & 1n)) return -1;
      return ((Number(pte & 0xffffffffn) & 0xfffff000) >>> 0) + (lo & 0xfff);
    }
    const addrOf = (e: bigint) => Number(e & 0x000ffffffffff000n);
    let table: number, level: number;
    if (c.efer & EFER_LMA) { table = cr3 - (cr3 % 4096); level = 4; }
    else {
      const p = pdpte[(lo >>> 30) & 3];
      if (!(p % 2)) return -1;
      table = Number(BigInt(Math.trunc(p)) & 0x000ffffffffff000n); level = 2;
    }
    const big = BigInt.asUintN(64, BigInt(Math.trunc(lin)));
    for (; level >= 1; level--) {
      const idx = Number((big >> BigInt(12 + 9 * (level - 1))) & 0x1ffn);
      const e = rd64(table + idx * 8);
      if (e === undefined || !(e & 1n)) return -1;
      if (level === 1 || (level <= 3 && (e & 0x80n))) {
        const pageBits = 12 + 9 * (level - 1);
        const mask = (1n << BigInt(pageBits)) - 1n;
        return Number((e & 0x000ffffffffff000n & ~mask) | (big & mask));
      }
      table = addrOf(e);
    }
    return -1;
  }

  /** Read guest memory; unmapped or unbacked bytes are reported in `unreadable` (indexes). */
  readMemory(addr: number, len: number, physical: boolean): { bytes: Uint8Array; unreadable: number } {
    const out = new Uint8Array(len);
    let unreadable = 0;
    let k = 0;
    while (k < len) {
      const a = addr + k;
      const pageLeft = 4096 - (((a % 4096) + 4096) % 4096);
      const n = Math.min(pageLeft, len - k);
      const gpa = physical ? a : this.gvaToGpa(a);
      if (gpa < 0 || !this.c.bus.isRam(gpa)) unreadable += n;
      else out.set(this.c.bus.read(gpa, n), k);
      k += n;
    }
    return { bytes: out, unreadable };
  }

  /**
   * Guest-physical memory beneath overlay pages (seed 002: the Hyper-V hypercall page as an overlay):
   * what the guest's own page holds while an overlay hides it.
   */
  readUnderlying(gpa: number, len: number): { bytes: Uint8Array; unreadable: number } {
    const holes: number[] = [];
    const bytes = this.c.bus.readLayer(gpa, len, 'underlying', holes);
    return { bytes, unreadable: holes.length };
  }

  /** Overlay pages in force (guest-physical addresses). */
  overlayPages(): number[] { return this.c.bus.overlayPages(); }

  /** The first readable offset and count (DAP readMemory: unreadable ranges are skipped, not errors). */
  readable(addr: number, len: number, physical: boolean, underlying = false): { offset: number; bytes: Uint8Array; unreadableTail: number } {
    if (underlying) {
      const holes: number[] = [];
      const bytes = this.c.bus.readLayer(addr, len, 'underlying', holes);
      if (holes.length === len) return { offset: len, bytes: new Uint8Array(0), unreadableTail: 0 };
      return { offset: 0, bytes, unreadableTail: 0 };
    }
    let start = 0;
    while (start < len) {
      const a = addr + start;
      const gpa = physical ? a : this.gvaToGpa(a);
      if (gpa >= 0 && this.c.bus.isRam(gpa)) break;
      start += 4096 - (((a % 4096) + 4096) % 4096);
    }
    if (start >= len) return { offset: len, bytes: new Uint8Array(0), unreadableTail: 0 };
    let end = start;
    while (end < len) {
      const a = addr + end;
      const gpa = physical ? a : this.gvaToGpa(a);
      if (gpa < 0 || !this.c.bus.isRam(gpa)) break;
      end = Math.min(len, end + 4096 - (((a % 4096) + 4096) % 4096));
    }
    return { offset: start, bytes: this.readMemory(addr + start, end - start, physical).bytes, unreadableTail: len - end };
  }

  writeMemory(addr: number, data: Uint8Array, physical: boolean): number {
    let done = 0;
    for (let k = 0; k < data.length;) {
      const a = addr + k;
      const n = Math.min(4096 - (((a % 4096) + 4096) % 4096), data.length - k);
      const gpa = physical ? a : this.gvaToGpa(a);
      if (gpa >= 0) done += this.c.bus.write(gpa, data.subarray(k, k + n));
      k += n;
    }
    return done;
  }

  // ---------------------------------------------------------------- expressions

  evalContext(ev?: ExitEvent, live = false): EvalContext {
    const img = this.e.image;
    return {
      lookup: (name) => {
        // The exit's own fields first: a filter condition's `flags` is kvm_run.notify.flags, not RFLAGS.
        if (ev && Object.prototype.hasOwnProperty.call(ev.fields, name)) return ev.fields[name];
        const r = this.registerValue(name, live);
        if (r !== undefined) return r;
        const rf = this.runField(name);
        if (rf !== undefined) return rf;
        const sym = img.symbols.find((s) => s.name === name) ?? img.functions?.find((f) => f.name === name);
        if (sym) return u64('addr' in sym ? sym.addr : sym.low);
        return undefined;
      },
      readMemory: (addr, size, physical) => {
        const a = Number(BigInt.asIntN(64, addr));
        const { bytes, unreadable } = this.readMemory(a, size, physical);
        if (unreadable) return undefined;
        let v = 0n;
        for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(bytes[k]);
        return v;
      },
    };
  }

  /** kvm_run fields by their uapi path (hypercall.ret, io.port, mmio.phys_addr, exit_reason ...). */
  runField(path: string): bigint | undefined {
    const run = this.v.kvm_run as unknown as Record<string, unknown>;
    let cur: unknown = run;
    for (const part of path.split('.')) {
      if (cur === null || typeof cur !== 'object') return undefined;
      const m = /^(\w+)\[(\d+)\]$/.exec(part);
      cur = m ? ((cur as Record<string, unknown[]>)[m[1]] ?? [])[Number(m[2])] : (cur as Record<string, unknown>)[part];
    }
    if (typeof cur === 'bigint') return BigInt.asUintN(64, cur);
    if (typeof cur === 'number') return BigInt.asUintN(64, BigInt(Math.trunc(cur)));
    return undefined;
  }

  // ---------------------------------------------------------------- source and stack

  sourceLine(): LineEntry | undefined {
    return lineForAddress(this.e.image.lines, this.linearRip());
  }
  sourceLineAt(addr: number): LineEntry | undefined {
    return lineForAddress(this.e.image.lines, addr);
  }

  /** If the instruction at RIP is a near CALL: where it returns to and the stack pointer now. */
  callReturnAddress(): { address: number; sp: number } | undefined {
    const rip = this.linearRip();
    const { bytes, unreadable } = this.readMemory(rip, 16, false);
    if (unreadable) return undefined;
    const len = nearCallLength(bytes, this.codeBits());
    if (!len) return undefined;
    return { address: rip + len, sp: this.sp() };
  }

  functionAt(addr: number): string | undefined {
    const img = this.e.image;
    const f = img.functions?.find((x) => addr >= x.low && addr < x.high);
    if (f) return f.name;
    const s = this.nearestSymbol(addr);
    return s ? (s.offset ? `${s.name}+0x${s.offset.toString(16)}` : s.name) : undefined;
  }

  /** The function (DWARF) or label at or below `addr` (within 64 KiB), and how far `addr` is past it. */
  nearestSymbol(addr: number): { name: string; offset: number } | undefined {
    const img = this.e.image;
    const f = img.functions?.find((x) => addr >= x.low && addr < x.high);
    if (f) return { name: f.name, offset: addr - f.low };
    let best: { name: string; addr: number } | undefined;
    for (const s of img.symbols) {
      if (s.kind === 'constant' || s.addr > addr || s.name.startsWith('.') || s.name.includes('..@')) continue;
      if (!best || s.addr > best.addr) best = s;
    }
    if (best && addr - best.addr < 0x10000) return { name: best.name, offset: addr - best.addr };
    return undefined;
  }

  // ---------------------------------------------------------------- scopes

  registersScope(): VarNode[] {
    const nodes: VarNode[] = GPR_NAMES.map((n, i) => this.regNode(n, () => this.gpr(i), (v) => this.setGpr(i, v)));
    nodes.push(this.regNode('rip', () => u64(this.rip()), (v) => this.setRip(v)));
    nodes.push({
      name: 'rflags', value: hex(this.rflags() >>> 0), dataId: 'reg:rflags',
      set: (t) => { const v = parseValue(t); this.e.edit(`rflags = ${hex(v)}`, () => setRflagsFromDebugger(this.v, Number(v & 0xffffffffn))); return hex(v); },
      children: () => RFLAG_BITS.map(([f, b]) => ({ name: f, value: String((this.rflags() >>> b) & 1) })).concat(
        [{ name: 'IOPL', value: String((this.rflags() >>> 12) & 3) }]),
    });
    return nodes;
  }

  private regNode(name: string, get: () => bigint, set?: (v: bigint) => void): VarNode {
    const v = get();
    return {
      name, value: hex(v), type: 'u64', memoryReference: hex(v), dataId: `reg:${name}`,
      set: set ? (t) => { const x = parseValue(t); this.e.edit(`${name} = ${hex(x)}`, () => set(x)); return hex(get()); } : undefined,
    };
  }

  /** KVM_SET_REGS semantics: write through the register cache, marking the register dirty. */
  setGpr(i: number, v: bigint): void {
    const regs = this.v.getRegs() as unknown as Record<string, bigint>;
    regs[KVM_GPR_KEYS[i]] = v;
    this.v.setRegs(regs as unknown as U.kvm_regs);
  }
  private setRip(v: bigint): void {
    const regs = this.v.getRegs();
    regs.rip = v;
    this.v.setRegs(regs);
  }

  /** KVM_SET_SREGS with a segment's L or D/B bit changed (edit-regs.ts says why only these). */
  private setSegmentBit(seg: number, bit: SegmentBit, text: string): string {
    const value = parseValue(text);
    checkSegmentBitEdit(this.v, seg, bit, text, value);
    let refused = '';
    this.e.edit(`${SEG_NAMES[seg]}.${bit} = ${value}`, () => { refused = setSegmentBitFromDebugger(this.v, seg, bit, Number(value)); });
    if (refused) throw new Error(refused);
    return String(this.c.seg[seg][bit]);
  }

  segmentsScope(): VarNode[] {
    const c = this.c;
    const out: VarNode[] = [];
    for (let i = 0; i < 8; i++) {
      const s = c.seg[i];
      out.push({
        name: SEG_NAMES[i], value: `${hex(s.selector)} base=${hex(s.base)} limit=${hex(s.limit)}`,
        children: () => [
          { name: 'selector', value: hex(s.selector) }, { name: 'base', value: hex(s.base), memoryReference: hex(s.base) },
          { name: 'limit', value: hex(s.limit) }, { name: 'access rights', value: hex(s.ar) },
          { name: 'type', value: String(s.type) }, { name: 's', value: String(s.s) }, { name: 'dpl', value: String(s.dpl) },
          { name: 'present', value: String(s.present) }, { name: 'avl', value: String(s.avl) },
          { name: 'l', value: String(s.l), set: (t) => this.setSegmentBit(i, 'l', t) },
          { name: 'db', value: String(s.db), set: (t) => this.setSegmentBit(i, 'db', t) },
          { name: 'g', value: String(s.g) }, { name: 'unusable', value: String(s.unusable) },
        ],
      });
    }
    out.push({ name: 'gdtr', value: `base=${hex(c.gdtr.base)} limit=${hex(c.gdtr.limit)}`, memoryReference: hex(c.gdtr.base) });
    out.push({ name: 'idtr', value: `base=${hex(c.idtr.base)} limit=${hex(c.idtr.limit)}`, memoryReference: hex(c.idtr.base) });
    return out;
  }

  controlScope(): VarNode[] {
    const c = this.c;
    const names = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'xcr0', 'dr0', 'dr1', 'dr2', 'dr3', 'dr6', 'dr7'];
    const out: VarNode[] = names.map((n) => ({ name: n, value: hex(this.registerValue(n) ?? 0n), dataId: `reg:${n}`,
      memoryReference: n === 'cr3' || n === 'cr2' ? hex(this.registerValue(n) ?? 0n) : undefined }));
    out.push({ name: 'cr0 (hardware, GUEST_CR0)', value: hex(c.cr0 >>> 0) }, { name: 'cr4 (hardware, GUEST_CR4)', value: hex(c.cr4 >>> 0) });
    out.push({ name: 'cpl', value: String(c.cpl) }, { name: 'mode', value: modeName(c, this.codeBits()) });
    out.push({ name: 'pdpte[0..3]', value: c.pdpte.map((p) => hex(p)).join(' ') });
    return out;
  }

  msrScope(): VarNode[] {
    const out: VarNode[] = [];
    for (const [num, name] of Object.entries(MSR_NAMES)) {
      if (coreReadMsr(this.c, Number(num))) {
        out.push({ name: `${name} (${hex(Number(num))})`, value: hex((BigInt(this.c.msrHi >>> 0) << 32n) | BigInt(this.c.msrLo >>> 0)) });
      }
    }
    return out;
  }

  registerCacheScope(): VarNode[] {
    const a = this.v.arch;
    const info = this.v.registerCache();
    const out: VarNode[] = [
      { name: 'regs_avail', value: `${hex(a.regs_avail >>> 0)} {${info.availNames.join(', ')}}` },
      { name: 'regs_dirty', value: `${hex(a.regs_dirty >>> 0)} {${info.dirtyNames.join(', ')}}` },
      { name: this.v.ops.view.readsLabel, value: String(info.reads) },
      { name: this.v.ops.view.writesLabel, value: String(info.writes) },
    ];
    for (const e of this.registerCacheEntries()) {
      out.push({ name: e.name, value: `${e.cached}${e.avail ? '' : ' (not available)'}${e.dirty ? ' (dirty)' : ''}`,
        children: () => [
          { name: 'cached (vcpu->arch)', value: e.cached }, { name: this.v.ops.view.controlBlockLabel, value: e.vmcs ?? '-' },
          { name: 'avail', value: String(e.avail) }, { name: 'dirty', value: String(e.dirty) },
        ] });
    }
    return out;
  }

  /** Each kvm_reg with cached value, backing-store value, avail and dirty (custom request too). */
  registerCacheEntries(): { name: string; cached: string; vmcs?: string; avail: boolean; dirty: boolean }[] {
    const a = this.v.arch, c = this.c;
    const out = [];
    for (let r = 0; r < KVM_REG_NAMES.length; r++) {
      const avail = ((a.regs_avail >>> r) & 1) === 1, dirty = ((a.regs_dirty >>> r) & 1) === 1;
      let cached = '-', hw: string | undefined;
      if (r < 17) {
        cached = hex(this.archReg(r));
        // Only RSP and RIP have a VMCS field (GUEST_RSP, GUEST_RIP); the VMCB's save area also holds
        // RAX. The other GPRs live only in vcpu->arch.regs.
        if (r === VCPU_REGS_RIP) hw = hex(c.rip);
        else if (this.v.ops.view.gprInControlBlock(r)) hw = hex(this.cpuReg(r));
      } else {
        switch (KVM_REG_NAMES[r]) {
          case 'EXREG_CR0': cached = hex(a.cr0 >>> 0); hw = hex(c.cr0 >>> 0); break;
          case 'EXREG_CR3': cached = hex(a.cr3); hw = hex(c.cr3); break;
          case 'EXREG_CR4': cached = hex(a.cr4 >>> 0); hw = hex(c.cr4 >>> 0); break;
          case 'EXREG_RFLAGS': materializeFlags(c); hw = hex(c.rflags >>> 0); break;
          case 'EXREG_PDPTR': hw = c.pdpte.map((p) => hex(p)).join(' '); break;
          case 'EXREG_SEGMENTS': hw = `cs=${hex(c.seg[CS].selector)}`; break;
        }
      }
      out.push({ name: kvmRegName(r), cached, vmcs: hw, avail, dirty });
    }
    return out;
  }

  currentExitScope(): VarNode[] {
    const run = this.v.kvm_run;
    const out: VarNode[] = [];
    const stop = this.e.lastStop;
    const ex = stop?.exit;
    if (ex && ex.layer === 'hardware') {
      out.push({ name: 'hardware exit', value: ex.name });
      out.push({ name: 'exit qualification', value: hex(ex.fields.qual ?? 0n) });
      out.push({ name: 'KVM handler', value: (ex.handlers ?? []).join(' -> ') });
      for (const [k, v] of Object.entries(ex.fields)) out.push({ name: k, value: hex(v) });
    }
    const atExit = this.e.machine.stoppedAtExit === this.v;
    const rec = exitRecord(run, this.v.vcpu_id, this.v.peekRip());
    out.push({ name: 'kvm_run.exit_reason', value: `${run.exit_reason} (KVM_EXIT_${rec.reason})` });
    out.push({ name: 'kvm_run.immediate_exit', value: String(run.immediate_exit) });
    const editable = (label: string, get: () => bigint, set: (v: bigint) => void): VarNode => ({
      name: label, value: hex(get()),
      set: atExit ? (t) => { const x = parseValue(t); this.e.edit(`reply ${label} = ${hex(x)}`, () => set(x)); return hex(get()); } : undefined,
    });
    switch (run.exit_reason) {
      case U.KVM_EXIT_HYPERCALL:
        out.push({ name: 'hypercall.nr', value: String(run.hypercall.nr) });
        run.hypercall.args.forEach((a, i) => out.push({ name: `hypercall.args[${i}]`, value: hex(a), memoryReference: hex(a) }));
        out.push(editable('hypercall.ret', () => run.hypercall.ret, (v) => { run.hypercall.ret = v; }));
        out.push({ name: 'hypercall.flags', value: hex(run.hypercall.flags) });
        break;
      case U.KVM_EXIT_IO: {
        const io = run.io;
        out.push({ name: 'io.direction', value: io.direction ? '1 (KVM_EXIT_IO_OUT)' : '0 (KVM_EXIT_IO_IN)' },
          { name: 'io.size', value: String(io.size) }, { name: 'io.port', value: hex(io.port) }, { name: 'io.count', value: String(io.count) },
          { name: 'io.data_offset', value: hex(io.data_offset) });
        const getData = () => { let v = 0n; for (let k = io.size - 1; k >= 0; k--) v = (v << 8n) | BigInt(run.data[io.data_offset + k]); return v; };
        out.push(io.direction ? { name: 'data', value: hex(getData()) }
          : editable('io.data (reply)', getData, (v) => { for (let k = 0; k < io.size; k++) run.data[io.data_offset + k] = Number((v >> BigInt(8 * k)) & 0xffn); }));
        break;
      }
      case U.KVM_EXIT_MMIO: {
        const m = run.mmio;
        const getData = () => { let v = 0n; for (let k = m.len - 1; k >= 0; k--) v = (v << 8n) | BigInt(m.data[k]); return v; };
        out.push({ name: 'mmio.phys_addr', value: hex(m.phys_addr) }, { name: 'mmio.len', value: String(m.len) }, { name: 'mmio.is_write', value: String(m.is_write) });
        out.push(m.is_write ? { name: 'mmio.data', value: hex(getData()) }
          : editable('mmio.data (reply)', getData, (v) => { for (let k = 0; k < m.len; k++) m.data[k] = Number((v >> BigInt(8 * k)) & 0xffn); }));
        break;
      }
      default:
        for (const [k, v] of Object.entries(rec)) if (!['reason', 'vcpu', 'rip'].includes(k)) out.push({ name: k, value: Array.isArray(v) ? `[${v.join(', ')}]` : String(v) });
    }
    return out;
  }

  /**
   * What KVM_GET_VCPU_EVENTS reports (kvm_vcpu_ioctl_x86_get_vcpu_events), read without the ioctl:
   * its interrupt shadow is a VMREAD of GUEST_INTERRUPTIBILITY_INFO (VMCB int_state), which would
   * count as one (and reading must not change the model: reverse execution rebuilds it exactly).
   */
  private vcpuEvents() {
    const a = this.v.arch;
    const shadow = this.v.ops.view.interruptShadow();
    return {
      exception: { injected: a.exc_injected ? 1 : 0, pending: a.exc_pending ? 1 : 0, nr: a.exc_vector, error_code: a.exc_error >>> 0 },
      interrupt: { injected: a.intr_injected ? 1 : 0, nr: a.intr_nr, shadow },
      nmi: { injected: a.nmi_injected ? 1 : 0, pending: a.nmi_pending ? 1 : 0, masked: this.c.nmiBlocked ? 1 : 0 },
      triple_fault: { pending: (a.requests & KVM_REQ_TRIPLE_FAULT) ? 1 : 0 },
    };
  }

  pendingEventsScope(): VarNode[] {
    const ev = this.vcpuEvents();
    const c = this.c;
    return [
      { name: 'mp_state', value: U.KVM_MP_STATE_NAMES[this.v.arch.mp_state] ?? String(this.v.arch.mp_state) },
      { name: 'halted', value: String(c.halted) },
      { name: 'exception', value: `injected=${ev.exception.injected} pending=${ev.exception.pending} nr=${ev.exception.nr} error=${hex(ev.exception.error_code)}` },
      { name: 'interrupt', value: `injected=${ev.interrupt.injected} nr=${ev.interrupt.nr} shadow=${ev.interrupt.shadow}` },
      { name: 'nmi', value: `injected=${ev.nmi.injected} pending=${ev.nmi.pending} masked=${ev.nmi.masked}` },
      { name: 'triple_fault.pending', value: String(ev.triple_fault.pending) },
      { name: 'processor pending event', value: c.evType ? `type ${c.evType - 1} vector ${c.evVector}` : 'none' },
      { name: 'interrupt shadow', value: c.stiShadow ? 'STI' : c.movSsShadow ? 'MOV SS' : 'none' },
    ];
  }

  /**
   * The VMCS grouped as the SDM lays it out (Vol. 3C 24.4-24.9: guest-state area, host-state area,
   * VM-execution, VM-exit and VM-entry control fields, VM-exit information fields), each group sorted
   * by encoding (Appendix B); the VMCB as its control area and state save area (APM Vol. 2 Appendix B).
   */
  controlBlockScope(): VarNode[] {
    const view = this.v.ops.view;
    const groups = new Map<string, VarNode[]>(view.controlBlockAreas.map((g) => [g, []]));
    // A VMCS field is known by its encoding, a VMCB field by its place in the VMCB (the list's order).
    const fields = this.v.controlBlock().map((f, k) => ({ ...f, id: f.encoding ?? k })).sort((a, b) => a.id - b.id);
    for (const f of fields) {
      groups.get(view.controlBlockArea(f.id))?.push({ name: f.encoding !== undefined ? `${f.name} (${hex(f.encoding)})` : f.name, value: hex(f.value) });
    }
    return [...groups].filter(([, kids]) => kids.length).map(([g, kids]) => ({ name: g, value: `${kids.length} field${kids.length === 1 ? '' : 's'}`, children: () => kids }));
  }

  vmScope(): VarNode[] {
    const vm = this.v.vm, o = this.e.options;
    const quirks = Object.entries(U).filter(([k, v]) => k.startsWith('KVM_X86_QUIRK_') && typeof v === 'number')
      .map(([k, v]) => `${k.slice(14)}=${vm.hasQuirk(v as number) ? 'on' : 'off'}`);
    return [
      { name: 'vendor', value: this.v.ops.view.vendorLabel },
      { name: 'quirks', value: quirks.join(' ') },
      { name: 'KVM_CAP_EXIT_HYPERCALL mask', value: hex(vm.hypercallExitMask) },
      { name: 'KVM_CAP_X86_TRIPLE_FAULT_EVENT', value: String(vm.tripleFaultEventEnabled) },
      { name: 'KVM_CAP_X86_NOTIFY_VMEXIT', value: `flags=${hex(vm.notifyVmexitFlags)} window=${vm.notifyWindow}` },
      { name: 'caps (launch)', value: o.caps.map((c) => `${c.name}=${hex(c.value)}`).join(', ') || 'none' },
      { name: 'hypercall policy', value: vm.options.hypercallPolicy ?? (vm.hasQuirk(U.KVM_X86_QUIRK_FIX_HYPERCALL_INSN) ? 'patch (quirk on)' : 'ud (quirk off)') },
      { name: 'unrestricted guest', value: String(vm.options.unrestrictedGuest) },
      { name: 'pre-fix seed 001', value: String(vm.options.preFixSeed001) },
      { name: 'instructions', value: String(this.e.recording.position()) },
    ];
  }
}

// No prototype: a name like __proto__ or constructor is not a sub-register.
const SUBREGS: Record<string, [number, number, number]> = Object.create(null) as Record<string, [number, number, number]>;
{
  const legacy = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
  legacy.forEach((n, i) => { SUBREGS['e' + n] = [i, 0, 32]; SUBREGS[n] = [i, 0, 16]; });
  ['al', 'cl', 'dl', 'bl'].forEach((n, i) => { SUBREGS[n] = [i, 0, 8]; });
  ['ah', 'ch', 'dh', 'bh'].forEach((n, i) => { SUBREGS[n] = [i, 8, 8]; });
  ['spl', 'bpl', 'sil', 'dil'].forEach((n, i) => { SUBREGS[n] = [4 + i, 0, 8]; });
  for (let i = 8; i < 16; i++) { SUBREGS[`r${i}d`] = [i, 0, 32]; SUBREGS[`r${i}w`] = [i, 0, 16]; SUBREGS[`r${i}b`] = [i, 0, 8]; SUBREGS[`r${i}l`] = [i, 0, 8]; }
}

/** KVM's enum kvm_reg name: VCPU_REGS_RAX .. VCPU_REGS_RIP, then VCPU_EXREG_* (KVM_REG_NAMES already carry EXREG_). */
export function kvmRegName(r: number): string {
  return (r <= VCPU_REGS_RIP ? 'VCPU_REGS_' : 'VCPU_') + KVM_REG_NAMES[r];
}

const KVM_GPR_KEYS = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

/** Parse user input for setVariable: hex, decimal, negative, binary. */
export function parseValue(t: string): bigint {
  const s = t.trim().replace(/_/g, '');
  try {
    if (/^-?(0x[0-9a-f]+|0b[01]+|\d+)$/i.test(s)) return BigInt.asUintN(64, s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s));
    if (/^[0-9a-f]+h$/i.test(s)) return BigInt('0x' + s.slice(0, -1));
  } catch { /* fall through */ }
  throw new Error(`'${t}' is not a number (use hex 0x.., decimal, or binary 0b..)`);
}

function modeName(c: import('../cpu/cpu').Cpu, bits: 16 | 32 | 64): string {
  if (!(c.cr0 & 1)) return 'real';
  if (c.efer & EFER_LMA) return bits === 64 ? 'long (64-bit)' : 'long (compatibility)';
  return `protected (${bits}-bit)${c.cr0 & CR0_PG ? (c.cr4 & CR4_PAE ? ', PAE paging' : ', paging') : ''}`;
}

/** Length of a near CALL at the start of `b` (E8 rel, FF /2), or 0. */
function nearCallLength(b: Uint8Array, bits: number): number {
  let i = 0;
  let opsize16 = false;
  while (i < 4 && (b[i] === 0x66 || b[i] === 0x67 || b[i] === 0xf2 || b[i] === 0xf3 || b[i] === 0x2e || b[i] === 0x3e || b[i] === 0x26 || b[i] === 0x36 || b[i] === 0x64 || b[i] === 0x65)) { if (b[i] === 0x66) opsize16 = true; i++; }
  if (bits === 64 && (b[i] & 0xf0) === 0x40) i++;
  if (b[i] === 0xe8) return i + 1 + (bits === 16 !== opsize16 ? 2 : 4);
  if (b[i] === 0xff && ((b[i + 1] >> 3) & 7) === 2) return i + 1 + modrmLength(b.subarray(i + 1), bits);
  return 0;
}

function modrmLength(b: Uint8Array, bits: number): number {
  const modrm = b[0], mod = modrm >> 6, rm = modrm & 7;
  if (mod === 3) return 1;
  if (bits === 16) {
    if (mod === 0 && rm === 6) return 3;
    return 1 + (mod === 1 ? 1 : mod === 2 ? 2 : 0);
  }
  let n = 1;
  if (rm === 4) { n++; if (mod === 0 && (b[1] & 7) === 5) return n + 4; }
  if (mod === 0 && rm === 5) return n + 4;
  return n + (mod === 1 ? 1 : mod === 2 ? 4 : 0);
}

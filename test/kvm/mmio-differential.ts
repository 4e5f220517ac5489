// The same instruction form run twice under the KVM model: once with its data in a RAM memory slot,
// once with the data window left without a slot, so every access to it is MMIO that KVM's
// instruction emulator hands to userspace (KVM_EXIT_MMIO), answered here from a byte array that
// starts with the same contents. Registers, flags, XMM registers, the window's bytes and the set of
// bytes accessed must come out the same.
import { Kvm, type KvmVcpu } from '../../vm-core/kvm';
import * as U from '../../vm-core/kvm/uapi';
import { writeGdt, writeIdentityPageTables, BOOT_LAYOUT } from '../../vm-core/vmm/boot';
import { initialGpr } from '../cpu/access-check';
import type { Form } from '../cpu/forms';

export const CODE = 0x10000, WINDOW = 0x20000, WINDOW_END = 0x40000;
const kvm = new Kvm();

export interface Outcome {
  exit: string;
  regs: string;
  window: Uint8Array;
  /** Bytes of the window read and written (RAM: seen by the processor's memory watch; MMIO: the exits). */
  read: Set<number>;
  written: Set<number>;
  /** Each MMIO exit: "R/W gpa len". */
  mmio: string[];
}

function windowInit(): Uint8Array {
  const w = new Uint8Array(WINDOW_END - WINDOW);
  let x = 0x12345678;
  for (let k = 0; k < w.length; k++) { x = (Math.imul(x, 1103515245) + 12345) | 0; w[k] = (x >>> 16) & 0xff; }
  return w;
}
const INIT = windowInit();

export function runOnKvm(f: Form, mmio: boolean, vendor: 'intel' | 'amd' = 'intel'): Outcome {
  const vm = kvm.createVm({ vendor });
  const low = new Uint8Array(WINDOW), high = new Uint8Array(0x100000 - WINDOW_END), win = INIT.slice();
  vm.setUserMemoryRegion({ slot: 0, flags: 0, guest_phys_addr: 0, memory_size: low.length, userspace_addr: low });
  vm.setUserMemoryRegion({ slot: 2, flags: 0, guest_phys_addr: WINDOW_END, memory_size: high.length, userspace_addr: high });
  if (!mmio) vm.setUserMemoryRegion({ slot: 1, flags: 0, guest_phys_addr: WINDOW, memory_size: win.length, userspace_addr: win });
  const v = vm.createVcpu(0) as KvmVcpu;
  v.setCpuid2(kvm.getSupportedCpuid(vendor));
  writeGdt(low);
  low.set(f.bytes, CODE); low[CODE + f.bytes.length] = 0xf4;
  low[CODE + 0xff0] = 0xf4;
  for (let k = 0; k < 256; k++) { low[4 * k] = 0xf0; low[4 * k + 1] = 0x0f; low[4 * k + 2] = 0x00; low[4 * k + 3] = 0x10; } // 1000:0FF0
  const s = v.getSregs();
  const flat = (sel: number, type: number, db: number, l: number) =>
    ({ base: 0n, limit: 0xffffffff, selector: sel, type, present: 1, dpl: 0, db, s: 1, l, g: 1, avl: 0, unusable: 0, padding: 0 });
  s.gdt = { base: BigInt(BOOT_LAYOUT.gdt), limit: 31 };
  if (f.mode === 16) {
    const real = (sel: number) => ({ ...flat(sel, 3, 0, 0), base: BigInt(sel << 4), limit: 0xffff, g: 0 });
    s.cs = { ...real(CODE >> 4), type: 11 };
    s.ds = real(WINDOW >> 4); s.es = real(WINDOW >> 4); s.fs = real(WINDOW >> 4); s.gs = real(WINDOW >> 4);
    s.ss = real(0x7000);
    s.cr0 = 0x10n; s.cr4 = 0x600n;
  } else if (f.mode === 32) {
    s.cs = flat(0x18, 11, 1, 0);
    for (const k of ['ds', 'es', 'ss', 'fs', 'gs'] as const) s[k] = flat(0x10, 3, 1, 0);
    s.cr0 = 0x11n; s.cr4 = 0x600n;
  } else {
    writeIdentityPageTables(low);
    s.cs = flat(0x08, 11, 0, 1);
    for (const k of ['ds', 'es', 'ss', 'fs', 'gs'] as const) s[k] = flat(0x10, 3, 1, 0);
    s.cr3 = BigInt(BOOT_LAYOUT.pml4); s.cr4 = 0x620n; s.efer = 0x500n; s.cr0 = 0x80010011n;
  }
  v.setSregs(s);
  const r = v.getRegs();
  const names = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
  names.forEach((n, k) => { if (f.mode === 64 || k < 8) r[n] = initialGpr(f.mode, k); });
  r.rip = BigInt(f.mode === 16 ? 0 : CODE); r.rflags = 2n;
  v.setRegs(r);

  const out: Outcome = { exit: '', regs: '', window: win, read: new Set(), written: new Set(), mmio: [] };
  if (!mmio) {
    v.cpu.memWatch = (lin, len, write) => {
      for (let k = 0; k < len; k++) if (lin + k >= WINDOW && lin + k < WINDOW_END) (write ? out.written : out.read).add(lin + k - WINDOW);
    };
  }
  // One instruction: stop once it retired (a jump's target is not run), at HLT, or at the exit an
  // exception ends in (real mode: the IVT points every vector at a HLT; else no IDT: shutdown).
  // A repeated string instruction retires once per iteration (or batch) with RIP left on itself.
  const start = v.cpu.icount, startRip = v.getRegs().rip;
  for (let n = 0; n < 64; n++) {
    const rc = v.run({ maxInsns: 1 });
    if (rc === -U.EINTR && (v.cpu.icount === start || v.getRegs().rip === startRip)) continue;
    if (rc === -U.EINTR) { out.exit = 'retired'; break; }
    const reason = rc < 0 ? rc : v.kvm_run.exit_reason;
    if (reason === U.KVM_EXIT_MMIO) {
      const m = v.kvm_run.mmio, gpa = Number(m.phys_addr), off = gpa - WINDOW;
      out.mmio.push(`${m.is_write ? 'W' : 'R'} ${gpa.toString(16)} ${m.len}`);
      for (let k = 0; k < m.len; k++) {
        const inside = off + k >= 0 && off + k < win.length;
        if (m.is_write) { if (inside) { win[off + k] = m.data[k]; out.written.add(off + k); } }
        else { m.data[k] = inside ? win[off + k] : 0xff; if (inside) out.read.add(off + k); }
      }
      // Bytes past len are not data: a VMM may leave anything there (this one, junk).
      if (!m.is_write) m.data.fill(0xa5, m.len);
      continue;
    }
    if (reason === U.KVM_EXIT_IO) { if (v.kvm_run.io.direction === U.KVM_EXIT_IO_IN) v.kvm_run.data.fill(0, v.kvm_run.io.data_offset, v.kvm_run.io.data_offset + 64); continue; }
    out.exit = reason < 0 ? `errno ${reason}` : U.KVM_EXIT_NAMES[reason] ?? String(reason);
    break;
  }
  if (!out.exit) out.exit = 'no end';
  if (out.exit === 'KVM_EXIT_INTERNAL_ERROR') {
    const e = v.kvm_run.internal;
    out.exit += ` suberror ${e.suberror} data ${e.data.slice(0, e.ndata).map((d) => d.toString(16)).join(',')} ${v.lastInternalError}`;
  }
  const g = v.getRegs(), fpu = v.getFpu();
  // An MMIO write exits after the instruction completed; the next KVM_RUN may reach the HLT behind it.
  const after = BigInt((f.mode === 16 ? 0 : CODE) + f.bytes.length);
  if (out.exit === 'KVM_EXIT_HLT' && g.rip === after + 1n) { out.exit = 'retired'; g.rip = after; }
  out.regs = names.map((n) => `${n}=${g[n].toString(16)}`).join(' ') + ` rip=${g.rip.toString(16)} rflags=${(g.rflags & 0x8d5n).toString(16)}` +
    ` xmm=${fpu.xmm.map((x) => Buffer.from(x).toString('hex')).join(',')} fpr=${fpu.fpr.map((x) => Buffer.from(x).toString('hex')).join(',')} mxcsr=${fpu.mxcsr.toString(16)}`;
  v.cpu.memWatch = null;
  return out;
}

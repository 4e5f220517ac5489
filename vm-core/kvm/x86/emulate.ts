// KVM's instruction emulator path (x86.c x86_emulate_instruction, emulate.c em_hypercall,
// emulator_fix_hypercall, complete_emulated_mmio/pio, handle_ud; vmx.c handle_invalid_guest_state).
// The processor model executes the instruction (cpu.emulateOne) with MMIO and port I/O routed to
// hooks: the in-kernel LAPIC, or userspace through KVM_EXIT_MMIO / KVM_EXIT_IO.
import type { KvmVcpu } from '../vcpu';
import type { EmulatorHooks } from '../../cpu/cpu';
import { FAULT, RUN_EXIT, RUN_BUDGET } from '../../cpu/cpu';
import { HW_EMULATOR_USERSPACE, HW_UNEMULATED, EXIT_REASON_VMCALL, EXIT_REASON_EXCEPTION_NMI, HW_VMMCALL } from '../../cpu/exits';
import { ACC_FETCH, ACC_USER, ACC_WRITE } from '../../cpu/mmu';
import {
  KVM_EXIT_MMIO, KVM_EXIT_INTERNAL_ERROR, KVM_INTERNAL_ERROR_EMULATION, UD_VECTOR, KVM_X86_QUIRK_FIX_HYPERCALL_INSN,
} from '../uapi';
import { kvm_queue_exception, kvm_inject_page_fault, is_64_bit_mode } from './x86';
import { kvm_hypercall_dispatch, complete_hypercall_exit } from './hypercall';
import { emulator_pio_in_out, pioDataWrite, pioDataRead } from './pio';
import { kvm_gpr_write, kvm_rip_read, kvm_rip_write, kvm_gpr_read } from './kvm_cache_regs';
import type { HypercallPolicy } from '../options';

export const EMULTYPE_SKIP = 1, EMULTYPE_TRAP_UD = 2, EMULTYPE_NO_DECODE = 4;

/**
 * MMIO pieces one instruction may need: FXSAVE/FXRSTOR move up to 512 bytes, XSAVE a few KiB, in
 * 8-byte pieces (KVM's complete_emulated_mmio hands userspace at most 8 bytes per exit).
 */
const MAX_PIECES = 1024;

/** Per-vCPU emulator context: the hooks the processor calls, and what userspace must complete. */
export class EmulatorContext implements EmulatorHooks {
  /** Values userspace supplied for MMIO reads / port reads of the instruction being re-executed. */
  readonly replayLo = new Int32Array(MAX_PIECES);
  readonly replayHi = new Int32Array(MAX_PIECES);
  replayCount = 0;
  replayIdx = 0;
  /** Completed OUTs (string I/O) that re-execution must not repeat. */
  outSkip = 0;
  /** The access that needs userspace: 1 MMIO read, 2 port in, 3 port out. */
  pendingKind = 0;
  pendingAddr = 0;
  pendingSize = 0;
  pendingValue = 0;
  /** MMIO writes to hand to userspace after the instruction completed. */
  readonly writeGpa = new Float64Array(MAX_PIECES);
  readonly writeLen = new Int32Array(MAX_PIECES);
  readonly writeLo = new Int32Array(MAX_PIECES);
  readonly writeHi = new Int32Array(MAX_PIECES);
  writeCount = 0;
  writeIdx = 0;

  constructor(readonly v: KvmVcpu) {}

  private needUserspace(kind: number, addr: number, size: number, value: number): never {
    this.pendingKind = kind; this.pendingAddr = addr; this.pendingSize = size; this.pendingValue = value;
    const c = this.v.cpu;
    c.beginExit(HW_EMULATOR_USERSPACE);
    return c.throwExit();
  }

  mmioRead(gpa: number, size: number): number {
    const l = this.v.lapic;
    if (l && l.inRange(gpa)) { this.v.cpu.hi = 0; return l.mmioRead(gpa, size); }
    const io = this.v.vm.ioapic;
    if (io && io.inRange(gpa)) { this.v.cpu.hi = 0; return io.mmioRead(gpa, size); }
    if (this.replayIdx < this.replayCount) {
      this.v.cpu.hi = this.replayHi[this.replayIdx];
      return this.replayLo[this.replayIdx++];
    }
    if (this.replayCount >= MAX_PIECES) this.tooManyPieces();
    return this.needUserspace(1, gpa, size, 0);
  }
  mmioWrite(gpa: number, size: number, lo: number, hi: number): void {
    const l = this.v.lapic;
    if (l && l.inRange(gpa)) { l.mmioWrite(gpa, size, lo); return; }
    const io = this.v.vm.ioapic;
    if (io && io.inRange(gpa)) { io.mmioWrite(gpa, size, lo); return; }
    if (this.writeCount >= MAX_PIECES) this.tooManyPieces();
    const k = this.writeCount++;
    this.writeGpa[k] = gpa; this.writeLen[k] = size; this.writeLo[k] = lo; this.writeHi[k] = hi;
  }
  /** More MMIO pieces than one instruction can have: an emulation failure, never a silently dropped access. */
  private tooManyPieces(): never {
    const c = this.v.cpu;
    c.beginExit(HW_UNEMULATED).message = `more than ${MAX_PIECES} MMIO accesses in one instruction`;
    return c.throwExit();
  }
  pioIn(port: number, size: number): number {
    if (this.replayIdx < this.replayCount) return this.replayLo[this.replayIdx++] >>> 0;
    const k = this.v.vm.kvm_io_bus_read(port, size); // kernel_pio
    if (k !== null) return k >>> 0;
    return this.needUserspace(2, port, size, 0);
  }
  pioOut(port: number, size: number, value: number): void {
    if (this.outSkip > 0) { this.outSkip--; return; }
    if (this.v.vm.kvm_io_bus_write(port, size, value)) return; // kernel_pio
    if (this.pendingKind === 3) return this.needUserspace(3, this.pendingAddr, this.pendingSize, this.pendingValue);
    this.pendingKind = 3; this.pendingAddr = port; this.pendingSize = size; this.pendingValue = value;
  }

  /** A fresh instruction (not a re-execution after userspace completed an access). */
  fresh(): void {
    this.replayCount = 0; this.replayIdx = 0; this.outSkip = 0; this.pendingKind = 0;
    this.writeCount = 0; this.writeIdx = 0;
  }
}

/** Run one instruction in the processor with the emulator hooks; the vCPU's cache is synced around it. */
function emulateOne(v: KvmVcpu): number {
  const ctx = v.emulator;
  ctx.replayIdx = 0; ctx.pendingKind = 0; ctx.writeCount = 0; ctx.writeIdx = 0;
  v.syncCacheToCpu();
  const before = v.cpu.icount;
  const r = v.cpu.emulateOne(ctx);
  v.syncCacheFromCpu();
  v.emulatedInsns += v.cpu.icount - before;
  return r;
}

/** x86_emulate_instruction. Returns 1 (resume), 0 (userspace exit in run) or < 0. */
export function kvm_emulate_instruction(v: KvmVcpu, emulType: number): number {
  if (emulType & EMULTYPE_SKIP) return emulate_skip(v);
  if (!(emulType & EMULTYPE_NO_DECODE)) v.emulator.fresh();
  const r = emulateOne(v);
  return finishEmulation(v, r);
}

function finishEmulation(v: KvmVcpu, r: number): number {
  const ctx = v.emulator, c = v.cpu;
  if (r === RUN_EXIT) {
    const reason = c.exit.reason;
    if (reason === HW_EMULATOR_USERSPACE) return userspaceAccess(v);
    if (isHypercallExit(v)) return em_hypercall(v, reason === EXIT_REASON_VMCALL || reason === HW_VMMCALL);
    return v.ops.emulator_exit();
  }
  if (ctx.pendingKind === 3) return userspaceAccess(v);
  if (ctx.writeCount > ctx.writeIdx) return mmioWriteExit(v);
  void RUN_BUDGET;
  return 1;
}

/** The processor stopped on VMCALL/VMMCALL (or #UD on the other vendor's one) inside emulation. */
function isHypercallExit(v: KvmVcpu): boolean {
  const e = v.cpu.exit;
  if (e.reason === EXIT_REASON_VMCALL || e.reason === HW_VMMCALL) return true;
  if (e.reason === EXIT_REASON_EXCEPTION_NMI && (e.intrInfo & 0x7ff) === (UD_VECTOR | (3 << 8))) {
    return hypercallBytesAt(v) !== 0;
  }
  return false;
}

/** KVM_EXIT_MMIO / KVM_EXIT_IO for the access the processor could not complete in the kernel. */
function userspaceAccess(v: KvmVcpu): number {
  const ctx = v.emulator, run = v.kvm_run;
  if (ctx.pendingKind === 1) {
    run.exit_reason = KVM_EXIT_MMIO;
    run.mmio.phys_addr = BigInt(ctx.pendingAddr);
    run.mmio.len = ctx.pendingSize;
    run.mmio.is_write = 0;
    run.mmio.data.fill(0);
    v.arch.complete_userspace_io = complete_emulated_mmio_read;
    return 0;
  }
  const isIn = ctx.pendingKind === 2;
  emulator_pio_in_out(v, ctx.pendingSize, ctx.pendingAddr, 1, isIn);
  if (!isIn) pioDataWrite(v, 0, ctx.pendingSize, ctx.pendingValue);
  v.arch.complete_userspace_io = isIn ? complete_emulated_pio_in : complete_emulated_pio_out;
  return 0;
}

function mmioWriteExit(v: KvmVcpu): number {
  const ctx = v.emulator, run = v.kvm_run, k = ctx.writeIdx++;
  run.exit_reason = KVM_EXIT_MMIO;
  run.mmio.phys_addr = BigInt(ctx.writeGpa[k]);
  run.mmio.len = ctx.writeLen[k];
  run.mmio.is_write = 1;
  const d = run.mmio.data;
  d.fill(0);
  for (let b = 0; b < ctx.writeLen[k]; b++) d[b] = b < 4 ? (ctx.writeLo[k] >>> (8 * b)) & 0xff : (ctx.writeHi[k] >>> (8 * (b - 4))) & 0xff;
  v.arch.complete_userspace_io = complete_emulated_mmio_write;
  return 0;
}

/** complete_emulated_mmio for a read: the data goes to the re-executed instruction. */
function complete_emulated_mmio_read(v: KvmVcpu): number {
  // Only the access's len bytes are data (KVM copies run->mmio.len bytes); the rest of the buffer is ignored.
  const ctx = v.emulator, d = v.kvm_run.mmio.data, len = ctx.pendingSize;
  let lo = 0, hi = 0;
  for (let b = 0; b < len && b < 8; b++) { if (b < 4) lo |= d[b] << (8 * b); else hi |= d[b] << (8 * (b - 4)); }
  ctx.replayLo[ctx.replayCount] = lo; ctx.replayHi[ctx.replayCount] = hi; ctx.replayCount++;
  return kvm_emulate_instruction(v, EMULTYPE_NO_DECODE);
}
function complete_emulated_mmio_write(v: KvmVcpu): number {
  const ctx = v.emulator;
  if (ctx.writeIdx < ctx.writeCount) return mmioWriteExit(v);
  return 1;
}
/** complete_emulated_pio for IN/INS: the data goes to the re-executed instruction. */
function complete_emulated_pio_in(v: KvmVcpu): number {
  const ctx = v.emulator;
  ctx.replayLo[ctx.replayCount] = pioDataRead(v, 0, v.arch.pio_size); ctx.replayHi[ctx.replayCount] = 0; ctx.replayCount++;
  v.arch.pio_count = 0;
  return kvm_emulate_instruction(v, EMULTYPE_NO_DECODE);
}
function complete_emulated_pio_out(v: KvmVcpu): number {
  v.arch.pio_count = 0;
  v.emulator.fresh();
  return 1;
}

/** EMULTYPE_SKIP: decode the instruction at RIP only to learn its length and skip it. */
function emulate_skip(v: KvmVcpu): number {
  v.syncCacheToCpu();
  try {
    const insn = v.cpu.fetch();
    kvm_rip_write(v, kvm_rip_read(v) + insn.len);
    return 1;
  } catch (e) {
    if (e !== FAULT) throw e;
    return 0;
  }
}

/** handle_emulation_failure: KVM_EXIT_INTERNAL_ERROR / EMULATION at CPL 0, else #UD. */
export function emulation_failure(v: KvmVcpu): number {
  kvm_queue_exception(v, UD_VECTOR);
  if (v.ops.get_cpl() !== 0) return 1;
  const run = v.kvm_run;
  run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
  run.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
  run.internal.ndata = 0;
  return 0;
}

// ---------------------------------------------------------------- #UD and the hypercall fixup (seed 000)

/** 1 for VMCALL, 2 for VMMCALL at CS:RIP, 0 otherwise. */
function hypercallBytesAt(v: KvmVcpu): number {
  const c = v.cpu;
  const lin = c.codeBits === 64 ? c.rip : (c.seg[1].base + c.rip) >>> 0;
  const b = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    const gpa = c.tryTranslate(lin + k, ACC_FETCH | (c.cpl === 3 ? ACC_USER : 0));
    if (gpa < 0) return 0;
    const x = v.vm.bus.readByte(gpa);
    if (x < 0) return 0;
    b[k] = x;
  }
  if (b[0] !== 0x0f || b[1] !== 0x01) return 0;
  return b[2] === 0xc1 ? 1 : b[2] === 0xd9 ? 2 : 0;
}

/** handle_ud: the emulator only emulates the hypercall instructions on #UD; anything else is #UD. */
export function handle_ud(v: KvmVcpu): number {
  v.syncCacheToCpu();
  const which = hypercallBytesAt(v);
  if (!which) { kvm_queue_exception(v, UD_VECTOR); return 1; }
  const native = (which === 1) === (v.vm.vendor === 'intel');
  return em_hypercall(v, native);
}

/** The policy for the other vendor's hypercall instruction (VmOptions.hypercallPolicy, seed 000). */
export function hypercallPolicy(v: KvmVcpu): HypercallPolicy {
  return v.vm.options.hypercallPolicy ?? (v.vm.hasQuirk(KVM_X86_QUIRK_FIX_HYPERCALL_INSN) ? 'patch' : 'ud');
}

/** em_hypercall -> emulator_fix_hypercall (or the alternatives the seed 000 thread discussed). */
export function em_hypercall(v: KvmVcpu, native: boolean): number {
  const policy = hypercallPolicy(v);
  switch (policy) {
    case 'ud': kvm_queue_exception(v, UD_VECTOR); return 1;
    case 'emulate': return emulate_hypercall_v2(v);
    case 'patch-fixed': if (native) { kvm_queue_exception(v, UD_VECTOR); return 1; } break;
    case 'patch':
      if (native) v.notePatchLoop();
      break;
  }
  return emulator_fix_hypercall(v, policy === 'patch-fixed');
}

/**
 * emulator_fix_hypercall: write the native instruction over the 3 bytes at RIP with an emulated
 * guest write (emulator_write_emulated at linear address RIP), RIP not advanced. The write is split
 * per page, each part translated for write through the guest page tables; a failure injects #PF
 * (mainline) or #UD (fixed). Other vCPUs are not serialized.
 */
function emulator_fix_hypercall(v: KvmVcpu, fixed: boolean): number {
  const insn = new Uint8Array(3);
  v.ops.patch_hypercall(insn);
  const rip = kvm_rip_read(v);
  const c = v.cpu;
  const acc = ACC_WRITE | (c.cpl === 3 ? ACC_USER : 0);
  const first = Math.min(3, 4096 - (((rip % 4096) + 4096) % 4096));
  const parts: [number, number][] = first < 3 ? [[0, first], [first, 3 - first]] : [[0, 3]];
  v.patchWrites.length = 0;
  for (const [off, len] of parts) {
    const gpa = c.tryTranslate(rip + off, acc);
    if (gpa < 0) {
      if (fixed) kvm_queue_exception(v, UD_VECTOR);
      else kvm_inject_page_fault(v, c.pfAddr, c.pfError);
      v.bugEvent('hypercall-patch-fault', `hypercall patch write at 0x${(rip + off).toString(16)} failed: ${fixed ? '#UD' : '#PF'} injected` +
        (v.patchWrites.length ? ' after a partial write' : ''));
      return 1;
    }
    const chunk = insn.subarray(off, off + len);
    const r = v.vm.bus.regionAt(gpa);
    if (!r || r.readonly) return patchMmioWrite(v, gpa, chunk);
    v.vm.bus.write(gpa, chunk, false);
    v.patchWrites.push({ gpa, bytes: Array.from(chunk) });
  }
  if (parts.length > 1) v.bugEvent('hypercall-patch-split', `hypercall patch at 0x${rip.toString(16)} crossed a page: written in ${parts.length} separate writes`);
  return 1;
}

/** The patch write hit MMIO or a read-only slot: KVM_EXIT_MMIO with the bytes. */
function patchMmioWrite(v: KvmVcpu, gpa: number, chunk: Uint8Array): number {
  const ctx = v.emulator;
  ctx.fresh();
  ctx.writeGpa[0] = gpa; ctx.writeLen[0] = chunk.length;
  ctx.writeLo[0] = chunk[0] | ((chunk[1] ?? 0) << 8) | ((chunk[2] ?? 0) << 16); ctx.writeHi[0] = 0;
  ctx.writeCount = 1;
  return mmioWriteExit(v);
}

/**
 * Hou Wenlong's v2 (seed 000): emulate the hypercall without patching. As posted, it skipped the
 * CPL check, and a userspace exit completes through complete_hypercall_exit, which skips by the
 * VM-exit instruction length of the #UD exit (Sean's objection).
 */
function emulate_hypercall_v2(v: KvmVcpu): number {
  const r = kvm_hypercall_dispatch(v, 0, complete_hypercall_exit);
  if (r === 0) return 0;
  const ret = v.kvm_run.hypercall.ret;
  const op64 = is_64_bit_mode(v);
  kvm_gpr_write(v, 0, Number(ret & 0xffffffffn) | 0, op64 ? Number((ret >> 32n) & 0xffffffffn) | 0 : 0);
  const rip = kvm_rip_read(v) + 3;
  kvm_rip_write(v, op64 ? rip : rip >>> 0);
  return 1;
}

/** handle_invalid_guest_state: emulate while the guest state cannot be entered (unrestricted guest off). */
export function handle_invalid_guest_state(v: KvmVcpu, budget: number): number {
  for (let count = 130; count > 0 && budget > 0 && v.ops.emulation_required(); count--, budget--) {
    if (v.arch.exc_pending || v.arch.exc_injected) return 1;
    v.emulator.fresh();
    const r = finishEmulation(v, emulateOne(v));
    if (r <= 0) return r;
    if (v.livelocked) return 1;
    v.recheckEmulationRequired();
  }
  return 1;
}

export { kvm_gpr_read };

// Pieces of the VM entry/exit path both vendors share: the GPR save/restore the entry stub does
// (__vmx_vcpu_run / __svm_vcpu_run), event injection at entry, re-queueing an event whose
// delivery a VM exit interrupted (vmx_complete_interrupts / svm_complete_interrupts), and the
// internal-error exit for instructions the processor model does not emulate.
import type { KvmVcpu } from '../vcpu';
import { KVM_EXIT_INTERNAL_ERROR, KVM_INTERNAL_ERROR_EMULATION, KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES } from '../uapi';
import { KVM_REQ_EVENT } from '../vcpu_arch';
import { injectEvent, EVT_NONE } from '../../cpu/events';

/**
 * The entry stub loads every GPR but RSP from arch.regs (__vmx_vcpu_run); SVM's also leaves RAX,
 * which VMRUN loads from the VMCB (__svm_vcpu_run). The copies move each register as one 64-bit
 * bit pattern through Float64Array views (a load and a store never alter the bits, NaN patterns
 * included: test/kvm/gpr_copy.test.ts), written out: cheaper than a typed-array set() call.
 */
export function syncGprsToCpu(v: KvmVcpu, svm: boolean): void {
  const R = v.cpu.R64, G = v.arch.regs64;
  if (!svm) R[0] = G[0];
  R[1] = G[1]; R[2] = G[2]; R[3] = G[3]; R[5] = G[5]; R[6] = G[6]; R[7] = G[7]; R[8] = G[8];
  R[9] = G[9]; R[10] = G[10]; R[11] = G[11]; R[12] = G[12]; R[13] = G[13]; R[14] = G[14]; R[15] = G[15];
}
/** The exit stub saves every GPR but RSP into arch.regs (SVM: RAX also comes from the VMCB). */
export function syncGprsFromCpu(v: KvmVcpu, svm: boolean): void {
  const R = v.cpu.R64, G = v.arch.regs64;
  if (!svm) G[0] = R[0];
  G[1] = R[1]; G[2] = R[2]; G[3] = R[3]; G[5] = R[5]; G[6] = R[6]; G[7] = R[7]; G[8] = R[8];
  G[9] = R[9]; G[10] = R[10]; G[11] = R[11]; G[12] = R[12]; G[13] = R[13]; G[14] = R[14]; G[15] = R[15];
}

/**
 * VM entry with a valid VM-entry interruption-information field (SDM Vol. 3C 27.6): the event is
 * delivered through the guest IDT before the first instruction, not subject to the exception bitmap.
 */
export function entryInjectEvent(v: KvmVcpu, info: number, error: number, insnLen: number): void {
  if (!(info & 0x80000000)) return;
  const c = v.cpu, vector = info & 0xff, type = (info >> 8) & 7;
  // kvm_deliver_exception_payload: KVM writes CR2 (#PF) or DR6 (#DB) itself before injecting.
  if (type === 3 && v.arch.exc_has_payload) {
    if (vector === 14) { c.cr2 = v.arch.exc_payload; v.arch.cr2 = v.arch.exc_payload; }
    if (vector === 1) c.dr6 = (c.dr6 & ~0x400f) | v.arch.exc_payload;
  }
  injectEvent(c, type, vector, (info & 0x800) !== 0 ? error : -1, insnLen);
  c.halted = false;
}

/** vmx_complete_interrupts / svm_complete_interrupts: re-queue an event whose delivery was cut short. */
export function exitCompleteInterrupts(v: KvmVcpu, idtInfo: number, idtError: number): void {
  const a = v.arch;
  a.exc_injected = false; a.nmi_injected = false; a.intr_injected = false;
  if (!(idtInfo & 0x80000000)) return;
  const vector = idtInfo & 0xff, type = (idtInfo >> 8) & 7;
  a.requests |= KVM_REQ_EVENT;
  switch (type) {
    case 2: a.nmi_injected = true; break;
    case 3: case 6: case 5:
      a.exc_injected = true; a.exc_pending = false; a.exc_vector = vector;
      a.exc_has_error = (idtInfo & 0x800) !== 0; a.exc_error = idtError; a.exc_has_payload = false;
      break;
    case 0: case 4: a.intr_injected = true; a.intr_nr = vector; a.intr_soft = type === 4; break;
  }
}

/**
 * The run ended without a VM exit (instruction budget, HLT, a debugger stop): in KVM the host's own
 * interrupt or preemption exit would follow, and vmx_complete_interrupts / svm_complete_interrupts
 * would find no IDT-vectoring information for an event the entry injected and the guest already
 * took, so nothing is re-injected at the next entry. Only an event the processor still holds
 * undelivered stays injected (the next entry injects the same event again).
 */
export function completeInterruptsWithoutExit(v: KvmVcpu): void {
  const a = v.arch, c = v.cpu;
  if (c.evType !== EVT_NONE && c.evInjected) return;
  a.exc_injected = false; a.nmi_injected = false; a.intr_injected = false;
}

/** An instruction the processor model cannot run: KVM_EXIT_INTERNAL_ERROR / EMULATION with its bytes. */
export function reportUnemulated(v: KvmVcpu): number {
  const run = v.kvm_run, e = v.cpu.exit;
  run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
  run.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
  const bytes = e.insnBytes;
  const n = Math.min(bytes.length, 15);
  const f = run.emulation_failure;
  f.suberror = KVM_INTERNAL_ERROR_EMULATION;
  f.flags = BigInt(KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES);
  f.insn_size = n;
  f.insn_bytes.fill(0);
  f.insn_bytes.set(bytes.subarray(0, n));
  // internal.data overlays struct emulation_failure: flags, insn_size, insn_bytes[16].
  run.internal.data[0] = f.flags;
  run.internal.data[1] = BigInt(n);
  let lo = 0n, hi = 0n;
  for (let k = 0; k < 8; k++) lo |= BigInt(f.insn_bytes[k] ?? 0) << BigInt(8 * k);
  for (let k = 8; k < 15; k++) hi |= BigInt(f.insn_bytes[k] ?? 0) << BigInt(8 * (k - 8));
  run.internal.data[2] = lo;
  run.internal.data[3] = hi;
  run.internal.ndata = 4;
  f.ndata = 4;
  v.lastInternalError = e.message;
  return 0;
}


// Notify VM exits on VMX (vmx.c handle_notify; seed 004): EXIT_REASON_NOTIFY (75) when the guest
// spends longer than the notify window without reaching an instruction boundary.
import type { KvmVcpu } from '../vcpu';
import type { Vmx } from './vmx';
import { KVM_EXIT_NOTIFY, KVM_NOTIFY_CONTEXT_INVALID, KVM_X86_NOTIFY_VMEXIT_ENABLED, KVM_X86_NOTIFY_VMEXIT_USER } from '../uapi';
import * as F from './vmcs_fields';

/** Exit qualification bit 0 (NOTIFY_VM_CONTEXT_INVALID) and bit 12 (INTR_INFO_UNBLOCK_NMI). */
const NOTIFY_VM_CONTEXT_INVALID = 1 << 0, INTR_INFO_UNBLOCK_NMI = 1 << 12;

/** kvm_notify_vmexit_enabled: KVM_CAP_X86_NOTIFY_VMEXIT with ENABLED. */
export function kvm_notify_vmexit_enabled(v: KvmVcpu): boolean {
  return (v.vm.notifyVmexitFlags & KVM_X86_NOTIFY_VMEXIT_ENABLED) !== 0;
}

/**
 * handle_notify: count it; a valid context with USER off resumes the guest (KVM re-injects the
 * event it interrupted, vmx_complete_interrupts); USER or an invalid context exits to userspace
 * with KVM_EXIT_NOTIFY and notify.flags. Never reflected to an L1 hypervisor.
 */
export function handle_notify(v: KvmVcpu, vmx: Vmx): number {
  const q = vmx.get_exit_qual();
  const invalid = (q & NOTIFY_VM_CONTEXT_INVALID) !== 0;
  v.stats.notifyWindowExits = (v.stats.notifyWindowExits ?? 0) + 1;
  // The exit happened while executing IRET from an NMI: "blocked by NMI" must be set again.
  if (q & INTR_INFO_UNBLOCK_NMI) {
    vmx.vmcs.write(F.GUEST_INTERRUPTIBILITY_INFO, vmx.vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO) | F.GUEST_INTR_STATE_NMI);
  }
  if ((v.vm.notifyVmexitFlags & KVM_X86_NOTIFY_VMEXIT_USER) || invalid) {
    v.kvm_run.exit_reason = KVM_EXIT_NOTIFY;
    v.kvm_run.notify.flags = invalid ? KVM_NOTIFY_CONTEXT_INVALID : 0;
    return 0;
  }
  return 1;
}

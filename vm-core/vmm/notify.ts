// Userspace's side of seed 004: KVM_CAP_X86_NOTIFY_VMEXIT and KVM_CAP_X86_TRIPLE_FAULT_EVENT from
// the machine options, and the policy for KVM_EXIT_NOTIFY: stop the VM, synthesize a SHUTDOWN
// through KVM_SET_VCPU_EVENTS (triple_fault.pending) when the VM context is invalid, or resume.
import type { KvmVm } from '../kvm/vm';
import type { KvmVcpu } from '../kvm/vcpu';
import * as U from '../kvm/uapi';

export type NotifyPolicy = 'stop' | 'shutdown' | 'resume';

export interface NotifyMachineOptions {
  /** KVM_CAP_X86_NOTIFY_VMEXIT with this window (processor units: kvm/README.md); Intel only. */
  notifyWindow?: number;
  /** With notifyWindow: KVM_X86_NOTIFY_VMEXIT_USER, every notify exit reaches userspace. */
  notifyUser?: boolean;
  /** KVM_CAP_X86_TRIPLE_FAULT_EVENT: userspace may inject a triple fault (KVM_SET_VCPU_EVENTS). */
  tripleFaultEvent?: boolean;
  /** What this VMM does at KVM_EXIT_NOTIFY (default 'stop'). */
  notifyPolicy?: NotifyPolicy;
}

/** VM-wide caps, before any vCPU exists: [cap, errno] of the first refusal, or null. */
export function configureNotifyVm(vm: KvmVm, o: NotifyMachineOptions): [number, bigint, number] | null {
  if (o.tripleFaultEvent) {
    const r = vm.enableCap({ cap: U.KVM_CAP_X86_TRIPLE_FAULT_EVENT, args: [1] });
    if (r < 0) return [U.KVM_CAP_X86_TRIPLE_FAULT_EVENT, 1n, r];
  }
  if (o.notifyWindow !== undefined) {
    const flags = U.KVM_X86_NOTIFY_VMEXIT_ENABLED | (o.notifyUser ? U.KVM_X86_NOTIFY_VMEXIT_USER : 0);
    const arg = (BigInt(o.notifyWindow >>> 0) << 32n) | BigInt(flags);
    const r = vm.enableCap({ cap: U.KVM_CAP_X86_NOTIFY_VMEXIT, args: [arg] });
    if (r < 0) return [U.KVM_CAP_X86_NOTIFY_VMEXIT, arg, r];
  }
  return null;
}

/**
 * The VMM's answer to KVM_EXIT_NOTIFY (what QEMU's notify-vmexit=run / internal-error do): true to
 * resume the vCPU, false to stop the VM there. 'shutdown' asks KVM for a triple fault, so the next
 * KVM_RUN returns KVM_EXIT_SHUTDOWN; it needs KVM_CAP_X86_TRIPLE_FAULT_EVENT (else -EINVAL: stop).
 */
export function handleNotifyExit(v: KvmVcpu, policy: NotifyPolicy): boolean {
  const invalid = (v.kvm_run.notify.flags & U.KVM_NOTIFY_CONTEXT_INVALID) !== 0;
  switch (policy) {
    case 'resume': return true;
    case 'stop': return false;
    case 'shutdown': {
      if (!invalid) return true;
      const ev = v.getVcpuEvents();
      ev.flags = U.KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
      ev.triple_fault.pending = 1;
      return v.setVcpuEvents(ev) === 0;
    }
  }
}

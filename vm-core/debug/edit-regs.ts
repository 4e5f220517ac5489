// Register edits from the debugger go through KVM's ioctls, as a VMM's would: KVM_SET_REGS writes
// vcpu->arch.regs and marks them dirty (kvm_register_mark_dirty), written back at the next entry.
import type { KvmVcpu } from '../kvm/vcpu';

export function setRflagsFromDebugger(v: KvmVcpu, value: number): void {
  const regs = v.getRegs();
  regs.rflags = BigInt((value | 2) >>> 0);
  v.setRegs(regs);
}

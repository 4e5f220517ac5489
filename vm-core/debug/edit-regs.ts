// Register edits from the debugger go through KVM's ioctls, as a VMM's would: KVM_SET_REGS writes
// vcpu->arch.regs and marks them dirty (kvm_register_mark_dirty), written back at the next entry;
// KVM_SET_SREGS writes segments and control registers into the VMCS/VMCB.
import type { KvmVcpu } from '../kvm/vcpu';
import { CS, SEG_NAMES, CR0_PE, CR0_PG, CR4_PAE, EFER_LME } from '../cpu/state';
import { errnoName } from '../vmm/machine';

export function setRflagsFromDebugger(v: KvmVcpu, value: number): void {
  const regs = v.getRegs();
  regs.rflags = BigInt((value | 2) >>> 0);
  v.setRegs(regs);
}

/** The segment bits the debugger can edit (see checkSegmentBitEdit for why only these). */
export type SegmentBit = 'l' | 'db';

/** kvm_sregs member of the processor's segment index (VMX order: ES CS SS DS FS GS LDTR TR). */
const SREGS_KEYS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldt', 'tr'] as const;

/**
 * Check an edit of one segment's L or D/B bit before it is made; throws an Error naming why it is
 * refused. Reads the processor's state only (no VMREAD: the edit itself, recorded, does the ioctls).
 *
 * Only L and D/B are editable, and only in protected or long mode, because for them every outcome is
 * one this model reproduces: either KVM refuses the ioctl, or the guest runs as the hardware would, or
 * (Intel, 64-bit mode, CS.L = CS.D/B = 1) the next VM entry fails its guest-state checks (SDM Vol. 3C
 * 27.3.1.2) and KVM returns KVM_EXIT_FAIL_ENTRY with hardware_entry_failure_reason 0x80000021, as the
 * VMX model's entry check does. Other segment fields have VM-entry checks (type, S, DPL, P, limit vs G,
 * base canonical, ...) the model does not implement, so editing them could run a guest real hardware
 * refuses; in real mode without unrestricted guest KVM would emulate a segment whose D/B is set
 * (rmode_segment_valid wants AR 0xf3), which the model does not either.
 */
export function checkSegmentBitEdit(v: KvmVcpu, seg: number, bit: SegmentBit, text: string, value: bigint): void {
  const name = `${SEG_NAMES[seg]}.${bit}`;
  if (value !== 0n && value !== 1n) throw new Error(`${name} is one bit: 0 or 1, not '${text.trim()}'`);
  const c = v.cpu;
  if (!(c.cr0 & CR0_PE)) throw new Error(`${name} can be edited in protected or long mode only: in real mode its effect on VM entry (vm86 emulation without unrestricted guest) is not modelled`);
  const cs = c.seg[CS];
  const csL = seg === CS && bit === 'l' ? Number(value) : cs.l, csD = seg === CS && bit === 'db' ? Number(value) : cs.db;
  const efer = v.arch.efer;
  const longMode = (efer & EFER_LME) !== 0 && (c.cr0 & CR0_PG) !== 0;
  // kvm_is_valid_sregs: outside 64-bit mode "the code segment cannot be 64-bit".
  if (!longMode && csL) throw new Error(`KVM_SET_SREGS would fail with -EINVAL: CS.L = 1 outside 64-bit mode (kvm_is_valid_sregs)`);
  // An entry failure the vendor model does not reproduce (SVM's VMRUN consistency checks) is refused.
  const unmodelled = v.ops.view.unmodelledEntryFailure(longMode, (c.cr4 & CR4_PAE) !== 0, csL, csD);
  if (unmodelled) throw new Error(`${unmodelled}: edit refused`);
}

/**
 * What a VMM does to change one segment bit: KVM_GET_SREGS, the bit, KVM_SET_SREGS. Returns '' or why
 * KVM refused it (never throws: it runs again when a recording replays the edit).
 */
export function setSegmentBitFromDebugger(v: KvmVcpu, seg: number, bit: SegmentBit, value: number): string {
  const s = v.getSregs();
  s[SREGS_KEYS[seg]][bit] = value;
  const r = v.setSregs(s);
  return r < 0 ? `KVM_SET_SREGS failed: ${errnoName(-r)}` : '';
}

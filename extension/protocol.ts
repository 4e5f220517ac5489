// Custom DAP requests the extension's views send to the adapter (issue 6: "custom requests the
// extension uses"). Names and shapes are the extension's proposal; the adapter implements them.
// A view whose request fails says that the adapter does not provide it yet.

/** `kvmGuest/exitLog` {sinceIndex?} -> {exits}. */
export const EXIT_LOG_REQUEST = 'kvmGuest/exitLog';
export interface ExitLogEntry {
  /** Position in the run's exit log, from 0. */
  index: number;
  vcpu: number;
  /** KVM_EXIT_* name without the prefix for exits to userspace ("HYPERCALL"), else the hardware reason ("EPT_VIOLATION"). */
  reason: string;
  /** Guest RIP at the exit, "0x..." */
  rip: string;
  /** One line of the exit's fields, e.g. "nr=12 args=[0x1000,1,0]". */
  details: string;
  /** Source location of RIP when the image has a line map. */
  source?: { path: string; line: number };
}
export interface ExitLogResponse { exits: ExitLogEntry[] }

/** `kvmGuest/registerCache` {vcpu?} -> {regs}: KVM's vcpu->arch.regs[] with regs_avail/regs_dirty. */
export const REGISTER_CACHE_REQUEST = 'kvmGuest/registerCache';
export interface RegisterCacheEntry {
  /** kvm_reg name: VCPU_REGS_RAX ... VCPU_EXREG_PDPTR etc. */
  name: string;
  cached: string;
  /** The backing VMCS/VMCB field's value, when the register has one. */
  vmcs?: string;
  avail: boolean;
  dirty: boolean;
  vmreads?: number;
  vmwrites?: number;
}
export interface RegisterCacheResponse { vcpu: number; regs: RegisterCacheEntry[] }

/** `kvmGuest/statistics` -> exits by reason and over time (like perf kvm stat). */
export const STATISTICS_REQUEST = 'kvmGuest/statistics';
export interface StatisticsResponse {
  byReason: { reason: string; count: number }[];
  /** Exit counts per bucket of guest instructions. */
  timeline?: { instructions: number; count: number }[];
  totalInstructions?: number;
}

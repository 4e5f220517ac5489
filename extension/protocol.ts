// Custom DAP requests between the extension's views/commands and the adapter (adapter/session.ts,
// customRequest). These are the shapes the adapter answers; no VS Code import, so tests use them.

/** Which layer an exit-log record comes from (vm-core/debug/exit-filters.ts ExitEventLayer). */
export type ExitLayer = 'userspace' | 'hardware' | 'regcache' | 'kvm' | 'interrupt';

/** `kvmGuest/exitLog` {sinceIndex?} -> {exits}: the run's exit log from `sinceIndex` on. */
export const EXIT_LOG_REQUEST = 'kvmGuest/exitLog';
export interface ExitLogArguments { sinceIndex?: number }
export interface ExitLogEntry {
  /** Position in the run's exit log, from 0. */
  index: number;
  vcpu: number;
  /** KVM_EXIT_* name without the prefix for exits to userspace ("HYPERCALL"), else the hardware reason ("EXIT_REASON_VMCALL"). */
  reason: string;
  /** Guest RIP at the exit, "0x..." */
  rip: string;
  layer: ExitLayer;
  /** The exit's fields on one line, e.g. "nr=12 args=[0x200000,0x10,0x10,0x0,0x0,0x0] ret=0x0 flags=0x1". */
  details: string;
  /** Source location of RIP when the image has a line map (1-based line). */
  source?: { path: string; line: number };
}
export interface ExitLogResponse { exits: ExitLogEntry[] }

/** `kvmGuest/registerCache` {vcpu?} -> KVM's vcpu->arch.regs[] with regs_avail/regs_dirty. */
export const REGISTER_CACHE_REQUEST = 'kvmGuest/registerCache';
export interface RegisterCacheArguments { vcpu?: number }
export interface RegisterCacheEntry {
  /** kvm_reg name: VCPU_REGS_RAX ... VCPU_EXREG_PDPTR etc. */
  name: string;
  /** The value in vcpu->arch.regs[]. */
  cached: string;
  /** The backing VMCS/VMCB field's value, when the register has one. */
  vmcs?: string;
  avail: boolean;
  dirty: boolean;
}
export interface RegisterCacheResponse {
  vcpu: number;
  /** regs_avail / regs_dirty bitmaps over enum kvm_reg. */
  avail: number;
  dirty: number;
  /** VMREADs / VMWRITEs (VMCB reads/writes on AMD) counted so far. */
  vmreads: number;
  vmwrites: number;
  regs: RegisterCacheEntry[];
}

/** `kvmGuest/statistics` -> exits by reason and over time (like perf kvm stat). */
export const STATISTICS_REQUEST = 'kvmGuest/statistics';
export interface StatisticsResponse {
  byReason: { reason: string; count: number }[];
  /** Exit counts per bucket of guest instructions, `instructions` being the bucket's start. */
  timeline: { instructions: number; count: number }[];
  totalInstructions: number;
}

/** `kvmGuest/inject` {kind, vcpu?} -> {result}: the VMM injects an event (KVM_SET_VCPU_EVENTS, INIT). */
export const INJECT_REQUEST = 'kvmGuest/inject';
export type InjectKind = 'init' | 'nmi' | 'triple-fault';
export interface InjectArguments { kind: InjectKind; vcpu?: number }
export interface ResultResponse { result: string }

/** `kvmGuest/reset` -> {result}: RESET of the whole VM. */
export const RESET_REQUEST = 'kvmGuest/reset';

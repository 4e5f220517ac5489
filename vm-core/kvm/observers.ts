// Observers: what KVM lacks and a debugger needs. Listeners see every hardware exit, every exit
// to userspace, every register-cache access, every VMREAD/VMWRITE (VMCB access on SVM), reads of
// never-written VMCS fields and cached registers that disagree with the VMCS/VMCB.
// Nothing is allocated per event unless a listener is registered.
import type { KvmVcpu } from './vcpu';
import type { kvm_run } from './uapi';
import { KVM_REG_NAMES, CACHE_READ, CACHE_WRITE } from './x86/kvm_cache_regs';

export interface HwExitEvent {
  vcpu: number; vendor: 'vmx' | 'svm';
  /** VMX basic exit reason or SVM exit code. */
  code: number; name: string;
  /** Exit qualification (VMX) / EXITINFO1 (SVM), and EXITINFO2 / interruption info. */
  info1: number; info2: number;
  rip: number;
}
export interface CacheAccessEvent {
  vcpu: number; kind: 'read' | 'write' | 'fill'; reg: number; name: string; avail: number; dirty: number;
}
export interface ControlBlockAccessEvent { vcpu: number; write: boolean; field: number; name: string; value: number; }
export interface NeverWrittenEvent { vcpu: number; field: number; name: string; rip: number; }
export interface StaleCacheEvent { vcpu: number; reg: number; name: string; cached: number; actual: number; rip: number; }
export interface KvmBugEvent { vcpu: number; kind: string; message: string; rip: number; }

export interface KvmObserver {
  hwExit?(e: HwExitEvent): void;
  userExit?(vcpu: KvmVcpu, run: kvm_run): void;
  cacheAccess?(e: CacheAccessEvent): void;
  controlBlockAccess?(e: ControlBlockAccessEvent): void;
  neverWritten?(e: NeverWrittenEvent): void;
  staleCache?(e: StaleCacheEvent): void;
  /** A behaviour of (modelled) KVM that would hang or corrupt the guest, e.g. the seed 000 patch loop. */
  kvmBug?(e: KvmBugEvent): void;
}

/** The per-VM observer list. */
export class KvmObservers {
  readonly list: KvmObserver[] = [];
  add(o: KvmObserver): () => void {
    this.list.push(o);
    return () => { const i = this.list.indexOf(o); if (i >= 0) this.list.splice(i, 1); };
  }
}

/** Per-vCPU dispatch, installed only while observers exist (vcpu.trace). */
export class VcpuTrace {
  constructor(readonly v: KvmVcpu, readonly obs: KvmObservers) {}

  cache(kind: number, reg: number): void {
    const a = this.v.arch;
    const e: CacheAccessEvent = { vcpu: this.v.vcpu_id, kind: kind === CACHE_READ ? 'read' : kind === CACHE_WRITE ? 'write' : 'fill',
      reg, name: KVM_REG_NAMES[reg] ?? String(reg), avail: a.regs_avail, dirty: a.regs_dirty };
    for (const o of this.obs.list) o.cacheAccess?.(e);
  }

  /** A cached read of an available register: compare with the VMCS/VMCB (uncounted). */
  checkStale(reg: number): void {
    if (!this.v.vm.options.detectStaleCache) return;
    const r = this.v.staleCheck(reg);
    if (r === null) return;
    const e: StaleCacheEvent = { vcpu: this.v.vcpu_id, reg, name: KVM_REG_NAMES[reg], cached: r[0], actual: r[1], rip: this.v.cpu.rip };
    for (const o of this.obs.list) o.staleCache?.(e);
  }

  access(write: boolean, field: number, value: number): void {
    const e: ControlBlockAccessEvent = { vcpu: this.v.vcpu_id, write, field, name: this.v.fieldName(field), value };
    for (const o of this.obs.list) o.controlBlockAccess?.(e);
  }

  neverWritten(field: number): void {
    const e: NeverWrittenEvent = { vcpu: this.v.vcpu_id, field, name: this.v.fieldName(field), rip: this.v.cpu.rip };
    for (const o of this.obs.list) o.neverWritten?.(e);
  }

  hwExit(): void {
    const ops = this.v.ops;
    const e: HwExitEvent = { vcpu: this.v.vcpu_id, vendor: ops.name, code: ops.exitCode, name: ops.exitName(),
      info1: ops.exitInfo1(), info2: ops.exitInfo2(), rip: this.v.cpu.rip };
    for (const o of this.obs.list) o.hwExit?.(e);
  }

  userExit(): void {
    for (const o of this.obs.list) o.userExit?.(this.v, this.v.kvm_run);
  }

  bug(kind: string, message: string): void {
    const e: KvmBugEvent = { vcpu: this.v.vcpu_id, kind, message, rip: this.v.cpu.rip };
    for (const o of this.obs.list) o.kvmBug?.(e);
  }
}

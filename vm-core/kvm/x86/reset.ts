// RESET and INIT (x86.c kvm_vcpu_reset, kvm_vcpu_deliver_sipi_vector; lapic.c kvm_lapic_reset).
// With VmOptions.preFixSeed001 the order of the code before seed 001's fix is reproduced:
// regs_avail/dirty are stuffed to ~0 inside kvm_vcpu_reset (so the first kvm_read_cr0 at vCPU
// creation VMREADs a GUEST_CR0 nothing wrote) and CR3 is not cleared.
import type { KvmVcpu } from '../vcpu';
import {
  kvm_read_cr0, kvm_register_mark_dirty, kvm_rip_write, kvm_gpr_write, VCPU_REGS_RSP, VCPU_REGS_RDX, VCPU_EXREG_CR3,
  ALL_REGS,
} from './kvm_cache_regs';
import { kvm_find_cpuid_entry } from './cpuid';
import { kvm_set_xcr } from './x86';
import { CR0_CD, CR0_ET, CR0_NW, CR0_PG } from '../../cpu/state';
import { KVM_REQ_EVENT, KVM_REQ_LOAD_MMU_PGD, KVM_REQ_TLB_FLUSH_GUEST } from '../vcpu_arch';
import { KvmSegment } from '../x86_ops';

/** MSR_IA32_CR_PAT_DEFAULT as halves. */
const PAT_DEFAULT_LO = 0x00070406, PAT_DEFAULT_HI = 0x00070406;
/** MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL | BTS_UNAVAIL. */
const MISC_ENABLE_RESET = 0x1800;

/** kvm_vcpu_reset(vcpu, init_event). */
export function kvm_vcpu_reset(v: KvmVcpu, initEvent: boolean): void {
  const a = v.arch, preFix = v.vm.options.preFixSeed001;
  // kvm_leave_nested / free_nested: RESET and INIT leave guest mode and VMX operation (seed 001).
  if (v.ops.nested) v.ops.nested.leave_nested();
  const oldCr0 = kvm_read_cr0(v);
  if (v.lapic) v.lapic.reset(initEvent, v.isBsp());
  a.hflags = 0;
  a.nmi_pending = 0; a.nmi_injected = false; a.nmi_queued = 0;
  a.intr_injected = false;
  a.exc_pending = false; a.exc_injected = false;
  for (let k = 0; k < 4; k++) a.db[k] = 0;
  a.dr6 = 0xffff0ff0;
  a.dr7 = 0x400;
  loadDebugRegs(v);
  v.ops.set_dr7(a.dr7);
  a.cr2 = 0;
  v.cpu.cr2 = 0;
  a.requests |= KVM_REQ_EVENT;
  a.pv_msrs.clear();
  a.kvmclock.msr = 0; a.kvmclock.updatePending = false; // kvmclock_reset
  if (!initEvent) {
    a.smbase = 0x30000;
    a.pat[0] = PAT_DEFAULT_LO; a.pat[1] = PAT_DEFAULT_HI;
    a.ia32_misc_enable_msr = MISC_ENABLE_RESET;
    kvm_set_xcr(v, 0, 1, 0);
    a.ia32_xss = 0;
  }
  a.regs.fill(0);
  if (preFix) {
    a.regs_avail = ALL_REGS;
    a.regs_dirty = ALL_REGS;
  } else {
    kvm_register_mark_dirty(v, VCPU_REGS_RSP);
  }
  // RDX = CPUID.1.EAX, else KVM's default family/model/stepping 0x600 (P6).
  const c1 = kvm_find_cpuid_entry(v, 1);
  kvm_gpr_write(v, VCPU_REGS_RDX, c1 ? c1.eax : 0x600, 0);
  v.ops.vcpu_reset(initEvent);
  v.ops.set_rflags(0x2);
  kvm_rip_write(v, 0xfff0);
  if (!preFix) {
    a.cr3 = 0;
    kvm_register_mark_dirty(v, VCPU_EXREG_CR3);
  }
  // CR0.CD/NW are set on RESET and preserved on INIT.
  let newCr0 = CR0_ET;
  newCr0 |= initEvent ? oldCr0 & (CR0_NW | CR0_CD) : CR0_NW | CR0_CD;
  v.ops.set_cr0(newCr0 >>> 0);
  v.ops.set_cr4(0);
  v.ops.set_efer(0);
  v.ops.update_exception_bitmap();
  a.requests |= KVM_REQ_LOAD_MMU_PGD;
  if ((oldCr0 & CR0_PG) || initEvent) a.requests |= KVM_REQ_TLB_FLUSH_GUEST;
  // The processor's own event state goes with RESET/INIT: a pending or half-delivered event, a
  // pending data-breakpoint #DB trap (VMX: GUEST_PENDING_DBG_EXCEPTIONS, written 0 above), the
  // notify window's count.
  const c = v.cpu;
  c.halted = false;
  c.shutdown = false;
  c.evType = 0;
  c.evInjected = false;
  c.pendingTripleFault = false;
  c.delivering = -1;
  c.deliveringType = 0;
  c.vectoringInfo = 0;
  c.dbHits = 0;
  c.noBoundaryCount = 0;
}

/** Load the guest debug registers into the processor (what KVM does before entry when switch_db_regs). */
function loadDebugRegs(v: KvmVcpu): void {
  const c = v.cpu, a = v.arch;
  for (let k = 0; k < 4; k++) c.dr[k] = a.db[k];
  c.dr6 = a.dr6;
}

/** kvm_vcpu_deliver_sipi_vector: CS.selector = vector << 8, CS.base = vector << 12, RIP = 0. */
export function kvm_vcpu_deliver_sipi_vector(v: KvmVcpu, vector: number): void {
  const cs = new KvmSegment();
  v.ops.get_segment(1, cs);
  cs.selector = (vector & 0xff) << 8;
  cs.base = (vector & 0xff) << 12;
  v.ops.set_segment(1, cs);
  kvm_rip_write(v, 0);
}

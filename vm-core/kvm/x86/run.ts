// KVM_RUN (x86.c kvm_arch_vcpu_ioctl_run, vcpu_run, vcpu_enter_guest, kvm_check_and_inject_events,
// vcpu_block) and INIT/SIPI acceptance (lapic.c kvm_apic_accept_events).
import type { KvmVcpu } from '../vcpu';
import {
  EINTR, EAGAIN, KVM_EXIT_INTR, KVM_EXIT_SHUTDOWN, KVM_MP_STATE_RUNNABLE, KVM_MP_STATE_UNINITIALIZED,
  KVM_MP_STATE_INIT_RECEIVED, KVM_MP_STATE_HALTED, KVM_MP_STATE_SIPI_RECEIVED,
} from '../uapi';
import { KVM_REQ_EVENT, KVM_REQ_TRIPLE_FAULT, KVM_REQ_HV_RESET, KVM_REQ_HV_EXIT } from '../vcpu_arch';
import { kvm_hv_check_requests, kvm_hv_stimer_timers_fn, kvm_hv_process_stimers } from '../hyperv';
import { RUN_BUDGET, RUN_EXIT, RUN_HALTED, RUN_STOPPED, RUN_SHUTDOWN } from '../../cpu/cpu';
import { handle_invalid_guest_state } from './emulate';
import { entryInjectEvent, completeInterruptsWithoutExit } from './vcpu_run_common';
import { kvm_vcpu_reset, kvm_vcpu_deliver_sipi_vector } from './reset';
import { kvm_guest_time_update } from './kvmclock';

/** kvm_apic_accept_events: a latched INIT resets the vCPU; a SIPI starts an AP in INIT_RECEIVED. */
export function kvm_apic_accept_events(v: KvmVcpu): void {
  const l = v.lapic;
  if (!l) return;
  // vmx_apic_init_signal_blocked: INIT stays latched in VMX root operation; in guest mode it is an exit to L1.
  if (l.pendingInit && v.ops.nested && (v.ops.nested.init_signal_blocked() || v.ops.nested.is_guest_mode())) {
    if (v.ops.nested.is_guest_mode()) v.ops.nested.check_events();
  } else if (l.pendingInit) {
    l.pendingInit = false;
    kvm_vcpu_reset(v, true);
    v.arch.mp_state = v.isBsp() ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED;
  }
  if (l.pendingSipi) {
    l.pendingSipi = false;
    if (v.arch.mp_state === KVM_MP_STATE_INIT_RECEIVED) {
      kvm_vcpu_deliver_sipi_vector(v, l.sipiVector);
      v.arch.mp_state = KVM_MP_STATE_RUNNABLE;
    }
  }
}

/** kvm_cpu_has_extint: the PIC's output reaches this vCPU through LINT0 (ExtINT). */
function kvm_cpu_has_extint(v: KvmVcpu): boolean {
  return v.lapic !== null && v.vm.kvm_pic_output() && v.lapic.kvm_apic_accept_pic_intr();
}
/** kvm_cpu_has_interrupt / kvm_cpu_has_injectable_intr: an ExtINT or an APIC interrupt above PPR. */
export function kvm_cpu_has_interrupt(v: KvmVcpu): boolean {
  return kvm_cpu_has_extint(v) || (v.lapic !== null && v.lapic.hasInterrupt());
}
/** kvm_cpu_get_interrupt: the PIC's INTA cycle for an ExtINT, else IRR -> ISR. */
function kvm_cpu_get_interrupt(v: KvmVcpu): number {
  if (kvm_cpu_has_extint(v)) return v.vm.kvm_pic_read_irq();
  return v.lapic ? v.lapic.kvm_get_apic_interrupt() : -1;
}

/**
 * process_nmi (KVM_REQ_NMI): queued NMIs become pending, at most one while NMIs are blocked or one is
 * being injected, else two (one to inject now, one for the NMI window); the rest are dropped, as
 * the processor latches only one NMI.
 */
export function process_nmi(v: KvmVcpu): void {
  const a = v.arch;
  const limit = v.cpu.nmiBlocked || a.nmi_injected ? 1 : 2;
  a.nmi_pending += a.nmi_queued;
  a.nmi_queued = 0;
  if (a.nmi_pending > limit) a.nmi_pending = limit;
  if (a.nmi_pending) v.requestEvent();
}

/** kvm_check_and_inject_events: re-inject, then a queued exception, an NMI, or an external interrupt. */
function kvm_check_and_inject_events(v: KvmVcpu): void {
  const a = v.arch, ops = v.ops;
  if (a.exc_injected) ops.inject_exception(a.exc_vector, a.exc_has_error, a.exc_error, 0);
  else if (a.nmi_injected) ops.inject_nmi();
  else if (a.intr_injected) ops.inject_irq(a.intr_nr);
  else if (a.exc_pending) {
    a.exc_pending = false; a.exc_injected = true;
    ops.inject_exception(a.exc_vector, a.exc_has_error, a.exc_error, 0);
  } else if (a.nmi_pending && ops.nmi_allowed()) {
    a.nmi_pending--; a.nmi_injected = true; ops.inject_nmi();
    if (v.vm.injectObserver) v.vm.injectObserver(v, 2, 'nmi');
  } else if (kvm_cpu_has_interrupt(v) && ops.interrupt_allowed()) {
    const extint = kvm_cpu_has_extint(v);
    const vector = kvm_cpu_get_interrupt(v);
    if (vector >= 0) {
      a.intr_injected = true; a.intr_nr = vector; a.intr_soft = false;
      ops.inject_irq(vector);
      if (v.vm.injectObserver) v.vm.injectObserver(v, vector, extint ? 'extint' : 'irq');
    }
  }
  // Events that must wait: exit when the guest can take them (enable_nmi_window / enable_irq_window).
  if (a.nmi_pending > 0) ops.enable_nmi_window();
  if (kvm_cpu_has_interrupt(v)) ops.enable_irq_window();
  update_cr8_intercept(v);
}

/** update_cr8_intercept: while the highest IRR vector is held back by TPR, a CR8 write that lowers it exits. */
function update_cr8_intercept(v: KvmVcpu): void {
  const l = v.lapic;
  if (!l || !v.ops.update_cr8_intercept) return;
  const irr = l.apic_find_highest_irr();
  v.ops.update_cr8_intercept(irr !== -1 && (irr & 0xf0) <= (l.getTpr() & 0xf0));
}

/** Is there work that needs event injection before entry (KVM_REQ_EVENT)? */
function needsEvents(v: KvmVcpu): boolean {
  const a = v.arch;
  return (a.requests & KVM_REQ_EVENT) !== 0 || a.exc_pending || a.exc_injected || a.intr_injected || a.nmi_injected ||
    a.nmi_pending > 0 || a.nmi_queued > 0 || kvm_cpu_has_interrupt(v);
}

/** kvm_inject_pending_timer_irqs: timers that fired for this vCPU become interrupts. */
function kvm_inject_pending_timer_irqs(v: KvmVcpu): void {
  const l = v.lapic;
  if (!l) return;
  v.vm.kvm_check_device_timers();
  l.checkTimer(v.vm.clock.cycles());
  if (l.pending) l.kvm_inject_apic_timer_irqs();
  // Hyper-V synthetic timers (stimer_timer_callback, then KVM_REQ_HV_STIMER: kvm_hv_process_stimers).
  const hv = v.arch.hyperv;
  if (hv !== null) {
    kvm_hv_stimer_timers_fn(v, v.vm.clock.cycles());
    if (hv.stimer_pending_bitmap) kvm_hv_process_stimers(v);
  }
}

/**
 * The processor runs at most until the next timer deadline this vCPU can see (its LAPIC timer, the
 * VM's devices), so the interrupt arrives at exactly the instruction the virtual clock says.
 */
function timerBudget(v: KvmVcpu, budget: number): number {
  const dl = v.vm.nextTimerCyclesFor(v);
  if (dl === Infinity) return budget;
  const left = dl - v.vm.clock.cycles();
  return left < 1 ? 1 : left < budget ? left : budget;
}

/** What the entry stub does with the local APIC: VTPR (CR8) and the PV EOI word (kvm_lapic_sync_to_vapic). */
function lapicBeforeEntry(v: KvmVcpu): void {
  const l = v.lapic;
  if (!l) return;
  v.cpu.cr8 = (l.getTpr() >> 4) & 0xf;
  l.kvm_lapic_sync_to_vapic();
}
/** After the exit: a CR8 write that did not exit (TPR shadow) moved TPR; a cleared PV EOI bit is an EOI. */
function lapicAfterExit(v: KvmVcpu): void {
  const l = v.lapic;
  if (!l) return;
  const cr8 = v.cpu.cr8 & 0xf;
  if (cr8 !== (l.getTpr() >> 4)) l.apic_set_tpr(cr8 << 4);
  l.kvm_lapic_sync_from_vapic();
}

/** vcpu_enter_guest: 1 keep running, 0 userspace exit, < 0 error. `budget` limits instructions. */
function vcpu_enter_guest(v: KvmVcpu, budget: number): number {
  const a = v.arch;
  if (a.requests & KVM_REQ_TRIPLE_FAULT) {
    a.requests &= ~KVM_REQ_TRIPLE_FAULT;
    // In guest mode a shutdown is a nested TRIPLE_FAULT exit to L1 (nested_vmx_triple_fault; seed 004).
    if (v.ops.nested && v.ops.nested.is_guest_mode()) v.ops.nested.triple_fault();
    else {
      v.kvm_run.exit_reason = KVM_EXIT_SHUTDOWN;
      return 0;
    }
  }
  // kvm_check_nested_events: events L1 intercepts become nested VM exits; none are injected into a
  // freshly entered L2 (nested_run_pending) but the window exit brings the vCPU back at once.
  const nested = v.ops.nested;
  const eventsBlocked = nested !== undefined && nested.is_guest_mode() && !nested.check_events();
  if (eventsBlocked && needsEvents(v) && !(a.exc_injected || a.nmi_injected || a.intr_injected)) v.ops.enable_irq_window();
  if ((a.requests & (KVM_REQ_HV_RESET | KVM_REQ_HV_EXIT)) && kvm_hv_check_requests(v)) return 0;
  if (a.nmi_queued > 0) process_nmi(v);
  if (!eventsBlocked && needsEvents(v)) {
    a.requests &= ~KVM_REQ_EVENT;
    if (v.lapic && (v.lapic.pendingInit || v.lapic.pendingSipi)) kvm_apic_accept_events(v);
    if (a.mp_state !== KVM_MP_STATE_RUNNABLE) return 1;
    kvm_check_and_inject_events(v);
  }
  if (a.kvmclock.updatePending) kvm_guest_time_update(v);
  budget = timerBudget(v, budget);
  // The VM clock while this processor runs: the other vCPUs' instructions and skipped idle time.
  v.cpu.clockBias = v.vm.clock.cycles() - v.cpu.icount;
  if (v.ops.emulation_required()) return enter_emulated(v, budget);
  const before = v.cpu.icount;
  lapicBeforeEntry(v);
  const r = v.ops.vcpu_run(budget);
  lapicAfterExit(v);
  // Nothing retired (event-delivery loop, exit storm): the time still counts against the budget.
  if (v.cpu.icount === before) v.stallUnits += r === RUN_BUDGET ? budget : 1;
  if (r === RUN_EXIT) {
    if (v.trace) v.trace.hwExit();
    v.stats.exits++;
    if (v.vm.hwExitStop !== null && v.vm.hwExitStop(v)) {
      a.hw_exit_pending = true;
      v.stoppedByHook = true;
      return -EINTR;
    }
    return v.ops.handle_exit();
  }
  completeInterruptsWithoutExit(v);
  return afterRun(v, r);
}

/** VMX with invalid guest state: deliver the injected event in the emulator, then emulate. */
function enter_emulated(v: KvmVcpu, budget: number): number {
  v.ops.applyEntryInjectionToCpu?.();
  v.arch.exc_injected = false; v.arch.intr_injected = false; v.arch.nmi_injected = false;
  return handle_invalid_guest_state(v, budget);
}

function afterRun(v: KvmVcpu, r: number): number {
  // The injected event of a slice that ended without a VM exit was settled by completeInterruptsWithoutExit.
  switch (r) {
    case RUN_BUDGET: return 1;
    case RUN_HALTED: v.arch.mp_state = KVM_MP_STATE_HALTED; return 1;
    case RUN_STOPPED: v.stoppedByHook = true; return -EINTR;
    case RUN_SHUTDOWN: v.kvm_run.exit_reason = KVM_EXIT_SHUTDOWN; return 0;
  }
  return 1;
}

/** kvm_vcpu_has_events (for a halted vCPU): what wakes it from HLT. */
function kvm_vcpu_has_events(v: KvmVcpu): boolean {
  const a = v.arch;
  if (a.pv_unhalted || a.exc_pending || a.nmi_queued > 0 || (a.nmi_pending > 0 && v.ops.nmi_allowed())) return true;
  return kvm_cpu_has_interrupt(v) && v.ops.interrupt_allowed();
}

/** A vCPU that cannot run until something happens to it (halted or waiting for INIT/SIPI, nothing pending). */
function kvm_vcpu_is_idle(v: KvmVcpu): boolean {
  const st = v.arch.mp_state;
  if (st === KVM_MP_STATE_RUNNABLE) return false;
  if (v.lapic && (v.lapic.pendingInit || v.lapic.pendingSipi || v.lapic.pending)) return false;
  return st !== KVM_MP_STATE_HALTED || !kvm_vcpu_has_events(v);
}

/**
 * How many timer expiries an idle VM may skip to in one block without any vCPU waking (a masked
 * periodic timer, PIT ticks into a masked PIC while a later LAPIC deadline is what wakes the guest).
 */
const MAX_IDLE_EXPIRIES = 100_000;

/**
 * Every vCPU of the VM is idle: the host would sleep until the next hrtimer. Time jumps to it and
 * each vCPU's expired timers are injected (as the hrtimer callbacks and each vCPU's next entry
 * would), until one of them can run or no timer is armed. True if this vCPU may run.
 */
function kvm_vm_idle_advance(v: KvmVcpu): boolean {
  const vm = v.vm;
  for (let k = 0; k < MAX_IDLE_EXPIRIES; k++) {
    const t = vm.nextTimerCycles();
    if (t === Infinity) return false;
    vm.clock.advanceTo(t);
    vm.runExpiredTimers();
    let woke = false;
    for (const o of vm.vcpus) {
      if (o.lapic && o.lapic.pending) o.lapic.kvm_inject_apic_timer_irqs();
      if (o.arch.hyperv !== null && o.arch.hyperv.stimer_pending_bitmap) kvm_hv_process_stimers(o);
      if (!kvm_vcpu_is_idle(o)) woke = true;
    }
    if (woke) return !kvm_vcpu_is_idle(v);
  }
  return false;
}

/** vcpu_block: a halted or waiting vCPU wakes on INIT/SIPI or an event; otherwise it would sleep. */
function vcpu_block(v: KvmVcpu): number {
  const a = v.arch;
  if (v.lapic && (v.lapic.pendingInit || v.lapic.pendingSipi)) kvm_apic_accept_events(v);
  kvm_inject_pending_timer_irqs(v);
  if (a.mp_state === KVM_MP_STATE_HALTED && kvm_vcpu_has_events(v)) {
    a.mp_state = KVM_MP_STATE_RUNNABLE;
    a.pv_unhalted = false;
    v.cpu.halted = false;
  }
  if (a.mp_state === KVM_MP_STATE_RUNNABLE) return 1;
  // HLT with a timer armed: when nothing else can run, virtual time moves to the deadline.
  if (v.vm.vcpus.every(kvm_vcpu_is_idle) && kvm_vm_idle_advance(v)) return vcpu_block(v);
  v.blocked = true;
  return -EINTR;
}

/** vcpu_run: the loop inside KVM_RUN, within this call's instruction budget. */
function vcpu_run(v: KvmVcpu): number {
  const run = v.kvm_run;
  for (;;) {
    const left = v.budgetLeft();
    if (left <= 0) { run.exit_reason = KVM_EXIT_INTR; return -EINTR; }
    if (v.lapic) kvm_inject_pending_timer_irqs(v);
    const r = v.arch.mp_state === KVM_MP_STATE_RUNNABLE ? vcpu_enter_guest(v, left) : vcpu_block(v);
    if (r <= 0) {
      if (r === -EINTR) run.exit_reason = KVM_EXIT_INTR;
      return r;
    }
    if (v.livelocked) { run.exit_reason = KVM_EXIT_INTR; return -EINTR; }
    if (v.kickedOther) { run.exit_reason = KVM_EXIT_INTR; return -EINTR; }
  }
}

/** kvm_arch_vcpu_ioctl_run. */
export function kvm_arch_vcpu_ioctl_run(v: KvmVcpu): number {
  const run = v.kvm_run, a = v.arch;
  v.blocked = false; v.stoppedByHook = false; v.kickedOther = false;
  if (a.mp_state === KVM_MP_STATE_UNINITIALIZED) {
    if (run.immediate_exit) return -EINTR;
    kvm_apic_accept_events(v);
    if (a.mp_state === KVM_MP_STATE_UNINITIALIZED || a.mp_state === KVM_MP_STATE_INIT_RECEIVED) {
      v.blocked = true;
      return -EAGAIN;
    }
  }
  if (a.hw_exit_pending) {
    // The debugger stopped at this hardware exit; KVM handles it now.
    a.hw_exit_pending = false;
    const h = v.ops.handle_exit();
    if (h <= 0) { v.afterUserspaceExit(h); return h; }
  }
  if (a.complete_userspace_io) {
    const cui = a.complete_userspace_io;
    a.complete_userspace_io = null;
    const r = cui(v);
    if (r <= 0) { v.afterUserspaceExit(r); return r; }
  }
  if (run.immediate_exit) return -EINTR;
  const r = vcpu_run(v);
  v.afterUserspaceExit(r);
  return r > 0 ? 0 : r;
}

export { KVM_MP_STATE_SIPI_RECEIVED, RUN_EXIT, entryInjectEvent };

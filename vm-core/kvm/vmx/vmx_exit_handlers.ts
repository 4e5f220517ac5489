// kvm_vmx_exit_handlers[] (vmx.c): one handler per VMX basic exit reason.
import type { KvmVcpu } from '../vcpu';
import type { Vmx } from './vmx';
import * as F from './vmcs_fields';
import {
  EXIT_REASON_CPUID, EXIT_REASON_CR_ACCESS, EXIT_REASON_DR_ACCESS, EXIT_REASON_EPT_MISCONFIG, EXIT_REASON_EPT_VIOLATION, EXIT_REASON_EXCEPTION_NMI, EXIT_REASON_EXTERNAL_INTERRUPT, EXIT_REASON_HLT, EXIT_REASON_INTERRUPT_WINDOW, EXIT_REASON_INVD, EXIT_REASON_INVEPT, EXIT_REASON_INVLPG, EXIT_REASON_INVPCID, EXIT_REASON_INVVPID, EXIT_REASON_IO_INSTRUCTION, EXIT_REASON_MCE_DURING_VMENTRY, EXIT_REASON_MONITOR_INSTRUCTION, EXIT_REASON_MONITOR_TRAP_FLAG, EXIT_REASON_MSR_READ, EXIT_REASON_MSR_WRITE, EXIT_REASON_MWAIT_INSTRUCTION, EXIT_REASON_NMI_WINDOW, EXIT_REASON_NOTIFY, EXIT_REASON_PAUSE_INSTRUCTION, EXIT_REASON_PREEMPTION_TIMER, EXIT_REASON_RDPMC, EXIT_REASON_RDRAND, EXIT_REASON_RDSEED, EXIT_REASON_TASK_SWITCH, EXIT_REASON_TPAUSE, EXIT_REASON_TRIPLE_FAULT, EXIT_REASON_UMWAIT, EXIT_REASON_VMCALL, EXIT_REASON_VMCLEAR, EXIT_REASON_VMFUNC, EXIT_REASON_VMLAUNCH, EXIT_REASON_VMOFF, EXIT_REASON_VMON, EXIT_REASON_VMPTRLD, EXIT_REASON_VMPTRST, EXIT_REASON_VMREAD, EXIT_REASON_VMRESUME, EXIT_REASON_VMWRITE, EXIT_REASON_WBINVD, EXIT_REASON_XRSTORS, EXIT_REASON_XSAVES, EXIT_REASON_XSETBV,
} from '../../cpu/exits';
import {
  kvm_emulate_as_nop, kvm_emulate_halt, kvm_emulate_invd, kvm_emulate_monitor_mwait, kvm_emulate_rdpmc,
  kvm_emulate_wbinvd, kvm_emulate_xsetbv, kvm_handle_invalid_op, kvm_complete_insn_gp, kvm_set_cr0, kvm_set_cr3,
  kvm_set_cr4, kvm_set_cr8, kvm_get_cr8, kvm_lmsw, kvm_skip_emulated_instruction, kvm_queue_exception,
  kvm_queue_exception_e, kvm_queue_exception_p, is_64_bit_mode, kvm_set_dr, kvm_get_dr, kvm_get_linear_rip,
} from '../x86/x86';
import { kvm_emulate_cpuid } from '../x86/cpuid';
import { kvm_emulate_rdmsr, kvm_emulate_wrmsr } from '../x86/msr';
import { kvm_emulate_hypercall } from '../x86/hypercall';
import { handle_notify } from './notify';
import { kvm_fast_pio } from '../x86/pio';
import { handle_ud, kvm_emulate_instruction, emulation_failure } from '../x86/emulate';
import { kvm_read_cr0_bits, kvm_read_cr3, kvm_register_read, kvm_register_write } from '../x86/kvm_cache_regs';
import {
  KVM_EXIT_DEBUG, KVM_EXIT_EXCEPTION, KVM_EXIT_SET_TPR, KVM_EXIT_SHUTDOWN, UD_VECTOR, DB_VECTOR, BP_VECTOR,
  AC_VECTOR, MC_VECTOR, KVM_GUESTDBG_SINGLESTEP, KVM_GUESTDBG_USE_HW_BP, KVM_GUESTDBG_USE_SW_BP,
} from '../uapi';
import { CR0_TS, CR4_DE } from '../../cpu/state';
import { kvm_read_cr4_bits } from '../x86/kvm_cache_regs';

export type VmxExitHandler = (v: KvmVcpu, vmx: Vmx) => number;

/** is_icebp: a #DB exit of type privileged software exception (INT1). */
function is_icebp(info: number): boolean {
  return (info & (0x700 | F.INTR_INFO_VALID_MASK)) === (F.INTR_TYPE_PRIV_SW_EXCEPTION | F.INTR_INFO_VALID_MASK);
}

/** handle_exception_nmi: the exception-bitmap exits. */
function handle_exception_nmi(v: KvmVcpu, vmx: Vmx): number {
  const info = vmx.get_intr_info();
  const vector = info & 0xff, type = (info >> 8) & 7;
  if (type === 2) return 1; // NMI: handled in handle_exception_irqoff
  if (vector === UD_VECTOR) return handle_ud(v);
  let error = 0;
  if (info & F.INTR_INFO_DELIVER_CODE_MASK) error = vmx.vmcs.read(F.VM_EXIT_INTR_ERROR_CODE);
  const run = v.kvm_run, gd = v.arch.guest_debug;
  switch (vector) {
    case MC_VECTOR: return 1;
    case DB_VECTOR: {
      const dr6 = vmx.get_exit_qual();
      if (!(gd & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP))) {
        // ICEBP (INT1) is a trap-like #DB but an instruction intercept: the exit is on the ICEBP
        // itself, so KVM skips it with the inner helper (no single-step #DB; MOV SS/STI blocking cleared).
        if (is_icebp(info)) vmx.skip_emulated_instruction();
        kvm_queue_exception_p(v, DB_VECTOR, dr6);
        return 1;
      }
      run.exit_reason = KVM_EXIT_DEBUG;
      run.debug.arch.dr6 = BigInt((dr6 | 0xffff0ff0) >>> 0);
      run.debug.arch.dr7 = BigInt(vmx.vmcs.read(F.GUEST_DR7));
      run.debug.arch.exception = DB_VECTOR;
      run.debug.arch.pc = BigInt(kvm_get_linear_rip(v));
      return 0;
    }
    case BP_VECTOR:
      if (gd & KVM_GUESTDBG_USE_SW_BP) {
        run.exit_reason = KVM_EXIT_DEBUG;
        run.debug.arch.exception = BP_VECTOR;
        run.debug.arch.pc = BigInt(kvm_get_linear_rip(v));
        run.debug.arch.dr6 = 0n; run.debug.arch.dr7 = 0n;
        return 0;
      }
      break;
    case AC_VECTOR:
      kvm_queue_exception_e(v, AC_VECTOR, error);
      return 1;
  }
  run.exit_reason = KVM_EXIT_EXCEPTION;
  run.ex.exception = vector;
  run.ex.error_code = error;
  return 0;
}

function handle_triple_fault(v: KvmVcpu): number {
  v.kvm_run.exit_reason = KVM_EXIT_SHUTDOWN;
  return 0;
}

/** handle_io: string I/O goes through the emulator, the rest is kvm_fast_pio. */
function handle_io(v: KvmVcpu, vmx: Vmx): number {
  const q = vmx.get_exit_qual();
  if (q & 16) return kvm_emulate_instruction(v, 0);
  return kvm_fast_pio(v, (q & 7) + 1, (q >>> 16) & 0xffff, (q & 8) !== 0);
}

/** Read a GPR for an instruction operand: truncated to 32 bits outside 64-bit mode. */
function gprOperand(v: KvmVcpu, reg: number): number {
  const val = kvm_register_read(v, reg);
  return is_64_bit_mode(v) ? val : val >>> 0;
}

/** handle_cr: MOV to/from CR, CLTS, LMSW (exit qualification of SDM Table 28-3). */
function handle_cr(v: KvmVcpu, vmx: Vmx): number {
  const q = vmx.get_exit_qual();
  const cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
  switch (type) {
    case 0: {
      const val = gprOperand(v, reg);
      switch (cr) {
        case 0: return kvm_complete_insn_gp(v, kvm_set_cr0(v, val));
        case 3: return kvm_complete_insn_gp(v, kvm_set_cr3(v, val));
        case 4: return kvm_complete_insn_gp(v, kvm_set_cr4(v, val));
        case 8: {
          const prev = kvm_get_cr8(v);
          const ret = kvm_complete_insn_gp(v, kvm_set_cr8(v, val));
          if (v.lapic || prev <= (val & 15)) return ret;
          v.kvm_run.exit_reason = KVM_EXIT_SET_TPR;
          return 0;
        }
      }
      break;
    }
    case 1:
      if (cr === 3) { kvm_register_write(v, reg, kvm_read_cr3(v)); return kvm_skip_emulated_instruction(v); }
      if (cr === 8) { kvm_register_write(v, reg, kvm_get_cr8(v)); return kvm_skip_emulated_instruction(v); }
      break;
    case 2:
      v.ops.set_cr0(kvm_read_cr0_bits(v, ~CR0_TS));
      return kvm_skip_emulated_instruction(v);
    case 3:
      kvm_lmsw(v, (q >>> 16) & 0xffff);
      return kvm_skip_emulated_instruction(v);
  }
  return vmx.unexpected_vmexit();
}

/** handle_dr: the first access stops MOV-DR exiting (KVM_DEBUGREG_WONT_EXIT) and re-executes. */
function handle_dr(v: KvmVcpu, vmx: Vmx): number {
  const q = vmx.get_exit_qual();
  const dr = q & 7, reg = (q >> 8) & 15;
  if ((dr === 4 || dr === 5) && kvm_read_cr4_bits(v, CR4_DE)) { kvm_queue_exception(v, UD_VECTOR); return 1; }
  if (vmx.get_cpl() > 0) return kvm_complete_insn_gp(v, 1);
  if (v.arch.guest_debug === 0) {
    const c = v.cpu, a = v.arch;
    for (let k = 0; k < 4; k++) c.dr[k] = a.db[k];
    c.dr6 = a.dr6;
    vmx.stopDrExiting();
    return 1;
  }
  let err = 0;
  if (q & 16) kvm_register_write(v, reg, kvm_get_dr(v, dr));
  else err = kvm_set_dr(v, dr, gprOperand(v, reg));
  return kvm_complete_insn_gp(v, err);
}

function handle_invlpg(v: KvmVcpu, vmx: Vmx): number {
  v.cpu.invlpg(vmx.get_exit_qual());
  return kvm_skip_emulated_instruction(v);
}

/** handle_ept_violation / handle_ept_misconfig: no memslot -> MMIO SPTE -> emulate the access. */
function handle_ept_violation(v: KvmVcpu, vmx: Vmx): number {
  const gpa = vmx.vmcs.read(F.GUEST_PHYSICAL_ADDRESS);
  const q = vmx.get_exit_qual();
  v.vm.mmioSptes.add(Math.floor(gpa / 4096));
  if (q & 4) return emulation_failure(v); // instruction fetch from MMIO: the emulator cannot fetch
  return kvm_emulate_instruction(v, 0);
}
function handle_ept_misconfig(v: KvmVcpu, vmx: Vmx): number {
  vmx.vmcs.read(F.GUEST_PHYSICAL_ADDRESS);
  // An instruction fetch from a known-MMIO gfn: the emulator cannot fetch there either (re-entering
  // the emulator would take the same exit forever), so it is an emulation failure, as for the violation.
  if (v.cpu.exit.qual & 4) return emulation_failure(v);
  return kvm_emulate_instruction(v, 0);
}

function handle_interrupt_window(v: KvmVcpu, vmx: Vmx): number {
  vmx.exec_controls_clearbit(F.CPU_BASED_INTR_WINDOW_EXITING);
  v.requestEvent();
  return 1;
}
function handle_nmi_window(v: KvmVcpu, vmx: Vmx): number {
  vmx.exec_controls_clearbit(F.CPU_BASED_NMI_WINDOW_EXITING);
  v.requestEvent();
  return 1;
}
function handle_external_interrupt(): number { return 1; }
function handle_pause(v: KvmVcpu): number { return kvm_skip_emulated_instruction(v); }
function handle_vmx_instruction(v: KvmVcpu): number { kvm_queue_exception(v, UD_VECTOR); return 1; }
function handle_invpcid(v: KvmVcpu): number {
  if (!v.guestCpuidHas(7, 'ebx', 10)) { kvm_queue_exception(v, UD_VECTOR); return 1; }
  return kvm_skip_emulated_instruction(v);
}
function handle_task_switch(v: KvmVcpu): number { return emulation_failure(v); }
function handle_monitor_trap(): number { return 1; }
function handle_preemption_timer(): number { return 1; }
function handle_xsaves(v: KvmVcpu): number { return kvm_skip_emulated_instruction(v); }

export const vmxExitHandlers: (VmxExitHandler | undefined)[] = [];
const H = vmxExitHandlers;
H[EXIT_REASON_EXCEPTION_NMI] = handle_exception_nmi;
H[EXIT_REASON_EXTERNAL_INTERRUPT] = handle_external_interrupt;
H[EXIT_REASON_TRIPLE_FAULT] = handle_triple_fault;
H[EXIT_REASON_INTERRUPT_WINDOW] = handle_interrupt_window;
H[EXIT_REASON_NMI_WINDOW] = handle_nmi_window;
H[EXIT_REASON_TASK_SWITCH] = handle_task_switch;
H[EXIT_REASON_CPUID] = (v) => kvm_emulate_cpuid(v);
H[EXIT_REASON_HLT] = (v) => kvm_emulate_halt(v);
H[EXIT_REASON_INVD] = (v) => kvm_emulate_invd(v);
H[EXIT_REASON_INVLPG] = handle_invlpg;
H[EXIT_REASON_RDPMC] = (v) => kvm_emulate_rdpmc(v);
H[EXIT_REASON_VMCALL] = (v) => kvm_emulate_hypercall(v);
for (const r of [EXIT_REASON_VMCLEAR, EXIT_REASON_VMLAUNCH, EXIT_REASON_VMPTRLD, EXIT_REASON_VMPTRST, EXIT_REASON_VMREAD, EXIT_REASON_VMRESUME, EXIT_REASON_VMWRITE, EXIT_REASON_VMOFF, EXIT_REASON_VMON, EXIT_REASON_INVEPT, EXIT_REASON_INVVPID, EXIT_REASON_VMFUNC]) H[r] = handle_vmx_instruction;
H[EXIT_REASON_CR_ACCESS] = handle_cr;
H[EXIT_REASON_DR_ACCESS] = handle_dr;
H[EXIT_REASON_IO_INSTRUCTION] = handle_io;
H[EXIT_REASON_MSR_READ] = (v) => kvm_emulate_rdmsr(v);
H[EXIT_REASON_MSR_WRITE] = (v) => kvm_emulate_wrmsr(v);
H[EXIT_REASON_MWAIT_INSTRUCTION] = (v) => kvm_emulate_monitor_mwait(v);
H[EXIT_REASON_MONITOR_TRAP_FLAG] = handle_monitor_trap;
H[EXIT_REASON_MONITOR_INSTRUCTION] = (v) => kvm_emulate_monitor_mwait(v);
H[EXIT_REASON_PAUSE_INSTRUCTION] = handle_pause;
H[EXIT_REASON_MCE_DURING_VMENTRY] = () => 1;
H[EXIT_REASON_EPT_VIOLATION] = handle_ept_violation;
H[EXIT_REASON_EPT_MISCONFIG] = handle_ept_misconfig;
H[EXIT_REASON_PREEMPTION_TIMER] = handle_preemption_timer;
H[EXIT_REASON_WBINVD] = (v) => kvm_emulate_wbinvd(v);
H[EXIT_REASON_XSETBV] = (v) => kvm_emulate_xsetbv(v);
H[EXIT_REASON_RDRAND] = (v) => kvm_handle_invalid_op(v);
H[EXIT_REASON_INVPCID] = handle_invpcid;
H[EXIT_REASON_RDSEED] = (v) => kvm_handle_invalid_op(v);
H[EXIT_REASON_XSAVES] = handle_xsaves;
H[EXIT_REASON_XRSTORS] = handle_xsaves;
H[EXIT_REASON_UMWAIT] = (v) => kvm_handle_invalid_op(v);
H[EXIT_REASON_TPAUSE] = (v) => kvm_handle_invalid_op(v);
H[EXIT_REASON_NOTIFY] = handle_notify;
void kvm_emulate_as_nop;

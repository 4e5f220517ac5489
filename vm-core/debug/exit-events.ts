// ExitEvent records for the exit filters, the exit log and the stack trace's KVM-handler frame:
// fields a condition can name, and the KVM handler chain that handles the exit (arch/x86/kvm/vmx/
// vmx.c kvm_vmx_exit_handlers[], svm/svm.c svm_exit_handlers[], x86.c).
import type { KvmVcpu } from '../kvm/vcpu';
import type { ExitEvent } from './exit-filters';
import type { ExitRecord } from '../vmm/exit-record';
import { KVM_EXIT_NAMES } from '../kvm/uapi';

const VMX_CHAINS: Record<string, string[]> = {
  EXCEPTION_NMI: ['handle_exception_nmi'], EXTERNAL_INTERRUPT: ['handle_external_interrupt'],
  TRIPLE_FAULT: ['handle_triple_fault'], INIT_SIGNAL: ['handle_nop'], INTERRUPT_WINDOW: ['handle_interrupt_window'],
  NMI_WINDOW: ['handle_nmi_window'], TASK_SWITCH: ['handle_task_switch'], CPUID: ['kvm_emulate_cpuid'],
  HLT: ['kvm_emulate_halt'], INVD: ['kvm_emulate_invd'], INVLPG: ['handle_invlpg', 'kvm_mmu_invlpg'],
  RDPMC: ['kvm_emulate_rdpmc'], RDTSC: ['handle_rdtsc'], VMCALL: ['kvm_emulate_hypercall'],
  CR_ACCESS: ['handle_cr'], DR_ACCESS: ['handle_dr'], IO_INSTRUCTION: ['handle_io'],
  MSR_READ: ['kvm_emulate_rdmsr'], MSR_WRITE: ['kvm_emulate_wrmsr'], INVALID_STATE: ['handle_invalid_guest_state'],
  MWAIT_INSTRUCTION: ['kvm_emulate_mwait'], MONITOR_INSTRUCTION: ['kvm_emulate_monitor'],
  PAUSE_INSTRUCTION: ['handle_pause'], EPT_VIOLATION: ['handle_ept_violation', 'kvm_mmu_page_fault'],
  EPT_MISCONFIG: ['handle_ept_misconfig', 'kvm_mmu_page_fault'], WBINVD: ['kvm_emulate_wbinvd'],
  XSETBV: ['kvm_emulate_xsetbv'], RDRAND: ['kvm_handle_invalid_op'], RDSEED: ['kvm_handle_invalid_op'],
  NOTIFY: ['handle_notify'], VMCLEAR: ['handle_vmx_instruction'], VMLAUNCH: ['handle_vmx_instruction'],
  VMPTRLD: ['handle_vmx_instruction'], VMPTRST: ['handle_vmx_instruction'], VMREAD: ['handle_vmx_instruction'],
  VMRESUME: ['handle_vmx_instruction'], VMWRITE: ['handle_vmx_instruction'], VMOFF: ['handle_vmx_instruction'],
  VMON: ['handle_vmx_instruction'], INVEPT: ['handle_vmx_instruction'], INVVPID: ['handle_vmx_instruction'],
};
const SVM_CHAINS: Record<string, string[]> = {
  CPUID: ['cpuid_interception', 'kvm_emulate_cpuid'], HLT: ['kvm_emulate_halt'], IOIO: ['io_interception'],
  MSR: ['msr_interception'], SHUTDOWN: ['shutdown_interception'], VMMCALL: ['kvm_emulate_hypercall'],
  NPF: ['npf_interception', 'kvm_mmu_page_fault'], INVLPG: ['invlpg_interception'], PAUSE: ['pause_interception'],
  XSETBV: ['kvm_emulate_xsetbv'], MONITOR: ['kvm_emulate_monitor'], MWAIT: ['kvm_emulate_mwait'],
  RDTSCP: ['kvm_handle_invalid_op'], INTR: ['intr_interception'], NMI: ['nmi_interception'],
  CR0_SEL_WRITE: ['cr_interception'], VINTR: ['interrupt_window_interception'],
};

/** The KVM functions that handle an exit, outermost first. */
export function handlerChain(e: ExitEvent): string[] {
  if (e.handlers) return e.handlers;
  if (e.layer === 'hardware') {
    if (e.name.startsWith('EXIT_REASON_')) {
      // VMX_EXIT_REASONS_FAILED_VMENTRY: the VM entry itself failed (SDM Vol. 3C 27.8).
      if (e.name.includes('VM-entry failure')) return ['vmx_vcpu_run: VMRESUME fails the guest-state checks', '__vmx_handle_exit (exit_reason.failed_vmentry: dump_vmcs)'];
      const n = e.name.slice('EXIT_REASON_'.length);
      const chain = ['vmx_handle_exit', '__vmx_handle_exit', ...(VMX_CHAINS[n] ?? ['(unexpected exit reason)'])];
      if (n === 'EXCEPTION_NMI' && e.fields.vector === 6n) chain.push('handle_ud', 'kvm_emulate_instruction', 'emulator_fix_hypercall');
      return chain;
    }
    if (e.name.startsWith('SVM_EXIT_')) {
      const n = e.name.slice('SVM_EXIT_'.length);
      if (/^(READ|WRITE)_CR/.test(n)) return ['svm_handle_exit', 'svm_invoke_exit_handler', 'cr_interception'];
      if (/^EXCP_BASE/.test(n)) {
        const chain = ['svm_handle_exit', 'svm_invoke_exit_handler', `excp_interception (vector ${e.fields.vector ?? '?'})`];
        if (e.fields.vector === 6n) chain.push('ud_interception', 'kvm_emulate_instruction', 'emulator_fix_hypercall');
        return chain;
      }
      return ['svm_handle_exit', 'svm_invoke_exit_handler', ...(SVM_CHAINS[n] ?? ['(unexpected exit code)'])];
    }
    return ['(processor exit)'];
  }
  if (e.layer === 'userspace') {
    switch (e.name) {
      case 'HYPERCALL': return ['kvm_emulate_hypercall', 'KVM_EXIT_HYPERCALL', 'complete_hypercall_exit (next KVM_RUN)'];
      case 'IO': return ['handle_io / kvm_fast_pio', 'KVM_EXIT_IO', 'complete_fast_pio_in / out (next KVM_RUN)'];
      case 'MMIO': return ['kvm_mmu_page_fault', 'kvm_emulate_instruction', 'KVM_EXIT_MMIO', 'complete_emulated_mmio (next KVM_RUN)'];
      case 'SHUTDOWN': return ['handle_triple_fault / kvm_check_request(KVM_REQ_TRIPLE_FAULT)', 'KVM_EXIT_SHUTDOWN'];
      case 'INTERNAL_ERROR': return ['kvm_emulate_instruction', 'handle_emulation_failure', 'KVM_EXIT_INTERNAL_ERROR'];
      case 'NOTIFY': return ['handle_notify', 'KVM_EXIT_NOTIFY'];
      case 'HYPERV': return ['kvm_hv_set_msr / kvm_hv_hypercall', 'KVM_EXIT_HYPERV'];
      case 'HLT': return ['kvm_emulate_halt (skips the HLT)', '__kvm_emulate_halt (no in-kernel LAPIC)', 'KVM_EXIT_HLT'];
      case 'FAIL_ENTRY': return e.fields.hardware_entry_failure_reason === 0xffffffffffffffffn
        ? ['svm_vcpu_run: VMRUN fails its consistency checks (SVM_EXIT_ERR)', 'svm_handle_exit (dump_vmcb)', 'KVM_EXIT_FAIL_ENTRY']
        : ['vmx_vcpu_run: VMRESUME fails the guest-state checks', '__vmx_handle_exit (exit_reason.failed_vmentry: dump_vmcs)', 'KVM_EXIT_FAIL_ENTRY'];
      default: return ['KVM_EXIT_' + e.name];
    }
  }
  if (e.layer === 'interrupt') {
    switch (e.name) {
      case 'INTERRUPT': return e.fields.extint ? ['kvm_check_and_inject_events', 'kvm_cpu_get_interrupt', 'kvm_pic_read_irq (ExtINT through LINT0)', 'inject_irq']
        : ['kvm_check_and_inject_events', 'kvm_cpu_get_interrupt', 'kvm_get_apic_interrupt (IRR -> ISR)', 'inject_irq'];
      case 'NMI': return ['process_nmi', 'kvm_check_and_inject_events', 'inject_nmi'];
      case 'TIMER': return ['apic_timer_fn (hrtimer)', 'kvm_inject_apic_timer_irqs', 'kvm_apic_local_deliver(APIC_LVTT)'];
      case 'EOI': return ['kvm_lapic_reg_write(APIC_EOI)', 'apic_set_eoi', 'kvm_ioapic_send_eoi'];
    }
  }
  if (e.layer === 'regcache' && e.name === 'stale') {
    // Where KVM trusted the cached value (the register is marked available in regs_avail).
    switch (Number(e.fields.reg)) {
      case 21: return ['vmx_get_rflags (VCPU_EXREG_RFLAGS available: returns vmx->rflags)'];
      case 18: return ['kvm_read_cr0_bits (VCPU_EXREG_CR0 available: returns vcpu->arch.cr0)'];
      case 19: return ['kvm_read_cr3 (VCPU_EXREG_CR3 available: returns vcpu->arch.cr3)'];
      case 20: return ['kvm_read_cr4_bits (VCPU_EXREG_CR4 available: returns vcpu->arch.cr4)'];
      default: return ['kvm_register_read_raw (available: returns vcpu->arch.regs[])'];
    }
  }
  if (e.layer === 'kvm') {
    switch (e.name) {
      case 'hypercall-patch-livelock': return ['vmx_handle_exit', 'handle_invalid_guest_state', 'kvm_emulate_instruction', 'em_hypercall', 'emulator_fix_hypercall'];
      case 'hypercall-patch-fault': case 'hypercall-patch-split': return ['handle_ud', 'kvm_emulate_instruction', 'em_hypercall', 'emulator_fix_hypercall'];
    }
  }
  return [];
}

function reg(v: KvmVcpu, r: number): bigint {
  const a = v.arch.regs;
  return BigInt.asUintN(64, (BigInt(a[2 * r + 1]) << 32n) | BigInt(a[2 * r] >>> 0));
}

/** A hardware exit (the processor's exit record plus the vendor's name and qualification). */
export function hwExitEvent(v: KvmVcpu, vi: number): ExitEvent {
  const ops = v.ops, x = v.cpu.exit;
  const name = ops.exitName();
  const qual = BigInt.asUintN(64, BigInt(Math.trunc(ops.exitInfo1())));
  const fields: Record<string, bigint> = {
    reason: BigInt(ops.exitCode >>> 0), qual, info1: qual, info2: BigInt.asUintN(64, BigInt(Math.trunc(ops.exitInfo2()))),
    rip: BigInt.asUintN(64, BigInt(Math.trunc(v.cpu.rip))), vcpu: BigInt(vi), cpl: BigInt(v.cpu.cpl),
    rax: reg(v, 0), rbx: reg(v, 3), rcx: reg(v, 1), rdx: reg(v, 2), rsi: reg(v, 6), rdi: reg(v, 7),
  };
  let detail = '';
  if (/IO_INSTRUCTION|IOIO/.test(name)) {
    Object.assign(fields, { port: BigInt(x.port), size: BigInt(x.size), in: x.isIn ? 1n : 0n, string: x.isString ? 1n : 0n, rep: x.isRep ? 1n : 0n });
    detail = `${x.isIn ? 'in' : 'out'}${x.isString ? 's' : ''} port 0x${x.port.toString(16)} size ${x.size}`;
  } else if (/MSR/.test(name)) {
    const msr = Number(fields.rcx & 0xffffffffn);
    fields.msr = BigInt(msr);
    fields.write = /WRITE/.test(name) || (name === 'SVM_EXIT_MSR' && qual === 1n) ? 1n : 0n;
    fields.data = ((fields.rdx & 0xffffffffn) << 32n) | (fields.rax & 0xffffffffn);
    detail = `${fields.write ? 'wrmsr' : 'rdmsr'} 0x${msr.toString(16)}${fields.write ? ` <- 0x${fields.data.toString(16)}` : ''}`;
  } else if (/VMCALL|VMMCALL/.test(name)) {
    Object.assign(fields, { nr: fields.rax, a0: fields.rbx, a1: fields.rcx, a2: fields.rdx, a3: fields.rsi });
    detail = `hypercall nr ${fields.rax} (a0=0x${fields.rbx.toString(16)})`;
  } else if (/CPUID/.test(name)) {
    Object.assign(fields, { eax: fields.rax & 0xffffffffn, ecx: fields.rcx & 0xffffffffn, leaf: fields.rax & 0xffffffffn });
    detail = `cpuid leaf 0x${(fields.rax & 0xffffffffn).toString(16)}`;
  } else if (/EXCEPTION_NMI|EXCP_BASE/.test(name)) {
    const vector = /EXCP_BASE/.test(name) ? (ops.exitCode - 0x40) : (x.intrInfo & 0xff);
    Object.assign(fields, { vector: BigInt(vector), error: BigInt(x.intrError >>> 0) });
    detail = `exception vector ${vector}${x.intrInfo & 0x800 ? ` error 0x${x.intrError.toString(16)}` : ''}`;
  } else if (/EPT_|NPF/.test(name)) {
    fields.gpa = BigInt(Math.trunc(x.gpa));
    detail = `gpa 0x${x.gpa.toString(16)}`;
  } else if (/CR_ACCESS|_CR\d/.test(name)) {
    fields.cr = BigInt(/_CR(\d+)/.exec(name)?.[1] ?? (Number(qual & 15n)));
    detail = `cr${fields.cr} access`;
  } else if (/NOTIFY/.test(name)) {
    detail = `notify: context ${qual & 1n ? 'invalid' : 'valid'}`;
  }
  const ev: ExitEvent = { layer: 'hardware', vcpu: vi, name, fields, description: `${name}${detail ? ' ' + detail : ''} (qual 0x${qual.toString(16)}) at rip 0x${v.cpu.rip.toString(16)}` };
  ev.handlers = handlerChain(ev);
  return ev;
}

/** kvm_run fields shown in hex, as the kernel's headers and traces print them (ports, MSRs, addresses, bytes). */
const HEX_FIELDS = new Set(['port', 'addr', 'phys_addr', 'index', 'msr', 'gpa', 'data', 'insn_bytes', 'args', 'ret', 'flags', 'input', 'result', 'params']);

function fieldValueText(key: string, v: unknown): string {
  const one = (x: unknown) => (typeof x === 'number' && Number.isInteger(x) && HEX_FIELDS.has(key) ? '0x' + (x < 0 ? BigInt.asUintN(64, BigInt(x)) : BigInt(x)).toString(16) : String(x));
  if (Array.isArray(v)) return '[' + v.map(one).join(',') + ']';
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return one(v);
}

/** An exit record's fields as `key=value` text (port=0x3f8, data=[0x48], size=1), leaving out `skip`. */
export function exitFieldsText(r: Record<string, unknown>, skip: readonly string[]): string {
  return Object.entries(r).filter(([k, v]) => !skip.includes(k) && v !== undefined).map(([k, v]) => {
    // A hardware exit's logged description is already text: shown as is, without repeating its reason.
    if (k === 'details' && typeof v === 'string') return typeof r.reason === 'string' && v.startsWith(r.reason + ' ') ? v.slice(r.reason.length + 1) : v;
    return `${k}=${fieldValueText(k, v)}`;
  }).join(' ');
}

/** An exit to userspace, from its JSON record (fields are the kvm_run names). */
export function userExitEvent(r: ExitRecord, vi: number): ExitEvent {
  const fields: Record<string, bigint> = { vcpu: BigInt(vi) };
  const put = (k: string, v: unknown) => {
    if (typeof v === 'number') fields[k] = BigInt(Math.trunc(v));
    else if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) fields[k] = BigInt(v);
  };
  for (const [k, v] of Object.entries(r)) {
    if (Array.isArray(v)) {
      v.forEach((x, i) => put(`${k}${i}`, x));
      if (k === 'args') v.forEach((x, i) => put(`a${i}`, x));
      if (k === 'data' && v.length) put('data', v.reduce((acc: number, b: unknown, i: number) => acc + (typeof b === 'number' ? b * 2 ** (8 * i) : 0), 0));
    } else put(k, v);
  }
  if (r.dir !== undefined) fields.dir = r.dir === 'out' ? 1n : 0n;
  if (r.index !== undefined) put('msr', r.index);
  const detail = exitFieldsText(r as unknown as Record<string, unknown>, ['reason', 'vcpu', 'rip']);
  const ev: ExitEvent = { layer: 'userspace', vcpu: vi, name: r.reason, fields, description: `KVM_EXIT_${r.reason} ${detail} at rip ${r.rip}` };
  const code = Object.entries(KVM_EXIT_NAMES).find(([, n]) => n === 'KVM_EXIT_' + r.reason)?.[0];
  if (code !== undefined) fields.reason = BigInt(code);
  ev.handlers = handlerChain(ev);
  return ev;
}

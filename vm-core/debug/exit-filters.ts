// Exit breakpoints: the debugger's "exception filters". Each filter names a class of event — any
// hardware VM exit, a class of hardware exits, a KVM_EXIT_* returned to userspace, a register-cache
// event, a triple fault, a notify exit — and accepts a condition over the event's fields
// (`nr == 12`, `port == 0x3f8`, `msr == 0x40000001`, `qual & 1`).
import { Expression, exprErrorText } from './expr';

export type ExitEventLayer = 'hardware' | 'userspace' | 'regcache' | 'kvm' | 'interrupt';

/** One event the filters look at. Fields are what conditions can name. */
export interface ExitEvent {
  layer: ExitEventLayer;
  vcpu: number;
  /** Hardware: the vendor exit name (EXIT_REASON_CPUID, SVM_EXIT_IOIO); userspace: IO, HYPERCALL, ... */
  name: string;
  /** Condition fields (numbers as BigInt). */
  fields: Record<string, bigint>;
  /** One-line description for the stop and the exit log. */
  description: string;
  /** The KVM handler chain for it, outermost first (handle_vmcall -> kvm_emulate_hypercall). */
  handlers?: string[];
}

export interface ExitFilterDef {
  filter: string;
  label: string;
  description: string;
  layer: ExitEventLayer;
  /** Does the event belong to this filter? */
  match(e: ExitEvent): boolean;
  conditionDescription: string;
}

const hw = (re: RegExp) => (e: ExitEvent) => e.layer === 'hardware' && re.test(e.name);
const user = (name: string) => (e: ExitEvent) => e.layer === 'userspace' && e.name === name;
const irq = (...names: string[]) => (e: ExitEvent) => e.layer === 'interrupt' && names.includes(e.name);

const HW_FIELDS = 'reason, qual (exit qualification / EXITINFO1), info2, rip, vcpu; per class: port/size/in (I/O), msr, nr (RAX of a hypercall), vector/error (exceptions), cr, gpa';

export const EXIT_FILTERS: ExitFilterDef[] = [
  { filter: 'hw-any', label: 'Any VM exit', description: 'Every hardware VM exit, before KVM handles it', layer: 'hardware', match: (e) => e.layer === 'hardware', conditionDescription: HW_FIELDS },
  { filter: 'hw-cpuid', label: 'VM exit: CPUID', description: 'EXIT_REASON_CPUID / SVM_EXIT_CPUID', layer: 'hardware', match: hw(/CPUID/), conditionDescription: 'eax (leaf), ecx (subleaf), rip' },
  { filter: 'hw-io', label: 'VM exit: I/O instruction', description: 'EXIT_REASON_IO_INSTRUCTION / SVM_EXIT_IOIO', layer: 'hardware', match: hw(/IO_INSTRUCTION|IOIO/), conditionDescription: 'port, size, in (1 for IN), string, rep, qual' },
  { filter: 'hw-msr', label: 'VM exit: RDMSR/WRMSR', description: 'EXIT_REASON_MSR_READ/MSR_WRITE / SVM_EXIT_MSR', layer: 'hardware', match: hw(/MSR_READ|MSR_WRITE|SVM_EXIT_MSR/), conditionDescription: 'msr (ECX), write (1 for WRMSR), data (EDX:EAX for WRMSR)' },
  { filter: 'hw-cr', label: 'VM exit: control-register access', description: 'EXIT_REASON_CR_ACCESS / SVM CR intercepts', layer: 'hardware', match: hw(/CR_ACCESS|_CR\d|CR0_SEL_WRITE/), conditionDescription: 'cr, qual' },
  { filter: 'hw-hypercall', label: 'VM exit: VMCALL/VMMCALL', description: 'EXIT_REASON_VMCALL / SVM_EXIT_VMMCALL (KVM and Hyper-V hypercalls)', layer: 'hardware', match: hw(/VMCALL|VMMCALL/), conditionDescription: 'nr (RAX), a0-a3 (RBX, RCX, RDX, RSI), cpl' },
  { filter: 'hw-exception', label: 'VM exit: exception', description: 'EXIT_REASON_EXCEPTION_NMI / SVM_EXIT_EXCP_BASE+n (intercepted exceptions, e.g. #UD for the wrong-vendor hypercall)', layer: 'hardware', match: hw(/EXCEPTION_NMI|EXCP_BASE/), conditionDescription: 'vector, error, qual (CR2 for #PF)' },
  { filter: 'hw-hlt', label: 'VM exit: HLT', description: 'EXIT_REASON_HLT / SVM_EXIT_HLT', layer: 'hardware', match: hw(/_HLT$/), conditionDescription: 'rip' },
  { filter: 'hw-ept', label: 'VM exit: EPT violation/misconfig, NPF', description: 'Guest-physical accesses without RAM (MMIO)', layer: 'hardware', match: hw(/EPT_|NPF/), conditionDescription: 'gpa, qual' },
  { filter: 'hw-triple-fault', label: 'Triple fault', description: 'EXIT_REASON_TRIPLE_FAULT / SVM_EXIT_SHUTDOWN', layer: 'hardware', match: hw(/TRIPLE_FAULT|SHUTDOWN/), conditionDescription: 'rip' },
  { filter: 'hw-notify', label: 'Notify VM exit', description: 'EXIT_REASON_NOTIFY (75): no instruction boundary within the notify window', layer: 'hardware', match: hw(/NOTIFY/), conditionDescription: 'qual (bit 0: VM context invalid)' },
  { filter: 'kvm-any', label: 'Any exit to userspace', description: 'Every KVM_EXIT_* returned from KVM_RUN, before the VMM answers it', layer: 'userspace', match: (e) => e.layer === 'userspace', conditionDescription: 'reason (KVM_EXIT_* number) and the kvm_run fields of the exit' },
  { filter: 'kvm-io', label: 'KVM_EXIT_IO', description: 'Port I/O handed to userspace', layer: 'userspace', match: user('IO'), conditionDescription: 'port, size, count, dir (1 out, 0 in), data' },
  { filter: 'kvm-mmio', label: 'KVM_EXIT_MMIO', description: 'MMIO handed to userspace', layer: 'userspace', match: user('MMIO'), conditionDescription: 'addr, len, is_write, data' },
  { filter: 'kvm-hypercall', label: 'KVM_EXIT_HYPERCALL', description: 'A hypercall exit to userspace (KVM_CAP_EXIT_HYPERCALL, e.g. KVM_HC_MAP_GPA_RANGE)', layer: 'userspace', match: user('HYPERCALL'), conditionDescription: 'nr, a0-a5 (args), flags; reply: hypercall.ret' },
  { filter: 'kvm-hlt', label: 'KVM_EXIT_HLT', description: 'HLT without the in-kernel irqchip (launch option irqchip: false); KVM has already skipped the HLT', layer: 'userspace', match: user('HLT'), conditionDescription: 'rip (past the HLT)' },
  { filter: 'kvm-shutdown', label: 'KVM_EXIT_SHUTDOWN', description: 'Triple fault (or an injected one)', layer: 'userspace', match: user('SHUTDOWN'), conditionDescription: 'rip' },
  { filter: 'kvm-internal-error', label: 'KVM_EXIT_INTERNAL_ERROR', description: 'Emulation failure or other internal error', layer: 'userspace', match: user('INTERNAL_ERROR'), conditionDescription: 'suberror' },
  { filter: 'kvm-system-event', label: 'KVM_EXIT_SYSTEM_EVENT', description: 'Shutdown/reset/crash requested by the guest', layer: 'userspace', match: user('SYSTEM_EVENT'), conditionDescription: 'type' },
  { filter: 'kvm-msr', label: 'KVM_EXIT_X86_RDMSR/WRMSR', description: 'MSR accesses handed to userspace', layer: 'userspace', match: (e) => e.layer === 'userspace' && /X86_(RD|WR)MSR/.test(e.name), conditionDescription: 'msr (index), data, msr_reason' },
  { filter: 'kvm-hyperv', label: 'KVM_EXIT_HYPERV', description: 'Hyper-V exits (HCALL, SYNIC, OVERLAY)', layer: 'userspace', match: user('HYPERV'), conditionDescription: 'type, msr, gpa, input' },
  { filter: 'kvm-notify', label: 'KVM_EXIT_NOTIFY', description: 'Notify VM exit reported to userspace', layer: 'userspace', match: user('NOTIFY'), conditionDescription: 'flags (bit 0: context invalid)' },
  { filter: 'kvm-fail-entry', label: 'KVM_EXIT_FAIL_ENTRY', description: 'VM entry failed (invalid guest state, e.g. CS.L and CS.D/B both set in 64-bit mode through the Segments scope)', layer: 'userspace', match: user('FAIL_ENTRY'), conditionDescription: 'hardware_entry_failure_reason (0x80000021 on Intel)' },
  { filter: 'regcache-never-written', label: 'VMCS/VMCB field read before written', description: 'KVM read a control-block field that was never written (the bug class of seed 001)', layer: 'regcache', match: (e) => e.layer === 'regcache' && e.name === 'never-written', conditionDescription: 'field (encoding)' },
  { filter: 'regcache-stale', label: 'Stale register cache', description: 'KVM read a register marked available in vcpu->arch.regs that disagrees with the VMCS/VMCB (seed 001 before the fix: RFLAGS at INIT with unrestrictedGuest off)', layer: 'regcache', match: (e) => e.layer === 'regcache' && e.name === 'stale', conditionDescription: 'reg (kvm_reg number), cached, actual, rip' },
  { filter: 'irq-deliver', label: 'Interrupt delivered', description: 'KVM injects an external interrupt or an NMI into the vCPU at VM entry (kvm_check_and_inject_events: inject_irq / inject_nmi); stops at the handler\'s first instruction', layer: 'interrupt', match: irq('INTERRUPT', 'NMI'), conditionDescription: 'vector (e.g. vector == 0xec), nmi (1 for an NMI), extint (1 if the PIC supplied it through LINT0), rip (interrupted instruction)' },
  { filter: 'irq-timer', label: 'LAPIC timer expired', description: 'The local APIC timer fired and its LVTT interrupt was raised (kvm_inject_apic_timer_irqs)', layer: 'interrupt', match: irq('TIMER'), conditionDescription: 'vector (LVTT vector), mode (0 one-shot, 1 periodic, 2 TSC-deadline), masked (1 if LVTT is masked)' },
  { filter: 'irq-eoi', label: 'EOI', description: 'The guest ended an interrupt at its local APIC (apic_set_eoi; level-triggered vectors are EOIed at the IOAPIC too)', layer: 'interrupt', match: irq('EOI'), conditionDescription: 'vector, level (1 if level-triggered: TMR set)' },
  { filter: 'kvm-bug', label: 'KVM livelock or corruption', description: 'A modelled KVM flaw fired (e.g. seed 000: hypercall patching loops forever in big real mode)', layer: 'kvm', match: (e) => e.layer === 'kvm', conditionDescription: 'rip' },
];

export interface ActiveFilter { def: ExitFilterDef; condition?: Expression; }

/** Parse the filters DAP's setExceptionBreakpoints enabled; returns errors per filter id. */
export function activateFilters(ids: string[], options: { filterId: string; condition?: string }[]):
  { active: ActiveFilter[]; errors: Map<string, string> } {
  const byId = new Map(EXIT_FILTERS.map((d) => [d.filter, d]));
  const active: ActiveFilter[] = [];
  const errors = new Map<string, string>();
  const add = (id: string, cond?: string) => {
    const def = byId.get(id);
    if (!def) { errors.set(id, `unknown exit filter '${id}'`); return; }
    let condition: Expression | undefined;
    if (cond && cond.trim()) {
      try { condition = Expression.parse(cond); } catch (e) { errors.set(id, `condition: ${exprErrorText(e)}`); return; }
    }
    active.push({ def, condition });
  };
  for (const id of ids) add(id);
  for (const o of options) add(o.filterId, o.condition);
  return { active, errors };
}

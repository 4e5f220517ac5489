// Interrupt events for the debugger: the KVM model's interrupt observers (vm.injectObserver,
// timerObserver, eoiObserver) become 'interrupt' layer events the exit filters match
// (`irq-deliver` with `vector == 0xec`, `irq-timer`, `irq-eoi`) and the exit log and statistics
// record (reason INTERRUPT / NMI / TIMER / EOI, counted per vector).
import type { KvmVm } from '../kvm/vm';
import type { KvmVcpu } from '../kvm/vcpu';
import type { ExitEvent } from './exit-filters';
import { APIC_LVT_MASKED } from '../kvm/lapic';

const hex = (n: number) => '0x' + n.toString(16);
const rip = (v: KvmVcpu) => BigInt(Math.trunc(v.cpu.rip));
const TIMER_MODES = ['one-shot', 'periodic', 'TSC-deadline', 'reserved'];

/** Install the observers; each event goes to `sink.onModelEvent`. */
export function watchInterrupts(vm: KvmVm, sink: { onModelEvent(e: ExitEvent): void }): void {
  vm.injectObserver = (v, vector, kind) => {
    const extint = kind === 'extint';
    sink.onModelEvent({
      layer: 'interrupt', vcpu: v.vcpu_id, name: kind === 'nmi' ? 'NMI' : 'INTERRUPT',
      fields: { vector: BigInt(vector), nmi: kind === 'nmi' ? 1n : 0n, extint: extint ? 1n : 0n, rip: rip(v) },
      description: kind === 'nmi' ? `NMI injected into vCPU ${v.vcpu_id}` : `interrupt ${hex(vector)} injected into vCPU ${v.vcpu_id}${extint ? ' (ExtINT from the 8259)' : ''}`,
    });
  };
  vm.timerObserver = (v, lvtt) => {
    const mode = (lvtt >>> 17) & 3;
    sink.onModelEvent({
      layer: 'interrupt', vcpu: v.vcpu_id, name: 'TIMER',
      fields: { vector: BigInt(lvtt & 0xff), mode: BigInt(mode), masked: lvtt & APIC_LVT_MASKED ? 1n : 0n, rip: rip(v) },
      description: `LAPIC timer (${TIMER_MODES[mode]}) expired on vCPU ${v.vcpu_id}: vector ${hex(lvtt & 0xff)}${lvtt & APIC_LVT_MASKED ? ' (masked)' : ''}`,
    });
  };
  vm.eoiObserver = (v, vector, level) => {
    sink.onModelEvent({
      layer: 'interrupt', vcpu: v.vcpu_id, name: 'EOI',
      fields: { vector: BigInt(vector), level: BigInt(level), rip: rip(v) },
      description: `EOI of ${hex(vector)} on vCPU ${v.vcpu_id}${level ? ' (level-triggered: IOAPIC EOI)' : ''}`,
    });
  };
}

// The debugger's "Interrupt controllers & time" scope: the vCPU's local APIC with its registers
// decoded (IRR/ISR/TMR as vector lists, LVTs, the timer's mode and deadline in host cycles, guest
// TSC and ns), the VM's IOAPIC redirection table, the 8259 pair (IRR/ISR/IMR/ELCR as IRQ lists,
// init state, modes), the 8254 (channel 0's timer and reinjection, each channel's mode, count, OUT)
// and the VM clock (clock.ts).
import type { KvmVcpu } from '../kvm/vcpu';
import type { VarNode } from './inspect';
import {
  APIC_ID, APIC_LVR, APIC_TASKPRI, APIC_PROCPRI, APIC_LDR, APIC_DFR, APIC_SPIV, APIC_ISR, APIC_TMR, APIC_IRR, APIC_ESR,
  APIC_ICR, APIC_ICR2, APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, APIC_LVT1, APIC_LVTERR, APIC_TMICT, APIC_TDCR,
  APIC_LVT_TIMER_PERIODIC, APIC_LVT_TIMER_TSCDEADLINE,
} from '../kvm/lapic';
import { hypervScopeNode } from './hyperv-scope';
import { IOAPIC_NUM_PINS, RTE_MASK, RTE_TRIG_LEVEL, RTE_REMOTE_IRR, RTE_DEST_LOGICAL } from '../kvm/ioapic';
import type { KvmPic, KvmKpicState } from '../kvm/i8259';
import type { KvmPit } from '../kvm/i8254';

const hex = (v: number) => '0x' + (v >>> 0).toString(16);
const vecList = (vs: number[]) => vs.length ? vs.map((x) => hex(x)).join(' ') : 'none';
const MODES = ['Fixed', 'LowestPrio', 'SMI', 'RemoteRead', 'NMI', 'INIT', 'StartUp', 'ExtINT'];

/** One LVT entry decoded (SDM Vol. 3A 11.5.1). */
function lvt(val: number, timer = false): string {
  const mode = timer ? ['one-shot', 'periodic', 'TSC-deadline', 'reserved'][(val >>> 17) & 3] : MODES[(val >>> 8) & 7];
  return `${hex(val)} vector=${hex(val & 0xff)} ${mode}${val & (1 << 15) ? ' level' : ''}${val & (1 << 16) ? ' masked' : ''}`;
}

function lapicNodes(v: KvmVcpu): VarNode[] {
  const l = v.lapic!;
  const r = (off: number) => l.get(off);
  const clock = v.vm.clock, now = clock.cycles();
  const armed = l.expireCycles !== Infinity;
  const mode = l.timer_mode === APIC_LVT_TIMER_TSCDEADLINE ? 'TSC-deadline' : l.timer_mode === APIC_LVT_TIMER_PERIODIC ? 'periodic' : 'one-shot';
  return [
    { name: 'mode', value: !l.hwEnabled ? 'disabled (IA32_APIC_BASE.EN = 0)' : l.x2apicMode ? 'x2APIC' : `xAPIC at ${hex(l.base)}` },
    { name: 'ID', value: l.x2apicMode ? hex(r(APIC_ID)) : hex(r(APIC_ID) >>> 24) },
    { name: 'version', value: hex(r(APIC_LVR)) },
    { name: 'SPIV', value: `${hex(r(APIC_SPIV))} ${l.sw_enabled ? 'software-enabled' : 'software-disabled'} spurious=${hex(r(APIC_SPIV) & 0xff)}` },
    { name: 'TPR / PPR', value: `${hex(r(APIC_TASKPRI))} / ${hex(r(APIC_PROCPRI))}` },
    { name: 'IRR', value: vecList(l.vectors(APIC_IRR)) },
    { name: 'ISR', value: vecList(l.vectors(APIC_ISR)) },
    { name: 'TMR', value: vecList(l.vectors(APIC_TMR)) },
    { name: 'LDR / DFR', value: `${hex(r(APIC_LDR))} / ${r(APIC_DFR) === 0xffffffff ? 'flat' : 'cluster'}` },
    { name: 'ICR', value: `${hex(r(APIC_ICR2))}:${hex(r(APIC_ICR))} ${MODES[(r(APIC_ICR) >>> 8) & 7]}` },
    { name: 'ESR', value: hex(r(APIC_ESR)) },
    { name: 'LVT timer', value: lvt(r(APIC_LVTT), true) },
    { name: 'LVT thermal', value: lvt(r(APIC_LVTTHMR)) },
    { name: 'LVT perfmon', value: lvt(r(APIC_LVTPC)) },
    { name: 'LVT LINT0', value: lvt(r(APIC_LVT0)) },
    { name: 'LVT LINT1', value: lvt(r(APIC_LVT1)) },
    { name: 'LVT error', value: lvt(r(APIC_LVTERR)) },
    {
      name: 'timer', value: armed ? `${mode}, fires in ${l.expireCycles - now} cycles` : `${mode}, not armed`,
      children: () => [
        { name: 'initial count / divide', value: `${r(APIC_TMICT)} / ${l.divide_count} (TDCR ${hex(r(APIC_TDCR))})` },
        { name: 'period (ns)', value: String(l.period) },
        { name: 'deadline (host cycles)', value: armed ? String(l.expireCycles) : 'none' },
        { name: 'deadline (guest TSC)', value: l.tscdeadline ? String(l.tscdeadline) : 'none' },
        { name: 'deadline (VM ns)', value: armed ? String(clock.cyclesToNs(l.expireCycles)) : 'none' },
        { name: 'expiration pending', value: String(l.pending > 0) },
        { name: 'expirations / EOIs', value: `${l.timerFired} / ${l.eois}` },
      ],
    },
    { name: 'PV EOI', value: l.pvEoiEnabled() ? `enabled at ${hex(l.pv_eoi_msr - (l.pv_eoi_msr % 4))}` : 'off' },
  ];
}

function ioapicNodes(v: KvmVcpu): VarNode[] {
  const io = v.vm.ioapic!;
  const out: VarNode[] = [{ name: 'ID / IRR', value: `${io.id} / ${hex(io.irr)}` }];
  for (let pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
    const lo = io.lo[pin], hi = io.hi[pin];
    out.push({
      name: `pin ${pin}`,
      value: `vector=${hex(lo & 0xff)} ${MODES[(lo >>> 8) & 7]} ${lo & RTE_TRIG_LEVEL ? 'level' : 'edge'}${lo & RTE_REMOTE_IRR ? ' remote-IRR' : ''}` +
        ` dest=${hex(hi >>> 24)}${lo & RTE_DEST_LOGICAL ? ' logical' : ''}${lo & RTE_MASK ? ' masked' : ''} (delivered ${io.delivered[pin]})`,
    });
  }
  return out;
}

const irqList = (mask: number, off: number) => {
  const out: string[] = [];
  for (let k = 0; k < 8; k++) if (mask & (1 << k)) out.push(`IRQ${k + off}`);
  return out.length ? out.join(' ') : 'none';
};

/** One 8259 (struct kvm_kpic_state) decoded. */
function picChipNodes(s: KvmKpicState, off: number): VarNode[] {
  const init = ['ready', 'waiting for ICW2', 'waiting for ICW3', 'waiting for ICW4'][s.init_state] ?? String(s.init_state);
  return [
    { name: 'vector base (ICW2)', value: hex(s.irq_base) },
    { name: 'IRR', value: irqList(s.irr, off) },
    { name: 'ISR', value: irqList(s.isr, off) },
    { name: 'IMR', value: `${hex(s.imr)} masked: ${irqList(s.imr, off)}` },
    { name: 'ELCR (level)', value: irqList(s.elcr, off) },
    { name: 'initialization', value: init },
    { name: 'lowest priority', value: `IRQ${((s.priority_add + 7) & 7) + off}` },
    { name: 'modes', value: [s.auto_eoi ? 'auto-EOI' : 'normal EOI', s.rotate_on_auto_eoi ? 'rotate on auto-EOI' : '',
      s.special_fully_nested_mode ? 'special fully nested' : '', s.special_mask ? 'special mask' : '', s.poll ? 'poll armed' : '',
      `OCW3 reads ${s.read_reg_select ? 'ISR' : 'IRR'}`].filter((x) => x).join(', ') },
  ];
}

function picNodes(pic: KvmPic): VarNode[] {
  const acked: string[] = [];
  for (let k = 0; k < 16; k++) if (pic.acked[k]) acked.push(`IRQ${k}: ${pic.acked[k]}`);
  return [
    { name: 'INT output', value: pic.output ? 'high (an ExtINT is pending for LINT0)' : 'low' },
    { name: 'master (0x20)', value: `IRR ${irqList(pic.pics[0].irr, 0)}, ISR ${irqList(pic.pics[0].isr, 0)}`, children: () => picChipNodes(pic.pics[0], 0) },
    { name: 'slave (0xA0)', value: `IRR ${irqList(pic.pics[1].irr, 8)}, ISR ${irqList(pic.pics[1].isr, 8)}`, children: () => picChipNodes(pic.pics[1], 8) },
    { name: 'acknowledged (INTA)', value: acked.length ? acked.join(', ') : 'none' },
  ];
}

const PIT_MODES = ['0 interrupt on terminal count', '1 one-shot', '2 rate generator', '3 square wave', '4 software strobe', '5 hardware strobe'];
const RW = ['latch', 'LSB', 'MSB', 'LSB then MSB'];

function pitNodes(v: KvmVcpu, pit: KvmPit): VarNode[] {
  const clock = v.vm.clock, now = clock.cycles();
  const out: VarNode[] = [{
    name: 'channel 0 timer',
    value: pit.armed ? `${pit.is_periodic ? 'periodic' : 'one-shot'} ${pit.period} ns, fires in ${pit.expireCycles - now} cycles (VM ns ${pit.expiresNs})` : 'not armed',
  }, {
    name: 'reinjection', value: pit.reinject ? `on: ${pit.pending} tick(s) pending, last ${pit.irq_ack ? 'acknowledged' : 'not acknowledged'}` : 'off',
  }, { name: 'ticks raised / expiries', value: `${pit.ticksRaised} / ${pit.expiries}` }];
  for (let ch = 0; ch < 3; ch++) {
    const c = pit.channels[ch];
    const mode = c.mode === 0xff ? 'not programmed' : `mode ${PIT_MODES[c.mode] ?? c.mode}`;
    out.push({
      name: `channel ${ch}`,
      value: `${mode}, count ${c.count}, now ${c.mode === 0xff ? '-' : pit.pit_get_count(ch)}, OUT ${c.mode === 0xff ? '-' : pit.pit_get_out(ch)}, gate ${c.gate}` +
        `, ${RW[c.rw_mode] ?? c.rw_mode}${c.bcd ? ' BCD' : ''}${c.count_latched ? ', count latched' : ''}${c.status_latched ? ', status latched' : ''}`,
    });
  }
  return out;
}

/** The scope's nodes for vCPU `v`. */
export function interruptControllerNodes(v: KvmVcpu): VarNode[] {
  const clock = v.vm.clock;
  const nodes: VarNode[] = [
    { name: 'VM clock', value: `${clock.cycles()} cycles = ${clock.nowNs()} ns at ${clock.tscKhz} kHz (idle skipped: ${clock.idleCycles} cycles)` },
    { name: 'guest TSC', value: `${clock.cycles() + v.arch.tsc_offset} (offset ${v.arch.tsc_offset}, IA32_TSC_ADJUST ${v.arch.ia32_tsc_adjust_msr})` },
    { name: 'kvmclock', value: v.arch.kvmclock.msr % 2 ? `${v.vm.get_kvmclock_ns()} ns, page at ${hex(v.arch.kvmclock.msr - 1)}` : `${v.vm.get_kvmclock_ns()} ns (no page)` },
  ];
  if (v.lapic) nodes.push({ name: 'LAPIC', value: `IRR ${vecList(v.lapic.vectors(APIC_IRR))}, ISR ${vecList(v.lapic.vectors(APIC_ISR))}`, children: () => lapicNodes(v) });
  else nodes.push({ name: 'LAPIC', value: 'none (no KVM_CREATE_IRQCHIP)' });
  if (v.vm.ioapic) nodes.push({ name: 'IOAPIC', value: `irr ${hex(v.vm.ioapic.irr)}`, children: () => ioapicNodes(v) });
  const pic = v.vm.pic, pit = v.vm.pit;
  if (pic) nodes.push({ name: 'PIC (8259)', value: `INT ${pic.output ? 'high' : 'low'}, IMR ${hex(pic.pics[0].imr)}/${hex(pic.pics[1].imr)}`, children: () => picNodes(pic) });
  if (pit) nodes.push({ name: 'PIT (8254)', value: pit.armed ? `channel 0 fires in ${pit.expireCycles - clock.cycles()} cycles` : 'channel 0 not armed', children: () => pitNodes(v, pit) });
  const hv = hypervScopeNode(v);
  if (hv) nodes.push(hv);
  return nodes;
}

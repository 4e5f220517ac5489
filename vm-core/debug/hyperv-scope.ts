// The Hyper-V part of the debugger's "Interrupt controllers & time" scope: the vCPU's SynIC (SCONTROL,
// SIMP/SIEFP, each SINT decoded with its route's GSI), its four synthetic timers (config decoded,
// count, next expiration in reference time, the hrtimer deadline in host cycles and VM ns), and the
// partition's reference time and TSC page (hyperv.ts).
import type { KvmVcpu } from '../kvm/vcpu';
import type { VarNode } from './inspect';
import * as T from '../kvm/hyperv_tlfs';
import { get_time_ref_counter, HV_TSC_PAGE_SET } from '../kvm/hyperv';

const hex = (v: number) => '0x' + v.toString(16);
const TSC_PAGE_STATUS = ['unset', 'guest changed', 'host changed', 'set', 'broken'];

/** One SINTx value decoded (TLFS 11.8.4). */
function sint(val: number): string {
  const masked = Math.floor(val / T.HV_SYNIC_SINT_MASKED) % 2 === 1, autoEoi = Math.floor(val / T.HV_SYNIC_SINT_AUTO_EOI) % 2 === 1;
  return `${hex(val)} vector=${hex(val % 256)}${autoEoi ? ' AutoEOI' : ''}${masked ? ' masked' : ''}`;
}

/** One STIMERx_CONFIG decoded (TLFS 12.6.1). */
function stimerConfig(c: number): string {
  const f: string[] = [];
  if (c & T.HV_STIMER_ENABLE) f.push('enabled');
  f.push(c & T.HV_STIMER_PERIODIC ? 'periodic' : 'one-shot');
  if (c & T.HV_STIMER_AUTOENABLE) f.push('auto-enable');
  f.push(c & T.HV_STIMER_DIRECT_MODE ? `direct vector=${hex(T.hv_stimer_apic_vector(c))}` : `SINT${T.hv_stimer_sintx(c)}`);
  return `${hex(c)} ${f.join(' ')}`;
}

/** The Hyper-V node of vCPU `v` (null when it has no Hyper-V context). */
export function hypervScopeNode(v: KvmVcpu): VarNode | null {
  const hv = v.arch.hyperv;
  if (!hv) return null;
  const vm = v.vm, clock = vm.clock, part = vm.hyperv, s = hv.synic;
  const ref = get_time_ref_counter(vm);
  const page = (val: number) => (val % 2 ? `${hex(val - (val % 4096))} enabled` : 'disabled');
  const children = (): VarNode[] => [
    { name: 'reference time (100 ns)', value: String(ref) },
    { name: 'reference TSC page', value: part.hv_tsc_page % 2 ? `${hex(part.hv_tsc_page - (part.hv_tsc_page % 4096))}, ${TSC_PAGE_STATUS[part.hv_tsc_page_status]}` +
      (part.hv_tsc_page_status === HV_TSC_PAGE_SET ? ` (sequence ${part.tsc_ref.tsc_sequence}, scale 0x${part.tsc_ref.tsc_scale.toString(16)}, offset ${part.tsc_ref.tsc_offset})` : '') : 'off' },
    { name: 'VP index', value: String(hv.vp_index) },
    {
      name: 'SynIC', value: s.active ? `SCONTROL ${hex(s.control)}, SIMP ${page(s.msg_page)}, SIEFP ${page(s.evt_page)}` : 'not activated (KVM_CAP_HYPERV_SYNIC)',
      children: () => [
        ...s.sint.map((val, i): VarNode => ({ name: `SINT${i}`, value: sint(val) + (s.sint_to_gsi[i] >= 0 ? ` (GSI ${s.sint_to_gsi[i]})` : '') })),
        { name: 'interrupts / messages / EOMs', value: `${s.irqs} / ${s.messages} / ${s.eoms}` },
      ],
    },
    ...hv.stimer.map((st): VarNode => {
      const armed = st.expireCycles !== Infinity;
      return {
        name: `STIMER${st.index}`, value: `${stimerConfig(st.config)}${armed ? `, fires in ${st.expireCycles - clock.cycles()} cycles` : ''}`,
        children: () => [
          { name: 'count', value: String(st.count) },
          { name: 'expiration (reference time)', value: st.exp_time ? String(st.exp_time) : 'none' },
          { name: 'deadline (host cycles / VM ns)', value: armed ? `${st.expireCycles} / ${clock.cyclesToNs(st.expireCycles)}` : 'not armed' },
          { name: 'message pending (slot busy)', value: String(st.msg_pending) },
          { name: 'expiration pending', value: String((hv.stimer_pending_bitmap >>> st.index) & 1 ? 'yes' : 'no') },
          { name: 'delivered', value: String(st.fired) },
        ],
      };
    }),
  ];
  return { name: 'Hyper-V', value: `reference time ${ref}, SynIC ${s.active ? 'active' : 'off'}`, children };
}

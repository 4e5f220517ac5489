// The "Nested (VMX)" scope: which level runs, VMX operation, the current vmcs12 as L1 sees it and
// the vmcs02 L0 runs L2 with (grouped like the VMCS scope), and the exits from L2 split into those
// reflected to L1 and those L0 handled (kvm/vmx/nested.ts). Read without side effects.
import type { KvmVcpu } from '../kvm/vcpu';
import type { ControlBlockField } from '../kvm/x86_ops';
import type { VarNode } from './inspect';

const hex = (n: number) => (n < 0 ? '-' : '0x' + n.toString(16));

function grouped(v: KvmVcpu, fields: ControlBlockField[]): VarNode[] {
  const view = v.ops.view;
  const groups = new Map<string, VarNode[]>(view.controlBlockAreas.map((g) => [g, []]));
  for (const f of [...fields].sort((a, b) => (a.encoding ?? 0) - (b.encoding ?? 0))) {
    groups.get(view.controlBlockArea(f.encoding ?? 0))?.push({ name: `${f.name} (${hex(f.encoding ?? 0)})`, value: hex(f.value) });
  }
  return [...groups].filter(([, kids]) => kids.length).map(([g, kids]) => ({ name: g, value: `${kids.length} fields`, children: () => kids }));
}

function counts(c: Record<string, number>): VarNode[] {
  return Object.entries(c).sort((a, b) => b[1] - a[1]).map(([k, n]) => ({ name: `EXIT_REASON_${k}`, value: String(n) }));
}
const total = (c: Record<string, number>) => Object.values(c).reduce((s, n) => s + n, 0);

/** The vCPU's level for the Call Stack and the status: 'L1', 'L2', or '' without nested VMX. */
export function nestedLevel(v: KvmVcpu): string {
  const n = v.ops.nested;
  return n && n.describe().enabled ? `L${n.level}` : '';
}

export function nestedNodes(v: KvmVcpu): VarNode[] {
  const n = v.ops.nested;
  if (!n) return [{ name: 'nested', value: 'not available (nested virtualization is modelled for VMX only)' }];
  const d = n.describe();
  if (!d.enabled) return [{ name: 'nested', value: 'off (launch option nested: kvm_intel.nested=0)' }];
  const out: VarNode[] = [
    { name: 'level', value: `L${d.level}${d.level === 2 ? ' (guest mode: vmcs02 loaded)' : ''}` },
    { name: 'VMX operation', value: d.vmxon ? `on (VMXON region ${hex(d.vmxonPtr)})` : 'off' },
    { name: 'current VMCS (vmcs12)', value: d.currentVmptr < 0 ? 'none' : `${hex(d.currentVmptr)}${d.launched ? ' (launched)' : ' (clear)'}` },
    { name: 'nested VM entries', value: String(d.nestedEntries) },
    { name: 'exits from L2 reflected to L1', value: String(total(d.reflected)), children: () => counts(d.reflected) },
    { name: 'exits from L2 handled by L0', value: String(total(d.l0Handled)), children: () => counts(d.l0Handled) },
  ];
  if (d.vmcs12) { const f = d.vmcs12; out.push({ name: 'vmcs12 (L1\'s view)', value: `${f.length} fields`, children: () => grouped(v, f) }); }
  if (d.vmcs02) { const f = d.vmcs02; out.push({ name: 'vmcs02', value: `${f.length} fields`, children: () => grouped(v, f) }); }
  return out;
}

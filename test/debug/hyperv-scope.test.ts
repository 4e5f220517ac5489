// The Hyper-V node of the "Interrupt controllers & time" scope: SINTs decoded, stimer config and
// deadline, the reference time and TSC page state; and the Hyper-V state rewinds with the recording's snapshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVm, kvm } from '../kvm/helpers';
import { interruptControllerNodes } from '../../vm-core/debug/irqchip-scope';
import { withHypervCpuid, kvm_hv_process_stimers } from '../../vm-core/kvm/hyperv';
import * as U from '../../vm-core/kvm/uapi';
import * as T from '../../vm-core/kvm/hyperv_tlfs';
import type { KvmVcpu } from '../../vm-core/kvm/vcpu';
import { join } from 'node:path';
import { assemble } from '../../vm-core/loader/assemble';
import { Machine } from '../../vm-core/vmm/machine';
import { Cpu } from '../../vm-core/cpu/cpu';
import { PhysBus } from '../../vm-core/cpu/phys';
import { saveCpu, restoreCpu } from '../../vm-core/cpu/snapshot';
import { snapshotGraph, restoreGraph } from '../../vm-core/debug/object-snapshot';

test('Hyper-V node: SynIC pages and SINTs, an armed periodic stimer with its deadline, the TSC page', () => {
  const t = createVm('intel', { irqchip: true, cpuid: false });
  const v = t.vcpu as KvmVcpu;
  v.setCpuid2(withHypervCpuid(kvm.getSupportedCpuid('intel')));
  assert.equal(interruptControllerNodes(v).find((n) => n.name === 'Hyper-V')!.value, 'reference time 0, SynIC off');
  v.enableCap({ cap: U.KVM_CAP_HYPERV_SYNIC2, args: [0] });
  assert.equal(v.setMsrs([
    { index: T.HV_X64_MSR_SIMP, data: 0x300001n }, { index: T.HV_X64_MSR_SINT0 + 2, data: 0x20055n },
    { index: T.HV_X64_MSR_STIMER0_CONFIG + 1, data: 1000n }, { index: T.HV_X64_MSR_STIMER0_CONFIG, data: BigInt((2 << 16) | 3) },
    { index: T.HV_X64_MSR_REFERENCE_TSC, data: 0x302001n },
  ]), 5);
  kvm_hv_process_stimers(v); // KVM_REQ_HV_STIMER before the next entry: the timer starts
  const node = interruptControllerNodes(v).find((n) => n.name === 'Hyper-V')!;
  assert.equal(node.value, 'reference time 0, SynIC active');
  const kids = node.children!();
  const get = (ns: typeof kids, name: string) => ns.find((n) => n.name === name)!;
  assert.match(get(kids, 'SynIC').value, /SCONTROL 0x1, SIMP 0x300000 enabled, SIEFP disabled/);
  assert.equal(get(get(kids, 'SynIC').children!(), 'SINT2').value, '0x20055 vector=0x55 AutoEOI');
  assert.equal(get(get(kids, 'SynIC').children!(), 'SINT0').value, '0x10000 vector=0x0 masked');
  assert.equal(get(kids, 'STIMER0').value, '0x20003 enabled periodic SINT2, fires in 200000 cycles');
  assert.equal(get(get(kids, 'STIMER0').children!(), 'deadline (host cycles / VM ns)').value, '200000 / 100000');
  assert.match(get(kids, 'reference TSC page').value, /^0x302000, set \(sequence 1, scale 0x[0-9a-f]+, offset 0\)$/);
});

test('stimers and the SynIC rewind exactly: snapshot of examples/hyperv-synic-stimer.asm half-way, run, restore, run again', () => {
  const r = assemble({ path: join(__dirname, '../../examples/hyperv-synic-stimer.asm') });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const m = new Machine(r.image, { hyperv: true });
  const ticks: string[] = [];
  m.vm.stimerObserver = (v, index) => ticks.push(`${index}@${v.cpu.icount}/${m.vm.clock.cycles()}`);
  let s = m.run(80);
  assert.equal(s.kind, 'slice');
  assert.ok(ticks.length >= 1 && ticks.length < 5, `${ticks.length} ticks before the snapshot`);
  const stop = (o: object) => o instanceof Cpu || o instanceof PhysBus || o === m.image || o === m.mem;
  const graph = snapshotGraph([m], stop), cpu = saveCpu(m.vcpus[0].cpu), mem = m.mem.slice();
  const before = ticks.length;
  s = m.run();
  assert.deepEqual(s, { kind: 'exit-port', code: 5 });
  const first = { ticks: ticks.slice(before), output: m.output, log: m.exitLog.map((e) => `${e.reason}:${e.detail}@${e.rip}`), cycles: m.vm.clock.cycles() };
  restoreGraph(graph); restoreCpu(m.vcpus[0].cpu, cpu); m.mem.set(mem); m.vcpus[0].cpu.invalidateAllCode();
  ticks.length = before;
  s = m.run();
  assert.deepEqual(s, { kind: 'exit-port', code: 5 });
  assert.deepEqual({ ticks: ticks.slice(before), output: m.output, log: m.exitLog.map((e) => `${e.reason}:${e.detail}@${e.rip}`), cycles: m.vm.clock.cycles() }, first);
});

// The VMM writes each vCPU's APIC ID into its CPUID table as QEMU does (KVM leaves it to userspace):
// leaf 1 EBX[31:24] and, on Intel, leaf 0BH's x2APIC ID; kvm-unit-tests' apic "xapic id matches cpuid"
// and "x2apic id matches cpuid" compare them with the LAPIC's ID register on every vCPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../vm-core/loader/assemble';
import { Machine } from '../../vm-core/vmm/machine';
import { kvm_cpuid } from '../../vm-core/kvm/x86/cpuid';
import { cpuidWithTopology } from '../../vm-core/vmm/cpuid-topology';

function machine(vendor: 'intel' | 'amd', vcpus: number): Machine {
  const a = assemble({ path: '/test/t.asm', source: 'bits 32\norg 0x100000\nhlt\n' });
  assert.ok(a.ok);
  return new Machine(a.image, { vcpus, vendor });
}

test('each vCPU reads its own APIC ID in CPUID.1:EBX[31:24] and CPUID.0BH:EDX (Intel), with the LAPIC ID the same', () => {
  const m = machine('intel', 3);
  const out = new Int32Array(4);
  m.vcpus.forEach((v, id) => {
    kvm_cpuid(v, 1, 0, out);
    assert.equal(out[1] >>> 24, id);
    for (const sub of [0, 1, 2]) { kvm_cpuid(v, 0xb, sub, out); assert.equal(out[3], id, `leaf 0BH.${sub} EDX`); }
    kvm_cpuid(v, 0xb, 1, out);
    assert.deepEqual([out[0], out[1], (out[2] >> 8) & 0xff], [2, 3, 2], 'core level: 2 ID bits, 3 logical processors, type core');
    kvm_cpuid(v, 0xb, 2, out);
    assert.equal((out[2] >> 8) & 0xff, 0, 'sub-leaf 2 is the invalid level');
    assert.equal(v.lapic!.id, id);
  });
});

test('AMD: leaf 1 carries the APIC ID; no leaf 0BH is added', () => {
  const m = machine('amd', 2);
  const out = new Int32Array(4);
  kvm_cpuid(m.vcpus[1], 1, 0, out);
  assert.equal(out[1] >>> 24, 1);
  const t = cpuidWithTopology([{ function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0, ecx: 0, edx: 0 }], 1, 2, 'amd');
  assert.equal(t.some((e) => e.function === 0xb), false);
});

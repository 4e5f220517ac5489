// hideHypervisor (bare-metal mode): the guest's CPUID has no KVM signature at 0x40000000 and no
// HYPERVISOR bit, so a Linux guest takes none of the paravirtual paths; by default both are there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../vm-core/loader/assemble';
import { Machine } from '../../vm-core/vmm/machine';

const GUEST = `bits 64
org 0x100000
  mov eax, 0x40000000
  cpuid
  mov [0x200000], ebx
  mov eax, 1
  cpuid
  mov [0x200004], ecx
  mov al, 0
  out 0xf4, al
  hlt
`;

function run(hideHypervisor: boolean): { sig: number; ecx1: number } {
  const a = assemble({ path: '/test/cpuid.asm', source: GUEST });
  assert.ok(a.ok);
  const m = new Machine(a.image, { hideHypervisor });
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 0 });
  const dv = new DataView(m.mem.buffer);
  return { sig: dv.getUint32(0x200000, true), ecx1: dv.getUint32(0x200004, true) };
}

test('default: CPUID 0x40000000 says "KVMK..." and CPUID.1:ECX[31] is set', () => {
  const r = run(false);
  assert.equal(r.sig, 0x4b4d564b);
  assert.equal(r.ecx1 >>> 31, 1);
});

test('hideHypervisor: no hypervisor leaves and CPUID.1:ECX[31] clear, the other CPUID.1 bits unchanged', () => {
  const r = run(true), d = run(false);
  assert.notEqual(r.sig, 0x4b4d564b);
  assert.equal(r.ecx1 >>> 31, 0);
  assert.equal(r.ecx1, (d.ecx1 & 0x7fffffff) >>> 0);
});

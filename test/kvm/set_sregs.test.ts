// KVM_SET_SREGS validation (x86.c kvm_is_valid_sregs, as the selftest set_sregs_test checks it):
// -EINVAL for an inconsistent long-mode set-up, a 64-bit code segment outside long mode, invalid
// CR0 and CR4 values (including CR4 bits the guest's CPUID does not allow), and nothing changes
// when the ioctl fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVm, longModeGuest, runOnce } from './helpers';
import * as U from '../../vm-core/kvm';

const CR0_PE = 1n, CR0_NW = 1n << 29n, CR0_CD = 1n << 30n, CR0_PG = 1n << 31n;
const CR4_PAE = 1n << 5n, CR4_FSGSBASE = 1n << 16n;
const EFER_LME = 1n << 8n, EFER_LMA = 1n << 10n;

for (const vendor of ['intel', 'amd'] as const) {
  test(`KVM_SET_SREGS: kvm_is_valid_sregs cases return -EINVAL and change nothing (${vendor})`, () => {
    const { vcpu } = createVm(vendor);
    const base = vcpu.getSregs();
    const attempt = (edit: (s: U.kvm_sregs) => void) => {
      const s = vcpu.getSregs();
      edit(s);
      return vcpu.setSregs(s);
    };
    const cases: [string, (s: U.kvm_sregs) => void][] = [
      ['EFER.LMA without LME and paging', (s) => { s.efer |= EFER_LMA; }],
      ['CS.L outside long mode', (s) => { s.cs.l = 1; }],
      ['LME + PG without CR4.PAE', (s) => { s.efer |= EFER_LME | EFER_LMA; s.cr0 |= CR0_PE | CR0_PG; s.cr4 &= ~CR4_PAE; }],
      ['LME + PG without EFER.LMA', (s) => { s.efer |= EFER_LME; s.cr0 |= CR0_PE | CR0_PG; s.cr4 |= CR4_PAE; }],
      ['CR0.PG without PE', (s) => { s.cr0 = (s.cr0 & ~CR0_PE) | CR0_PG; }],
      ['CR0.NW without CD', (s) => { s.cr0 = (s.cr0 & ~CR0_CD) | CR0_NW; }],
      ['CR0 bit 63', (s) => { s.cr0 |= 1n << 63n; }],
      ['CR4 reserved bit 31', (s) => { s.cr4 |= 1n << 31n; }],
      ['CR4 bit 40', (s) => { s.cr4 |= 1n << 40n; }],
    ];
    for (const [name, edit] of cases) assert.equal(attempt(edit), -U.EINVAL, name);
    assert.deepEqual(vcpu.getSregs(), base, 'failed KVM_SET_SREGS calls left the state alone');
    // A consistent long-mode set-up is accepted.
    assert.equal(attempt((s) => {
      s.efer |= EFER_LME | EFER_LMA; s.cr0 |= CR0_PE | CR0_PG; s.cr4 |= CR4_PAE; s.cs.l = 1; s.cs.db = 0;
    }), 0);
  });

  test(`KVM_SET_SREGS: CR4 bits the guest CPUID does not allow are reserved (cr4_guest_rsvd_bits, ${vendor})`, () => {
    const { vcpu } = createVm(vendor, { cpuid: false });
    vcpu.setCpuid2([]); // no leaf 7: FSGSBASE is reserved for this guest
    assert.equal((() => { const s = vcpu.getSregs(); s.cr4 |= CR4_FSGSBASE; return vcpu.setSregs(s); })(), -U.EINVAL);
    const { vcpu: withLeaf7 } = createVm(vendor);
    const has = (withLeaf7.getCpuid2() as U.kvm_cpuid_entry2[]).find((e) => e.function === 7)!;
    const s = withLeaf7.getSregs();
    s.cr4 |= CR4_FSGSBASE;
    assert.equal(withLeaf7.setSregs(s), (has.ebx & 1) ? 0 : -U.EINVAL);
  });
}

test('KVM_SET_SREGS accepts CS.L = CS.D/B = 1 in long mode; the VM entry fails: KVM_EXIT_FAIL_ENTRY 0x80000021 (Intel)', () => {
  const { vcpu } = longModeGuest('intel', 'bits 64\norg 0x100000\nout 0x80, al\nhlt\n');
  const s = vcpu.getSregs();
  s.cs.db = 1; // with L = 1 a reserved combination (SDM Vol. 3C 27.3.1.2)
  assert.equal(vcpu.setSregs(s), 0);
  const reads = vcpu.ops.reads;
  assert.equal(runOnce(vcpu), U.KVM_EXIT_FAIL_ENTRY);
  assert.equal(vcpu.kvm_run.fail_entry.hardware_entry_failure_reason, 0x80000021n);
  assert.equal(vcpu.ops.reads - reads, 1, 'vmx_vcpu_run VMREADs the exit reason, nothing else, before KVM_EXIT_FAIL_ENTRY');
  const field = (enc: number) => vcpu.controlBlock().find((x) => x.encoding === enc)?.value;
  assert.equal(field(U.VMCS.EXIT_QUALIFICATION), 0);
  assert.equal(field(U.VMCS.VM_EXIT_REASON), 0x80000021);
  // Fixing CS lets the next KVM_RUN enter.
  s.cs.db = 0;
  assert.equal(vcpu.setSregs(s), 0);
  assert.equal(runOnce(vcpu), U.KVM_EXIT_IO);
});

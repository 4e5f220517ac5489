// The in-kernel LAPIC's registers and interrupt routing, driven like a selftest drives KVM: reset
// values (kvm_lapic_reset), xAPIC register write masks (kvm_lapic_reg_write), TPR/PPR/CR8, EOI,
// the x2APIC #GP rules and IA32_APIC_BASE mode transitions (kvm_apic_set_base), and IPIs by
// destination mode (kvm_apic_match_dest: physical, flat, cluster, x2APIC clusters), lowest
// priority (vector hashing), NMI/INIT/SIPI and KVM_HC_SEND_IPI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVm } from './helpers';
import {
  APIC_ID, APIC_LVR, APIC_TASKPRI, APIC_PROCPRI, APIC_EOI, APIC_LDR, APIC_DFR, APIC_SPIV, APIC_ISR, APIC_TMR, APIC_IRR,
  APIC_ICR, APIC_ICR2, APIC_LVTT, APIC_LVT0, APIC_LVT1, APIC_LVTERR, APIC_TDCR, APIC_TMICT, APIC_SELF_IPI, APIC_ESR,
  type KvmLapic,
} from '../../vm-core/kvm/lapic';
import type { KvmVcpu } from '../../vm-core/kvm/vcpu';
import { kvm_get_msr, kvm_set_msr } from '../../vm-core/kvm/x86/msr';

const BASE = 0xfee00000;
const rd = (l: KvmLapic, off: number) => l.mmioRead(BASE + off, 4);
const wr = (l: KvmLapic, off: number, v: number) => l.mmioWrite(BASE + off, 4, v);
function vm(n = 1) {
  const t = createVm('intel', { irqchip: true, vcpus: n });
  return { ...t, vcpus: t.vm.vcpus as KvmVcpu[], l: (k: number) => (t.vm.vcpus[k] as KvmVcpu).lapic! };
}
const guestWrmsr = (v: KvmVcpu, msr: number, val: number) => { const x = val < 0 ? val >>> 0 : val; return kvm_set_msr(v, msr, x | 0, Math.floor(x / 2 ** 32), false); };
const guestRdmsr = (v: KvmVcpu, msr: number) => kvm_get_msr(v, msr, false) === 0 ? v.msrValue : null;

test('RESET values: version 0x50014, LVTs masked but the BSP LINT0 ExtINT (LINT0_REENABLED), DFR all ones, SPIV 0xff', () => {
  const t = vm(2);
  const bsp = t.l(0), ap = t.l(1);
  assert.equal(rd(bsp, APIC_LVR), 0x50014);
  assert.equal(rd(bsp, APIC_ID), 0);
  assert.equal(rd(ap, APIC_ID), 1 << 24);
  assert.equal(rd(bsp, APIC_LVT0), 0x700);
  assert.equal(rd(ap, APIC_LVT0), 0x10000);
  for (const off of [APIC_LVTT, APIC_LVT1, APIC_LVTERR]) assert.equal(rd(bsp, off), 0x10000);
  assert.equal(rd(bsp, APIC_DFR), 0xffffffff);
  assert.equal(rd(bsp, APIC_SPIV), 0xff);
  assert.equal(t.vcpus[0].arch.apic_base, 0xfee00900);
  assert.equal(t.vcpus[1].arch.apic_base, 0xfee00800);
});

test('register write masks: ID 31:24, LDR 31:24, DFR model bits, SPIV 0x3ff, LVT masks, TDCR 0xb; ICR busy clear; reads of write-only and reserved offsets are 0', () => {
  const l = vm().l(0);
  wr(l, APIC_ID, 0xffffffff); assert.equal(rd(l, APIC_ID), 0xff000000);
  wr(l, APIC_LDR, 0x12345678); assert.equal(rd(l, APIC_LDR), 0x12000000);
  wr(l, APIC_DFR, 0); assert.equal(rd(l, APIC_DFR), 0x0fffffff);
  wr(l, APIC_SPIV, 0xffffffff); assert.equal(rd(l, APIC_SPIV), 0x3ff);
  wr(l, APIC_LVT1, 0xffffffff); assert.equal(rd(l, APIC_LVT1), 0x1f7ff, 'LINT mask: vector, mode, polarity, remote IRR, trigger, mask');
  wr(l, APIC_LVTERR, 0xffffffff); assert.equal(rd(l, APIC_LVTERR), 0x110ff);
  wr(l, APIC_TDCR, 0xffffffff); assert.equal(rd(l, APIC_TDCR), 0xb);
  wr(l, APIC_ICR, 0x000c40ff | 0x1000); assert.equal(rd(l, APIC_ICR) & 0x1000, 0, 'delivery status never busy');
  assert.equal(rd(l, APIC_EOI), 0);
  assert.equal(rd(l, 0x3f0), 0, 'SELF_IPI is not an xAPIC register');
  // Partial and misaligned writes do nothing (SDM 11.4.1: 32-bit aligned accesses only).
  l.mmioWrite(BASE + APIC_TASKPRI, 1, 0x40);
  l.mmioWrite(BASE + APIC_TASKPRI + 4, 4, 0x40);
  assert.equal(rd(l, APIC_TASKPRI), 0);
  // Byte reads of a register.
  wr(l, APIC_TASKPRI, 0xa5);
  assert.equal(l.mmioRead(BASE + APIC_TASKPRI, 1), 0xa5);
});

test('software disable masks every LVT and new LVT writes stay masked; fixed interrupts are refused while disabled', () => {
  const l = vm().l(0);
  wr(l, APIC_SPIV, 0x1ff);
  wr(l, APIC_LVTT, 0x40);
  assert.equal(rd(l, APIC_LVTT), 0x40);
  wr(l, APIC_SPIV, 0xff);
  assert.equal(rd(l, APIC_LVTT), 0x10040);
  wr(l, APIC_LVTT, 0x41);
  assert.equal(rd(l, APIC_LVTT), 0x10041);
  assert.equal(l.__apic_accept_irq(0, 0x50, true, 0), 0);
  assert.equal(l.vectors(APIC_IRR).length, 0);
});

test('TPR, PPR and CR8: PPR is the higher of TPR and the in-service class; an EOI retires the highest ISR bit', () => {
  const t = vm(), l = t.l(0), v = t.vcpus[0];
  wr(l, APIC_SPIV, 0x1ff);
  l.__apic_accept_irq(0, 0x61, true, 0);
  l.__apic_accept_irq(0, 0x82, true, 0);
  assert.deepEqual(l.vectors(APIC_IRR), [0x61, 0x82]);
  assert.equal(l.kvm_get_apic_interrupt(), 0x82);
  assert.equal(rd(l, APIC_PROCPRI), 0x80);
  assert.equal(l.kvm_apic_has_interrupt(), -1, '0x61 is below PPR');
  wr(l, APIC_TASKPRI, 0x95);
  assert.equal(rd(l, APIC_PROCPRI), 0x95);
  assert.equal(v.cpu.cr8, 9, 'TPR[7:4] is CR8');
  wr(l, APIC_TASKPRI, 0);
  wr(l, APIC_EOI, 0);
  assert.deepEqual(l.vectors(APIC_ISR), []);
  assert.equal(rd(l, APIC_PROCPRI), 0);
  assert.equal(l.kvm_apic_has_interrupt(), 0x61);
  v.kvmSetCr8(7);
  assert.equal(rd(l, APIC_TASKPRI), 0x70);
  assert.equal(l.kvm_apic_has_interrupt(), -1, 'class 6 is blocked by CR8 = 7');
});

test('level-triggered acceptance sets TMR; an edge one clears it; a level deassert is dropped', () => {
  const l = vm().l(0);
  wr(l, APIC_SPIV, 0x1ff);
  assert.equal(l.__apic_accept_irq(0, 0x40, true, 0x8000), 1);
  assert.deepEqual(l.vectors(APIC_TMR), [0x40]);
  assert.equal(l.__apic_accept_irq(0, 0x40, false, 0x8000), 0);
  l.__apic_accept_irq(0, 0x40, true, 0);
  assert.deepEqual(l.vectors(APIC_TMR), []);
});

test('x2APIC: MSR access #GPs in xAPIC mode; in x2APIC mode DFR/ICR2/ARBPRI #GP, ID and LDR are read-only, EOI takes 0 only, ESR 0 only, ICR is 64-bit; MMIO is no longer decoded', () => {
  const t = vm(2), v = t.vcpus[1], l = t.l(1);
  assert.equal(guestRdmsr(v, 0x802), null, 'xAPIC mode: #GP');
  assert.equal(guestWrmsr(v, 0x1b, 0xfee00800 | 0x400), 0);
  assert.equal(guestRdmsr(v, 0x802), 1);
  assert.equal(guestRdmsr(v, 0x80d), 0x2, 'LDR: cluster 0, bit 1');
  assert.equal(guestRdmsr(v, 0x80e), null, 'DFR');
  assert.equal(guestRdmsr(v, 0x831), null, 'ICR2');
  assert.equal(guestRdmsr(v, 0x809), null, 'ARBPRI');
  assert.equal(guestWrmsr(v, 0x802, 5), 1, 'ID is read-only');
  assert.equal(guestWrmsr(v, 0x80d, 5), 1, 'LDR is read-only');
  assert.equal(guestWrmsr(v, 0x80b, 1), 1, 'EOI with a non-zero value');
  assert.equal(guestWrmsr(v, 0x80b, 0), 0);
  assert.equal(guestWrmsr(v, 0x828, 1), 1, 'ESR non-zero');
  assert.equal(guestWrmsr(v, 0x80f, 0x1ff), 0);
  assert.equal(guestWrmsr(v, 0x80f, 0x1ff + 2 ** 32), 1, 'high half reserved');
  assert.equal(guestWrmsr(v, 0x830, 0x4000 | 0x31 + 0 * 2 ** 32), 0, 'ICR: fixed 0x31 to x2APIC ID 0');
  assert.deepEqual(t.l(0).vectors(APIC_IRR), [], 'vCPU 0 is software-disabled: refused');
  assert.equal(guestWrmsr(v, 0x830, 0x44031 + 1 * 2 ** 32), 0, 'shorthand self');
  assert.deepEqual(l.vectors(APIC_IRR), [0x31]);
  assert.equal(guestRdmsr(v, 0x830), 0x44031 + 2 ** 32);
  assert.equal(guestWrmsr(v, 0x830, 0x100000), 1, 'reserved ICR bit 20');
  assert.equal(guestWrmsr(v, 0x83f, 0x133), 1, 'SELF_IPI reserved bits');
  assert.equal(l.inRange(BASE), false);
});

test('IA32_APIC_BASE transitions (kvm_apic_set_base): EXTD without EN, x2APIC -> xAPIC and disabled -> x2APIC #GP for the guest; the host may', () => {
  const t = vm(), v = t.vcpus[0];
  assert.equal(guestWrmsr(v, 0x1b, 0xfee00000 | 0x400 | 0x100), 1, 'EXTD without EN is invalid');
  assert.equal(guestWrmsr(v, 0x1b, 0xfee00900 | 0x400), 0, 'xAPIC -> x2APIC');
  assert.equal(guestWrmsr(v, 0x1b, 0xfee00900), 1, 'x2APIC -> xAPIC');
  assert.equal(guestWrmsr(v, 0x1b, 0xfee00100), 0, 'x2APIC -> disabled');
  assert.equal(guestWrmsr(v, 0x1b, 0xfee00500), 1, 'disabled -> x2APIC');
  assert.equal(guestWrmsr(v, 0x1b, 0xfee00001), 1, 'reserved bit 0');
  assert.equal(kvm_set_msr(v, 0x1b, 0xfee00d00, 0, true), 0, 'the host may restore any valid state');
  assert.equal(guestWrmsr(v, 0x1b, 0xfed00900), 1, 'x2APIC -> xAPIC at a new base');
  assert.equal(kvm_set_msr(v, 0x1b, 0xfed00900, 0, true), 0);
  assert.equal(t.l(0).inRange(0xfed00020), true, 'relocated xAPIC page');
  assert.equal(t.l(0).inRange(BASE + 0x20), false);
});

test('IPIs by destination: physical ID and broadcast, flat and cluster logical, shorthands, lowest priority by vector hashing', () => {
  const t = vm(4);
  const L = [0, 1, 2, 3].map((k) => t.l(k));
  for (const l of L) wr(l, APIC_SPIV, 0x1ff);
  const irr = () => L.map((l) => l.vectors(APIC_IRR));
  const clear = () => { for (const l of L) for (const vec of l.vectors(APIC_IRR)) { l.kvm_get_apic_interrupt(); wr(l, APIC_EOI, 0); void vec; } };
  const send = (from: number, icr: number, dest: number) => { wr(L[from], APIC_ICR2, dest << 24); wr(L[from], APIC_ICR, icr); };
  send(0, 0x4041, 2); assert.deepEqual(irr(), [[], [], [0x41], []], 'physical 2'); clear();
  send(0, 0x4042, 0xff); assert.deepEqual(irr(), [[0x42], [0x42], [0x42], [0x42]], 'physical broadcast'); clear();
  // Flat model: LDR bits 1 << k.
  L.forEach((l, k) => wr(l, APIC_LDR, (1 << k) << 24));
  send(0, 0x4843, 0b1010); assert.deepEqual(irr(), [[], [0x43], [], [0x43]], 'flat logical'); clear();
  // Cluster model: cluster 1 holds vCPUs 0 and 1, cluster 2 vCPUs 2 and 3.
  L.forEach((l, k) => { wr(l, APIC_DFR, 0x0fffffff); wr(l, APIC_LDR, (((k < 2 ? 1 : 2) << 4) | (1 << (k & 1))) << 24); });
  send(0, 0x4844, 0x23); assert.deepEqual(irr(), [[], [], [0x44], [0x44]], 'cluster 2, both members'); clear();
  send(0, 0x4845, 0x12); assert.deepEqual(irr(), [[], [0x45], [], []], 'cluster 1, member 1'); clear();
  send(1, 0x44046, 0); assert.deepEqual(irr(), [[], [0x46], [], []], 'self'); clear();
  send(1, 0x84047, 0); assert.deepEqual(irr(), [[0x47], [0x47], [0x47], [0x47]], 'all including self'); clear();
  send(1, 0xc4048, 0); assert.deepEqual(irr(), [[0x48], [], [0x48], [0x48]], 'all excluding self'); clear();
  // Lowest priority to cluster 2 (two candidates): vector mod 2 picks the member.
  send(0, 0x4960, 0x23); assert.deepEqual(irr(), [[], [], [0x60], []]); clear();
  send(0, 0x4961, 0x23); assert.deepEqual(irr(), [[], [], [], [0x61]]); clear();
});

test('NMI, INIT and SIPI IPIs; KVM_HC_SEND_IPI delivers to a bitmap of APIC IDs', () => {
  const t = vm(3);
  for (let k = 0; k < 3; k++) wr(t.l(k), APIC_SPIV, 0x1ff);
  wr(t.l(0), APIC_ICR2, 1 << 24); wr(t.l(0), APIC_ICR, 0x4400);
  assert.equal(t.vcpus[1].arch.nmi_queued, 1, "kvm_inject_nmi: queued (KVM_REQ_NMI), folded into nmi_pending by process_nmi");
  wr(t.l(0), APIC_ICR2, 2 << 24); wr(t.l(0), APIC_ICR, 0x4500);
  assert.equal(t.l(2).pendingInit, true);
  wr(t.l(0), APIC_ICR, 0x4612);
  assert.equal(t.l(2).pendingSipi, true);
  assert.equal(t.l(2).sipiVector, 0x12);
  assert.equal(t.vm.pvSendIpi(0b110, 0, 0, 0x55), 2);
  assert.deepEqual([0, 1, 2].map((k) => t.l(k).vectors(APIC_IRR)), [[], [0x55], [0x55]]);
});

test('EOI of a level-triggered vector is broadcast to the IOAPIC with its trigger mode; ESR writes read back 0', () => {
  const t = vm(), l = t.l(0);
  wr(l, APIC_SPIV, 0x1ff);
  const seen: [number, number][] = [];
  t.vm.eoiObserver = (_v, vec, level) => seen.push([vec, level]);
  l.__apic_accept_irq(0, 0x70, true, 0x8000);
  l.kvm_get_apic_interrupt();
  wr(l, APIC_EOI, 0);
  l.__apic_accept_irq(0, 0x71, true, 0);
  l.kvm_get_apic_interrupt();
  wr(l, APIC_EOI, 0);
  wr(l, APIC_EOI, 0); // nothing in service: ignored
  assert.deepEqual(seen, [[0x70, 1], [0x71, 0]]);
  wr(l, APIC_ESR, 0x40);
  assert.equal(rd(l, APIC_ESR), 0);
  void APIC_SELF_IPI; void APIC_TMICT;
});

test('KVM_GET/SET_LAPIC: the register page with TMCCT as read now; restoring it restarts the timer from the current count', () => {
  const a = vm(), la = a.l(0);
  wr(la, APIC_SPIV, 0x1ff); wr(la, APIC_TDCR, 0xb); wr(la, APIC_LVTT, 0x40); wr(la, APIC_TMICT, 1000);
  a.vm.clock.advanceTo(600); // 300 ns later (2 GHz)
  const st = a.vcpus[0].getLapic();
  assert.ok(typeof st !== 'number');
  const dv = new DataView(st.regs.buffer);
  assert.equal(dv.getUint32(0x390, true), 700, 'TMCCT: 700 bus cycles left');
  assert.equal(dv.getUint32(APIC_TMICT, true), 1000);
  const b = vm(), lb = b.l(0);
  assert.equal(b.vcpus[0].setLapic(st), 0);
  assert.equal(rd(lb, APIC_SPIV), 0x1ff);
  assert.equal(lb.expireCycles, 1400, 'fires 700 ns after the restore');
  assert.equal(rd(lb, 0x390), 700);
  assert.equal(b.vcpus[0].setLapic({ regs: new Uint8Array(16) }), -22);
  const none = createVm('intel', {});
  assert.equal((none.vcpu as KvmVcpu).getLapic(), -6);
});

test('IA32_APIC_BASE: a base at or above MAXPHYADDR (CPUID 80000008H EAX[7:0]) is a reserved-bit #GP; just below it is accepted', () => {
  const { vcpus } = vm();
  const v = vcpus[0];
  const width = v.cpuid_maxphyaddr();
  assert.equal(width, 40, 'the model advertises 40 physical-address bits');
  const orig = guestRdmsr(v, 0x1b)!;
  assert.equal(guestWrmsr(v, 0x1b, orig + 2 ** width), 1, 'kvm-unit-tests apic "apicbase: reserved physaddr bits"');
  assert.equal(guestWrmsr(v, 0x1b, orig + 2 ** (width - 1)), 0);
  assert.equal(guestRdmsr(v, 0x1b), orig + 2 ** (width - 1));
});

// The in-kernel LAPIC timer on the VM's virtual clock (lapic.c start_apic_timer, apic_timer_fn,
// kvm_inject_apic_timer_irqs; clock.ts): guests the project writes take timer interrupts in
// one-shot, periodic and TSC-deadline modes (xAPIC and x2APIC); HLT with a timer armed moves virtual
// time to the deadline instead of spinning; runs are repeatable instruction for instruction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longModeGuest, runOnce, ioByte } from './helpers';
import { apicGuest, mapApicPages, COUNTS, LAST_TSC, u32, u64 } from './apic-guest';
import * as U from '../../vm-core/kvm/uapi';
import { MIN_TIMER_PERIOD_NS } from '../../vm-core/kvm/lapic';

const ENABLE = `    mov dword [rbx + 0x0f0], 0x1ff          ; SPIV: software enable, spurious 0xff
    mov dword [rbx + 0x3e0], 0xb            ; TDCR: divide by 1
`;

function run(src: string, opts: { vendor?: 'intel' | 'amd'; tscKhz?: number } = {}) {
  const t = longModeGuest(opts.vendor ?? 'intel', src, { irqchip: true, options: { tscKhz: opts.tscKhz } });
  mapApicPages(t.mem);
  const r = runOnce(t.vcpu, 5_000_000);
  return { ...t, r };
}

for (const vendor of ['intel', 'amd'] as const) {
  test(`${vendor}: one-shot timer: TMICT 1000 bus cycles (1 us) fires 2000 TSC cycles after the write, once`, () => {
    const t = run(apicGuest(`${ENABLE}
    mov dword [rbx + 0x320], 0x40           ; LVTT: one-shot, vector 0x40
    rdtsc
    mov [0x201000], eax
    mov [0x201004], edx
    mov dword [rbx + 0x380], 1000           ; TMICT
    sti
wait:
    cmp dword [${COUNTS} + 0x40 * 4], 0
    je wait
    mov ecx, 20000
spin:
    dec ecx
    jnz spin
    mov eax, [rbx + 0x390]                  ; TMCCT after the one-shot: 0
    mov [0x201008], eax
    out 0xf4, al
`), { vendor });
    assert.equal(t.r, U.KVM_EXIT_IO, `exit ${t.r}`);
    assert.equal(u32(t.mem, COUNTS + 0x40 * 4), 1, 'exactly one interrupt');
    const start = u64(t.mem, 0x201000), fired = u64(t.mem, LAST_TSC);
    const delay = fired - start;
    assert.ok(delay >= 2000 && delay < 2020, `TSC at the handler ${delay} cycles after the TMICT write (2 GHz: 1 us = 2000)`);
    assert.equal(u32(t.mem, 0x201008), 0);
  });
}

test('periodic timer: the period is clamped to min_timer_period_us (200 us) and HLT skips virtual time to each tick', () => {
  const t = run(apicGuest(`${ENABLE}
    mov dword [rbx + 0x320], 0x20050        ; LVTT: periodic, vector 0x50
    mov dword [rbx + 0x380], 100            ; TMICT: 100 ns, below KVM's minimum
    sti
again:
    hlt
    cmp dword [${COUNTS} + 0x50 * 4], 3
    jb again
    mov dword [rbx + 0x320], 0x10000        ; mask the timer
    rdtsc
    mov [0x201000], eax
    mov [0x201004], edx
    mov eax, [rbx + 0x390]
    mov [0x201008], eax
    out 0xf4, al
`));
  assert.equal(t.r, U.KVM_EXIT_IO, `exit ${t.r}`);
  assert.equal(u32(t.mem, COUNTS + 0x50 * 4), 3);
  const period = MIN_TIMER_PERIOD_NS * 2; // cycles at 2 GHz
  const tsc = u64(t.mem, 0x201000);
  assert.ok(tsc >= 3 * period && tsc < 3 * period + 2000, `TSC ${tsc} after three periods of ${period} cycles`);
  assert.ok(t.vcpu.cpu.icount < 2000, `only ${t.vcpu.cpu.icount} instructions ran: HLT did not spin`);
  assert.equal(t.vm.clock.idleCycles + t.vcpu.cpu.icount, t.vm.clock.cycles());
  const tmcct = u32(t.mem, 0x201008);
  assert.ok(tmcct > 0 && tmcct <= 200_000, `TMCCT ${tmcct} counts down within the period`);
});

test('TSC-deadline timer: IA32_TSC_DEADLINE fires at the deadline; a deadline in the past fires at once; 0 disarms', () => {
  const t = run(apicGuest(`${ENABLE}
    mov dword [rbx + 0x320], 0x40060        ; LVTT: TSC-deadline, vector 0x60
    rdtsc
    shl rdx, 32
    or rax, rdx
    add rax, 100000
    mov [0x201000], rax
    mov rdx, rax
    shr rdx, 32
    mov ecx, 0x6e0
    wrmsr
    rdmsr                                  ; reads the deadline back
    mov [0x201010], eax
    sti
    hlt
    mov ecx, 0x6e0
    rdmsr                                  ; 0 once fired
    mov [0x201018], eax
    mov eax, 1                             ; a deadline in the past
    xor edx, edx
    wrmsr
    nop
    nop
    out 0xf4, al
`));
  assert.equal(t.r, U.KVM_EXIT_IO, `exit ${t.r}`);
  const deadline = u64(t.mem, 0x201000);
  assert.equal(u32(t.mem, 0x201010), deadline % 2 ** 32, 'RDMSR returns the deadline');
  assert.equal(u32(t.mem, COUNTS + 0x60 * 4), 2, 'the future deadline and the past one');
  assert.equal(u32(t.mem, 0x201018), 0, 'the MSR reads 0 after the timer fired');
});

test('x2APIC: enable through IA32_APIC_BASE, timer and EOI through MSRs 0x8xx, self-IPI', () => {
  const t = run(apicGuest(`
    mov ecx, 0x1b
    rdmsr
    or eax, 0x400                          ; EXTD
    wrmsr
    mov ecx, 0x80f                         ; SPIV
    mov eax, 0x1ff
    xor edx, edx
    wrmsr
    mov ecx, 0x83e                         ; TDCR
    mov eax, 0xb
    wrmsr
    mov ecx, 0x832                         ; LVTT one-shot, vector 0x70
    mov eax, 0x70
    wrmsr
    mov ecx, 0x838                         ; TMICT
    mov eax, 500
    wrmsr
    sti
    hlt
    mov ecx, 0x83f                         ; SELF_IPI vector 0x71
    mov eax, 0x71
    wrmsr
    nop
    mov ecx, 0x802                         ; x2APIC ID
    rdmsr
    mov [0x201000], eax
    mov ecx, 0x80d                         ; LDR
    rdmsr
    mov [0x201004], eax
    out 0xf4, al
`, { x2apic: true }));
  assert.equal(t.r, U.KVM_EXIT_IO, `exit ${t.r}`);
  assert.equal(u32(t.mem, COUNTS + 0x70 * 4), 1);
  assert.equal(u32(t.mem, COUNTS + 0x71 * 4), 1);
  assert.equal(u32(t.mem, 0x201000), 0, 'x2APIC ID = vcpu_id');
  assert.equal(u32(t.mem, 0x201004), 1, 'LDR = cluster 0, bit 0');
  assert.equal(t.vcpu.lapic!.vectors(0x100).length, 0, 'every ISR bit retired by the x2APIC EOI');
});

test('the TSC frequency option sets the virtual time an instruction takes (1 GHz: 1 us = 1000 cycles)', () => {
  const t = run(apicGuest(`${ENABLE}
    mov dword [rbx + 0x320], 0x40
    rdtsc
    mov [0x201000], eax
    mov dword [rbx + 0x380], 1000
    sti
    hlt
    out 0xf4, al
`), { tscKhz: 1_000_000 });
  assert.equal(t.r, U.KVM_EXIT_IO);
  const delay = u64(t.mem, LAST_TSC) - u32(t.mem, 0x201000);
  assert.ok(delay >= 1000 && delay < 1020, `delay ${delay}`);
  assert.equal(t.vm.clock.cyclesToNs(1000), 1000);
});

test('HLT with nothing armed still ends the run (the vCPU blocks)', () => {
  const t = run(apicGuest(`${ENABLE}
    sti
    hlt
    out 0xf4, al
`));
  assert.equal(t.r, -U.EINTR);
  assert.equal(t.vcpu.blocked, true);
  assert.equal(t.vm.clock.idleCycles, 0);
});

test('two runs of the same timer guest give the same interrupts at the same instructions', () => {
  const src = apicGuest(`${ENABLE}
    mov dword [rbx + 0x320], 0x20050
    mov dword [rbx + 0x380], 1
    sti
    xor esi, esi
loop:
    inc rsi
    cmp dword [${COUNTS} + 0x50 * 4], 3
    jb loop
    out 0xf4, al
`);
  const trace = () => {
    const t = longModeGuest('intel', src, { irqchip: true });
    mapApicPages(t.mem);
    const seen: string[] = [];
    t.vm.injectObserver = (v, vec) => seen.push(`${vec}@${v.cpu.icount}`);
    assert.equal(runOnce(t.vcpu, 10_000_000), U.KVM_EXIT_IO);
    assert.equal(ioByte(t.vcpu) >= 0, true);
    return seen;
  };
  const a = trace(), b = trace();
  assert.equal(a.length, 3);
  assert.deepEqual(a, b);
});

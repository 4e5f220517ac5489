// Four vCPUs (set up selftest-style, each in long mode) pass an IPI around a ring for several rounds;
// at every hop the receiver reads kvmclock (its own pvclock page, MSR_KVM_SYSTEM_TIME_NEW) and
// checks it against the last value any vCPU read (lock cmpxchg): kvmclock never goes backwards
// across vCPUs. A VMM-style round-robin drives them; two runs give the same exits at the same
// instructions and the same clock readings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVm, loadAsm } from './helpers';
import { apicGuest, mapApicPages, u32, u64 } from './apic-guest';
import { setupLongMode } from '../../vm-core/vmm/boot';
import { kvm_get_time_scale } from '../../vm-core/kvm/x86/kvmclock';
import * as U from '../../vm-core/kvm/uapi';
import type { KvmVcpu } from '../../vm-core/kvm/vcpu';

const ROUNDS = 5, LAST = 0x201000, WARPS = 0x201008, DONE = 0x20100c, READY = 0x201010, READS = 0x201100;
const SRC = apicGuest(`
    mov r12d, [rbx + 0x20]
    shr r12d, 24                           ; r12: APIC ID
    mov eax, r12d
    shl eax, 12
    add eax, 0x90000
    mov rsp, rax                           ; a stack per vCPU
    mov dword [rbx + 0xf0], 0x1ff
    mov eax, r12d
    shl eax, 6
    add eax, 0x210000
    mov r14, rax                           ; r14: this vCPU's pvclock page
    or eax, 1
    xor edx, edx
    mov ecx, 0x4b564d01                    ; MSR_KVM_SYSTEM_TIME_NEW
    wrmsr
    lock inc dword [${READY}]              ; every APIC enabled before the first IPI
wait_ready:
    pause
    cmp dword [${READY}], 4
    jne wait_ready
    xor r13d, r13d                         ; round
round:
    test r12d, r12d
    jnz wait_turn
    call send_next                         ; vCPU 0 starts each round
wait_turn:
    cli
    mov eax, [0x200000 + (0x50 * 4) + r12 * 4]
    cmp eax, r13d
    ja got
    sti
    hlt
    jmp wait_turn
got:
    sti
    call read_clock
    call check_monotonic
    test r12d, r12d
    jz next_round
    call send_next
next_round:
    inc r13d
    cmp r13d, ${ROUNDS}
    jb round
    lock inc dword [${DONE}]
    test r12d, r12d
    jnz park
wait_all:
    cmp dword [${DONE}], 4
    jne wait_all
    out 0xf4, al
park:
    cli
    hlt
    jmp park

send_next:                                 ; fixed IPI, vector 0x50 + next, to APIC ID next
    mov eax, r12d
    inc eax
    and eax, 3
    mov ecx, eax
    shl ecx, 24
    mov [rbx + 0x310], ecx
    add eax, 0x4050
    mov [rbx + 0x300], eax
    ret

read_clock:                                ; rax = kvmclock ns (pvclock_vcpu_time_info)
    mov r8d, [r14]
    test r8d, 1
    jnz read_clock
    rdtsc
    shl rdx, 32
    or rax, rdx
    sub rax, [r14 + 8]
    movsx ecx, byte [r14 + 28]
    test ecx, ecx
    js .neg
    shl rax, cl
    jmp .mul
.neg:
    neg ecx
    shr rax, cl
.mul:
    mov r9d, [r14 + 24]
    mul r9
    shrd rax, rdx, 32
    add rax, [r14 + 16]
    cmp r8d, [r14]
    jne read_clock
    ret

check_monotonic:                           ; LAST = max(LAST, rax); WARPS++ if rax < LAST
    mov r10, rax
    mov ecx, [${READS}]
    mov [${READS} + 8 + rcx * 8], r10
    inc dword [${READS}]
.cas:
    mov rax, [${LAST}]
    cmp r10, rax
    jb .warp
    lock cmpxchg [${LAST}], r10
    jnz .cas
    ret
.warp:
    lock inc dword [${WARPS}]
    ret
`);

function runRing() {
  const t = createVm('intel', { irqchip: true, vcpus: 4, memSize: 4 << 20 });
  const syms = loadAsm(t.mem, SRC);
  const vcpus = t.vm.vcpus as KvmVcpu[];
  for (const v of vcpus) {
    setupLongMode(v, t.mem, syms.entry);
    assert.equal(v.setMpState({ mp_state: U.KVM_MP_STATE_RUNNABLE }), 0);
  }
  mapApicPages(t.mem);
  const trace: string[] = [];
  t.vm.injectObserver = (v, vec) => trace.push(`irq ${v.vcpu_id}:${vec.toString(16)}@${v.cpu.icount}`);
  let finished = false;
  for (let turn = 0; turn < 2000 && !finished; turn++) {
    const v = vcpus[turn % 4];
    const r = v.run({ maxInsns: 3000 });
    if (r === 0) {
      trace.push(`exit ${v.vcpu_id}:${v.kvm_run.exit_reason}:${v.kvm_run.io.port}@${v.cpu.icount}`);
      assert.equal(v.kvm_run.exit_reason, U.KVM_EXIT_IO);
      if (v.kvm_run.io.port === 0xf4) finished = true;
    }
  }
  assert.ok(finished, `the ring completed: ${trace.slice(0, 30).join(" ")} counts ${[0,1,2,3].map((k) => u32(t.mem, 0x200000 + (0x50 + k) * 4))} done ${u32(t.mem, DONE)} reads ${u32(t.mem, READS)} st ${vcpus.map((v) => v.arch.mp_state + "/" + v.cpu.rip.toString(16) + "/" + v.lapic!.vectors(0x200) + "/" + v.lapic!.vectors(0x100))}`);
  const n = u32(t.mem, READS);
  const reads = Array.from({ length: n }, (_, k) => u64(t.mem, READS + 8 + 8 * k));
  return { t, trace, reads, vcpus };
}

test('4 vCPUs ping IPIs around a ring; kvmclock read at every hop is monotonic across vCPUs; two runs are identical', () => {
  const a = runRing();
  assert.equal(a.reads.length, 4 * ROUNDS);
  assert.equal(u32(a.t.mem, WARPS), 0, 'no kvmclock warp');
  for (let k = 1; k < a.reads.length; k++) assert.ok(a.reads[k] >= a.reads[k - 1], `read ${k} went back`);
  assert.equal(a.trace.filter((s) => s.startsWith('irq')).length, 4 * ROUNDS, 'one IPI per hop');
  // The pvclock pages carry the TSC_STABLE flag and KVM's scale for 2 GHz.
  const dv = new DataView(a.t.mem.buffer);
  assert.equal(dv.getUint8(0x210000 + 64 + 29), 1);
  assert.equal(dv.getUint32(0x210000 + 24, true), kvm_get_time_scale(1e9, 2e9).mul);
  assert.ok(a.reads[a.reads.length - 1] <= a.t.vm.get_kvmclock_ns(), 'guest time never ahead of the VM clock');
  const b = runRing();
  assert.deepEqual(b.trace, a.trace);
  assert.deepEqual(b.reads, a.reads);
  assert.deepEqual(b.vcpus.map((v) => v.cpu.icount), a.vcpus.map((v) => v.cpu.icount));
});

test('kvm_get_time_scale gives KVM\'s shift and multiplier (ns = delta << shift * mul >> 32)', () => {
  assert.deepEqual(kvm_get_time_scale(1e9, 2e9), { shift: 0, mul: 2 ** 31 });
  assert.deepEqual(kvm_get_time_scale(1e9, 1e9), { shift: 1, mul: 2 ** 31 });
  const s = kvm_get_time_scale(1e9, 3_000_000_000);
  const ns = (d: number) => Number(((BigInt(d) << BigInt(Math.max(s.shift, 0))) >> BigInt(Math.max(-s.shift, 0))) * BigInt(s.mul) >> 32n);
  assert.ok(Math.abs(ns(3_000_000_000) - 1e9) <= 1);
});

// Timers are state the recording's snapshots capture: a guest with a periodic x2APIC timer (HLT
// between ticks, so virtual time also jumps) is stopped half-way, snapshotted the way the recording
// does it (object graph from the Machine + each processor + guest memory), run to the end, restored
// and run again: the same ticks at the same instructions, the same output, exit log and clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../vm-core/loader/assemble';
import { Machine } from '../../vm-core/vmm/machine';
import { Cpu } from '../../vm-core/cpu/cpu';
import { PhysBus } from '../../vm-core/cpu/phys';
import { saveCpu, restoreCpu } from '../../vm-core/cpu/snapshot';
import { snapshotGraph, restoreGraph } from '../../vm-core/debug/object-snapshot';

const SRC = `bits 64
org 0x100000
    lidt [rel idtr]
    mov ecx, 0x1b
    rdmsr
    or eax, 0x400
    wrmsr
    xor edx, edx
    mov ecx, 0x80f
    mov eax, 0x1ff
    wrmsr
    mov ecx, 0x83e
    mov eax, 0xb
    wrmsr
    mov ecx, 0x832
    mov eax, 0x20040                       ; periodic, vector 0x40
    wrmsr
    mov ecx, 0x838
    mov eax, 1000
    wrmsr
    sti
idle:
    hlt
    mov ecx, 3000
busy:
    dec ecx
    jnz busy
    cmp dword [ticks], 8
    jb idle
    mov al, [ticks]
    out 0xf4, al
tick:
    push rax
    push rcx
    push rdx
    inc dword [ticks]
    mov al, [ticks]
    add al, 'a'
    out 0xe9, al
    mov ecx, 0x80b
    xor eax, eax
    xor edx, edx
    wrmsr
    pop rdx
    pop rcx
    pop rax
    iretq
ticks: dd 0
idtr: dw 0x40 * 16 + 15
    dq idt
align 16
idt: times 0x40 dq 0, 0
    dw tick & 0xffff, 8, 0x8e00, (tick >> 16) & 0xffff
    dd 0, 0
`;

test('a periodic LAPIC timer rewinds exactly: snapshot half-way, run, restore, run again', () => {
  const r = assemble({ path: '/test/timer.asm', source: SRC });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.line}: ${d.message}`).join('\n'));
  const m = new Machine(r.image, { entry: 'long', memSize: 4 << 20 });
  const ticks: string[] = [];
  m.vm.injectObserver = (v, vec) => ticks.push(`${vec}@${v.cpu.icount}/${m.vm.clock.cycles()}`);
  let s = m.run(9000);
  assert.equal(s.kind, 'slice');
  assert.ok(ticks.length >= 1 && ticks.length < 8, `${ticks.length} ticks before the snapshot`);
  const stop = (o: object) => o instanceof Cpu || o instanceof PhysBus || o === m.image || o === m.mem;
  const graph = snapshotGraph([m], stop), cpu = saveCpu(m.vcpus[0].cpu), mem = m.mem.slice();
  const before = ticks.length;
  s = m.run();
  assert.deepEqual(s, { kind: 'exit-port', code: 8 });
  const first = { ticks: ticks.slice(before), output: m.output, log: m.exitLog.map((e) => `${e.reason}:${e.detail}@${e.rip}`), cycles: m.vm.clock.cycles() };
  assert.ok(m.vm.clock.idleCycles > 0, 'HLT skipped virtual time');
  restoreGraph(graph); restoreCpu(m.vcpus[0].cpu, cpu); m.mem.set(mem); m.vcpus[0].cpu.invalidateAllCode();
  ticks.length = before;
  s = m.run();
  assert.deepEqual(s, { kind: 'exit-port', code: 8 });
  assert.deepEqual({ ticks: ticks.slice(before), output: m.output, log: m.exitLog.map((e) => `${e.reason}:${e.detail}@${e.rip}`), cycles: m.vm.clock.cycles() }, first);
});

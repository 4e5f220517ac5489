// Behaviour of the processor under a hypervisor (VMX non-root / SVM guest mode) that the KVM model
// relies on: VM-entry injection vs the exception bitmap (SDM Vol. 3C 27.6), CR0/CR4 guest/host
// masks (26.3), SVM CR intercepts (APM Vol. 2 15.9), window exits (25.2), the emulator's single
// step (emulateOne), non-throwing exits and translation, and fault atomicity of RMW forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_BUDGET, RUN_EXIT, RUN_HALTED, EXIT_REASON_EXCEPTION_NMI, INTR_TYPE_HARD_EXCEPTION, EXIT_REASON_CPUID,
  EXIT_REASON_IO_INSTRUCTION,
} from '../../../vm-core/cpu';
import { EVT_NONE } from '../../../vm-core/cpu/events';
import { getRflags } from '../../../vm-core/cpu/flags';
import { ACC_WRITE } from '../../../vm-core/cpu/mmu';
import { injectEvent } from '../../../vm-core/cpu/events';
import { CODE, HANDLER, raw } from './raw-idt';


test('VM-entry injection ignores the exception bitmap: an injected #UD is delivered while #UD is intercepted', () => {
  const { cpu, dv } = raw([0x90, 0xf4]);
  cpu.intercepts.exceptionBitmap = 1 << 6;
  injectEvent(cpu, INTR_TYPE_HARD_EXCEPTION, 6);
  assert.equal(cpu.run(100), RUN_HALTED);
  assert.equal(dv.getUint32(0x600, true), CODE, 'the handler ran with the saved RIP at the first instruction');
  assert.equal(dv.getUint8(0x6ff), 1);
  // A #UD the guest raises itself still exits.
  const r = raw([0x0f, 0x0b]);
  r.cpu.intercepts.exceptionBitmap = 1 << 6;
  assert.equal(r.cpu.run(100), RUN_EXIT);
  assert.equal(r.cpu.exit.reason, EXIT_REASON_EXCEPTION_NMI);
  assert.equal(r.cpu.exit.intrInfo & 0xff, 6);
});

test('emulateOne stops after a fault: the exception is delivered (bitmap ignored, CR2 written), the handler does not run', () => {
  const { cpu, dv } = raw([0x0f, 0x0b, 0xf4]); // ud2
  cpu.intercepts.exceptionBitmap = 1 << 6;
  const ic = cpu.icount;
  assert.equal(cpu.emulateOne(null), RUN_BUDGET);
  assert.equal(cpu.rip, HANDLER, 'at the handler, not past its first instruction');
  assert.equal(cpu.evType, EVT_NONE);
  assert.equal(dv.getUint8(0x6ff), 0);
  assert.equal(cpu.icount, ic, 'the faulting instruction did not retire');
  assert.equal(cpu.run(100), RUN_HALTED);
  assert.equal(dv.getUint32(0x600, true), CODE, 'the saved RIP is the faulting instruction');
  // #PF: CR2 holds the address when the emulator delivers it.
  const p = raw([0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40]); // mov eax, [0x40000000] (not mapped)
  p.cpu.intercepts.exceptionBitmap = 1 << 14;
  assert.equal(p.cpu.emulateOne(null), RUN_BUDGET);
  assert.equal(p.cpu.rip, HANDLER);
  assert.equal(p.cpu.cr2, 0x40000000);
  assert.equal(p.dv.getUint32(0x80000 - 48, true), 0, '#PF error code: not present, read, supervisor');
  // An instruction that completes: one instruction, nothing else.
  const n = raw([0x90, 0x90]);
  assert.equal(n.cpu.emulateOne(null), RUN_BUDGET);
  assert.equal(n.cpu.rip, CODE + 1);
});

test('tryTranslate: -1 with the #PF address and error code, nothing raised', () => {
  const { cpu } = raw([0x90]);
  assert.equal(cpu.tryTranslate(0x123456, 0), 0x123456);
  assert.equal(cpu.tryTranslate(0x40000123, ACC_WRITE), -1);
  assert.equal(cpu.pfAddr, 0x40000123);
  assert.equal(cpu.pfError, 2, 'not present, write, supervisor');
  assert.equal(cpu.evType, EVT_NONE, 'no exception is pending');
  assert.throws(() => cpu.translate(0x40000000, 0), 'translate() raises the #PF');
});

test('intercepted instructions exit without retiring, in the fast loop and the slow path', () => {
  for (const slowPath of [false, true]) {
    const { cpu } = raw([0x90, 0x0f, 0xa2, 0xe6, 0x10, 0xf4]); // nop; cpuid; out 0x10, al; hlt
    cpu.intercepts.cpuid = true; cpu.intercepts.io = true;
    if (slowPath) cpu.beforeInsn = () => false;
    cpu.slow = false;
    const ic = cpu.icount;
    assert.equal(cpu.run(100), RUN_EXIT);
    assert.equal(cpu.exit.reason, EXIT_REASON_CPUID);
    assert.equal(cpu.exit.instrLen, 2);
    assert.equal(cpu.rip, CODE + 1, 'RIP at the CPUID');
    assert.equal(cpu.icount - ic, 1, 'only the NOP retired');
    cpu.rip += 2; // the hypervisor skips it
    assert.equal(cpu.run(100), RUN_EXIT);
    assert.equal(cpu.exit.reason, EXIT_REASON_IO_INSTRUCTION);
    assert.equal(cpu.exit.port, 0x10);
    assert.equal(cpu.rip, CODE + 3);
    assert.equal(cpu.icount - ic, 1);
  }
});

// CR0: PE ET NE WP PG in hardware; the guest believes CD NW (and no NE): VMX hw_cr0 vs the read shadow.
const CR0_HW = 0x80010031, CR0_GUEST = 0xe0010011, CR0_TS = 8, CR0_WP = 1 << 16;
function crGuest(code: number[]) {
  const r = raw(code);
  r.cpu.cr0 = CR0_HW | 0;
  r.cpu.intercepts.cr0Mask = ~(CR0_TS | CR0_WP);
  r.cpu.intercepts.cr0Shadow = CR0_GUEST | 0;
  r.cpu.updateMode();
  return r;
}

test('MOV to CR0 without an exit changes only guest-owned bits; the guest reads the shadow for host-owned ones', () => {
  // mov rax, cr0; or eax, 8; mov cr0, rax; mov rbx, cr0; hlt
  const { cpu } = crGuest([0x0f, 0x20, 0xc0, 0x83, 0xc8, 0x08, 0x0f, 0x22, 0xc0, 0x0f, 0x20, 0xc3, 0xf4]);
  assert.equal(cpu.run(100), RUN_HALTED, 'no exit: only TS changed, and TS is guest-owned');
  assert.equal(cpu.cr0 >>> 0, (CR0_HW | CR0_TS) >>> 0, 'CD/NW stay clear and NE stays set in the processor');
  assert.equal(cpu.R[6] >>> 0, (CR0_GUEST | CR0_TS) >>> 0, 'MOV from CR0 returns the shadow for host-owned bits');
  assert.equal(cpu.R[7], 0, 'zero-extended');
});

test('MOV to CR4 without an exit keeps host-owned bits (VMXE, MCE)', () => {
  // mov rax, cr4; or eax, 0x80 (PGE); mov cr4, rax; hlt
  const { cpu } = raw([0x0f, 0x20, 0xe0, 0x0d, 0x80, 0x00, 0x00, 0x00, 0x0f, 0x22, 0xe0, 0xf4]);
  cpu.cr4 = 0x20 | 0x40 | 0x2000; // PAE | MCE | VMXE
  cpu.intercepts.cr4Mask = ~0x80;
  cpu.intercepts.cr4Shadow = 0x20;
  assert.equal(cpu.run(100), RUN_HALTED);
  assert.equal(cpu.cr4, 0x20 | 0x40 | 0x2000 | 0x80);
  assert.equal(cpu.R[0], 0x20 | 0x80, 'the guest saw PAE only, then set PGE');
});

test('CLTS and LMSW without an exit leave host-owned CR0 bits alone', () => {
  const { cpu } = crGuest([0x0f, 0x06, 0xb8, 0x07, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xf0, 0xf4]); // clts; mov eax, 7; lmsw ax; hlt
  cpu.cr0 = (CR0_HW | CR0_TS) | 0;
  cpu.intercepts.cr0Mask = ~(CR0_WP | 2 | 4) | 0; // TS host-owned, MP and EM guest-owned
  cpu.intercepts.cr0Shadow = (CR0_GUEST | 1) | 0; // shadow TS = 0: CLTS does not exit
  assert.equal(cpu.run(100), RUN_HALTED);
  assert.equal(cpu.cr0 & CR0_TS, CR0_TS, 'TS is host-owned: CLTS did not clear it, LMSW did not touch it');
  assert.equal(cpu.cr0 & 6, 6, 'LMSW set the guest-owned MP and EM');
});

test('SVM CR intercepts: unconditional read/write per CR, CR0 selective write, CLTS as a CR0 write', () => {
  const x = (code: number[], setup: (c: ReturnType<typeof raw>['cpu']) => void) => {
    const r = raw(code);
    setup(r.cpu);
    return { r: r.cpu.run(100), cpu: r.cpu };
  };
  // mov cr0, rax with the same value: exits under the CR0 write intercept.
  let t = x([0x0f, 0x20, 0xc0, 0x0f, 0x22, 0xc0, 0xf4], (c) => { c.intercepts.crWrite = 1; });
  assert.equal(t.r, RUN_EXIT);
  assert.equal(t.cpu.exit.qual, 0 | (0 << 4) | (0 << 8), 'MOV to CR0 from RAX');
  assert.equal(t.cpu.rip, CODE + 3);
  // mov rbx, cr4: exits under the CR4 read intercept.
  t = x([0x0f, 0x20, 0xe3, 0xf4], (c) => { c.intercepts.crRead = 1 << 4; });
  assert.equal(t.r, RUN_EXIT);
  assert.equal(t.cpu.exit.qual, 4 | (1 << 4) | (3 << 8));
  // Selective write: TS only -> no exit; EM -> exit.
  t = x([0x0f, 0x20, 0xc0, 0x83, 0xc8, 0x08, 0x0f, 0x22, 0xc0, 0xf4], (c) => { c.intercepts.cr0SelectiveWrite = true; });
  assert.equal(t.r, RUN_HALTED);
  assert.equal(t.cpu.cr0 & CR0_TS, CR0_TS);
  t = x([0x0f, 0x20, 0xc0, 0x83, 0xc8, 0x04, 0x0f, 0x22, 0xc0, 0xf4], (c) => { c.intercepts.cr0SelectiveWrite = true; });
  assert.equal(t.r, RUN_EXIT);
  assert.equal(t.cpu.exit.qual & 0x3f, 0);
  // CLTS: a CR0 write (intercepted), not a selective one.
  t = x([0x0f, 0x06, 0xf4], (c) => { c.intercepts.crWrite = 1; });
  assert.equal(t.r, RUN_EXIT);
  assert.equal((t.cpu.exit.qual >> 4) & 3, 2);
  t = x([0x0f, 0x06, 0xf4], (c) => { c.intercepts.cr0SelectiveWrite = true; c.cr0 |= CR0_TS; });
  assert.equal(t.r, RUN_HALTED);
  assert.equal(t.cpu.cr0 & CR0_TS, 0);
});

test('read-modify-write ALU and INC/DEC/NEG on a read-only page: the #PF leaves RFLAGS unchanged', () => {
  const forms: [string, number[]][] = [
    ['adc dword [m], 1', [0x83, 0x14, 0x25, 0x00, 0x00, 0x20, 0x00, 0x01]],
    ['add byte [m], 1', [0x80, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0x01]],
    ['sbb qword [m], rax', [0x48, 0x19, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00]],
    ['inc dword [m]', [0xff, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00]],
    ['dec qword [m]', [0x48, 0xff, 0x0c, 0x25, 0x00, 0x00, 0x20, 0x00]],
    ['neg word [m]', [0x66, 0xf7, 0x1c, 0x25, 0x00, 0x00, 0x20, 0x00]],
  ];
  for (const [name, insn] of forms) {
    const { cpu, dv } = raw([0x39, 0xc0, 0xf9, ...insn]); // cmp eax, eax (ZF=1, PF=1); stc; <insn>
    dv.setUint32(0x3000 + 8, 0x200000 | 0x81, true); // 2 MiB page at 0x200000: present, read-only
    cpu.cr0 |= 1 << 16; // CR0.WP
    cpu.intercepts.exceptionBitmap = 1 << 14;
    assert.equal(cpu.run(100), RUN_EXIT, name);
    assert.equal(cpu.exit.intrInfo & 0xff, 14, name);
    assert.equal(getRflags(cpu) & 0x8d5, 0x45, `${name}: CF ZF PF as before the instruction`);
    assert.equal(dv.getUint32(0x200000, true), 0, name);
  }
});

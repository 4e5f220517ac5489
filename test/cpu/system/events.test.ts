// Event mechanisms (SDM Vol. 3A 6.8.3 interrupt shadows, 6.7.1 NMI blocking, 17.3 debug
// exceptions, 6.15 #AC; Vol. 3C 25.2 interrupt-window exiting, 26.6 event injection, 27.2.4
// IDT-vectoring information, notify VM exits) on guests and on raw code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, excLog, haveNasm, machine, Machine, NO_NASM, q, RES, runToHalt } from '../guests/guest';
import { RUN_BUDGET, RUN_EXIT, RUN_HALTED, EXIT_REASON_INTERRUPT_WINDOW, EXIT_REASON_EXCEPTION_NMI, EXIT_REASON_NOTIFY, EXIT_REASON_TRIPLE_FAULT,
  HW_UNEMULATED, INTR_TYPE_EXT_INTR, INTR_TYPE_SOFT_INTR, INTR_TYPE_HARD_EXCEPTION } from '../../../vm-core/cpu';
import { raiseInterrupt, raiseNmi, injectEvent, interruptWindowOpen, nmiWindowOpen, NOTIFY_INTERNAL_THRESHOLD } from '../../../vm-core/cpu/events';
import { bareCpu, load } from '../helpers';
import { CODE, raw } from './raw-idt';
import { IF, VM } from '../../../vm-core/cpu/state';
import { setRflagsRaw } from '../raw';

const skip = !haveNasm() && NO_NASM;
const CNT = RES + 0x100;

function find(m: Machine, bytes: number[]): number {
  for (let a = 0x8000; a < 0x9000; a++) if (bytes.every((b, k) => m.mem[a + k] === b)) return a;
  throw new Error('pattern not found');
}
function guest(c: number): Machine { return machine(assemble('events.asm', { CASE: c })); }

test('STI shadow: an interrupt waits until after the instruction following STI', { skip }, () => {
  const m = guest(1);
  const sti = find(m, [0xfb, 0x90, 0x90, 0xf4]);
  m.cpu.beforeInsn = (c) => { if (c.rip === sti) raiseInterrupt(c, 0x40); return false; };
  assert.equal(runToHalt(m), RUN_HALTED);
  assert.equal(q(m, CNT), 1n);
  assert.equal(q(m, RES), BigInt(sti + 2), 'delivered before the second NOP');
});

test('MOV SS shadow: an interrupt waits one instruction', { skip }, () => {
  const m = guest(2);
  const movss = find(m, [0x8e, 0xd0, 0x90, 0x90, 0xf4]);
  m.cpu.beforeInsn = (c) => { if (c.rip === movss) raiseInterrupt(c, 0x40); return false; };
  assert.equal(runToHalt(m), RUN_HALTED);
  assert.equal(q(m, RES), BigInt(movss + 3), 'delivered after MOV SS and one NOP');
});

test('NMI blocking: a second NMI waits for IRETQ', { skip }, () => {
  const m = guest(3);
  let raised = 0, pendingAtIret = false;
  const hltAt = find(m, [0xf4, 0xf4]);
  const nmiNops = find(m, [0x90, 0x90, 0x48, 0xcf]);
  m.cpu.beforeInsn = (c) => {
    if (c.rip === hltAt && raised === 0) { raiseNmi(c); raised = 1; }
    if (c.rip === nmiNops && raised === 1) { raiseNmi(c); raised = 2; assert.equal(c.nmiBlocked, true); }
    if (c.rip === nmiNops + 2 && raised === 2) { pendingAtIret = c.nmiLine && !nmiWindowOpen(c); raised = 3; }
    return false;
  };
  assert.equal(runToHalt(m), RUN_HALTED);
  assert.equal(pendingAtIret, true, 'still pending (blocked) at IRETQ');
  assert.equal(q(m, CNT), 2n, 'delivered again after IRETQ unblocked NMIs');
  assert.equal(q(m, RES), BigInt(hltAt + 1));
  assert.equal(q(m, RES + 8), BigInt(hltAt + 1));
});

test('RFLAGS.TF: single-step traps after each instruction once POPF set TF', { skip }, () => {
  const m = guest(4);
  assert.equal(runToHalt(m), RUN_HALTED);
  const at = find(m, [0x9d, 0x90, 0x90, 0xf4]);
  assert.deepEqual([q(m, RES), q(m, RES + 8), q(m, RES + 16)], [BigInt(at + 2), BigInt(at + 3), BigInt(at + 4)]);
  assert.equal(q(m, RES + 0x40) & 0x4000n, 0x4000n, 'DR6.BS');
});

test('DR0 instruction breakpoint (fault, RF resumes) and DR1 data-write breakpoint (trap)', { skip }, () => {
  const m = guest(5);
  assert.equal(runToHalt(m), RUN_HALTED);
  const bp = find(m, [0xc7, 0x04, 0x25, 0x80, 0x06, 0x00, 0x00, 0x01]);
  assert.equal(q(m, CNT), 2n, 'the read does not match a write breakpoint');
  assert.equal(q(m, RES), BigInt(bp), 'instruction breakpoint: RIP of the instruction');
  assert.equal(q(m, RES + 0x40) & 0xfn, 1n, 'DR6.B0');
  assert.equal(q(m, RES + 8), BigInt(bp + 11), 'data breakpoint: RIP after the write');
  assert.equal(q(m, RES + 0x48) & 0xfn, 2n, 'DR6.B1');
  assert.equal(m.dv.getUint32(RES + 0x80, true), 1, 'the write happened');
});

test('#AC(0) at CPL 3 with CR0.AM and RFLAGS.AC', { skip }, () => {
  const m = guest(6);
  assert.equal(runToHalt(m), RUN_HALTED);
  assert.deepEqual(excLog(m).map((r) => [r.vector, r.error]), [[17, 0]]);
});

// ---------------------------------------------------------------- the hypervisor's interface, on raw code


test('interrupt-window exit after STI + one instruction; window queries', () => {
  const { cpu } = raw([0xfa, 0x90, 0xfb, 0x90, 0x90, 0xf4]); // cli; nop; sti; nop; nop; hlt
  setRflagsRaw(cpu, 0x202);
  cpu.intercepts.interruptWindow = true;
  cpu.slow = true;
  // IF=1 at the start: the window is open before CLI.
  assert.equal(cpu.run(100), RUN_EXIT);
  assert.equal(cpu.exit.reason, EXIT_REASON_INTERRUPT_WINDOW);
  assert.equal(cpu.rip, CODE);
  assert.equal(interruptWindowOpen(cpu), true);
  cpu.intercepts.interruptWindow = false;
  assert.equal(cpu.run(1), RUN_BUDGET); // CLI
  assert.equal(interruptWindowOpen(cpu), false);
  cpu.intercepts.interruptWindow = true; cpu.slow = true;
  assert.equal(cpu.run(100), RUN_EXIT);
  assert.equal(cpu.rip, CODE + 4, 'the window opens only after the instruction following STI');
  assert.equal(nmiWindowOpen(cpu), true);
});

test('injectEvent: external interrupt, software interrupt with instruction length, #PF keeps CR2', () => {
  let { cpu, dv } = raw([0x90, 0x90, 0xf4]);
  injectEvent(cpu, INTR_TYPE_EXT_INTR, 0x41);
  assert.equal(cpu.run(100), RUN_HALTED);
  assert.equal(dv.getUint32(0x600, true), CODE, 'delivered before the first instruction (IF=0 does not matter)');
  ({ cpu, dv } = raw([0xcd, 0x41, 0xf4]));
  injectEvent(cpu, INTR_TYPE_SOFT_INTR, 0x41, -1, 2);
  assert.equal(cpu.run(100), RUN_HALTED);
  assert.equal(dv.getUint32(0x600, true), CODE + 2, 'the saved RIP is past the instruction');
  ({ cpu, dv } = raw([0x90, 0xf4]));
  cpu.cr2 = 0x1234;
  cpu.intercepts.exceptionBitmap = 1 << 14;
  injectEvent(cpu, INTR_TYPE_HARD_EXCEPTION, 14, 2);
  assert.equal(cpu.run(100), RUN_HALTED, 'injected events do not consult the exception bitmap');
  assert.equal(cpu.cr2, 0x1234);
  assert.equal(dv.getUint32(0x80000 - 48, true), 2, 'the error code is pushed below SS, RSP, RFLAGS, CS, RIP');
});

test('IDT-vectoring information: #PF intercepted while delivering INT n', () => {
  const { cpu } = raw([0xcd, 0x41, 0xf4]);
  cpu.R[8] = 0; cpu.R[9] = 0x10; // RSP = 0x10_0000_0000: not mapped, so pushing the frame faults
  cpu.intercepts.exceptionBitmap = 1 << 14;
  assert.equal(cpu.run(100), RUN_EXIT);
  const e = cpu.exit;
  assert.equal(e.reason, EXIT_REASON_EXCEPTION_NMI);
  assert.equal(e.intrInfo & 0x7ff, 14 | (INTR_TYPE_HARD_EXCEPTION << 8));
  assert.equal(e.idtVectoringInfo >>> 0, (0x80000000 | (INTR_TYPE_SOFT_INTR << 8) | 0x41) >>> 0);
  assert.equal(cpu.rip, CODE, 'RIP at the INT instruction');
});

test('notify exit: a short chain (ext int -> #GP -> #DF -> triple fault) stays under the internal threshold', () => {
  // With IDTR.limit = 0 every delivery attempt faults: three attempts, one unit each, never an
  // instruction boundary; even window 0 tolerates that (NOTIFY_INTERNAL_THRESHOLD), so the chain
  // ends as a triple fault. Endless chains are in test/kvm/notify_vmexit.test.ts.
  const { cpu } = raw([0x90, 0xf4]);
  cpu.idtr.limit = 0;
  cpu.intercepts.tripleFault = true;
  cpu.intercepts.notify = true;
  cpu.intercepts.notifyWindow = 0;
  injectEvent(cpu, INTR_TYPE_EXT_INTR, 0x20);
  assert.equal(cpu.run(100), RUN_EXIT);
  assert.equal(cpu.exit.reason, EXIT_REASON_TRIPLE_FAULT);
  assert.equal(cpu.noBoundaryCount, 3);
});

test('notify exit: past the window, at the start of a delivery (context valid, the event in IDT-vectoring)', () => {
  const { cpu } = raw([0x90, 0xf4]);
  cpu.idtr.limit = 0;
  cpu.intercepts.tripleFault = true;
  cpu.intercepts.notify = true;
  cpu.intercepts.notifyWindow = 0;
  cpu.noBoundaryCount = NOTIFY_INTERNAL_THRESHOLD; // as if a chain had been running
  injectEvent(cpu, INTR_TYPE_EXT_INTR, 0x20);
  assert.equal(cpu.run(100), RUN_EXIT);
  assert.equal(cpu.exit.reason, EXIT_REASON_NOTIFY);
  assert.equal(cpu.exit.qual, 0, 'VM context valid');
  assert.equal(cpu.exit.idtVectoringInfo >>> 0, (0x80000000 | (INTR_TYPE_EXT_INTR << 8) | 0x20) >>> 0);
});

test('entering virtual-8086 mode stops with a clear not-emulated report', () => {
  // IRETD at CPL 0 with VM=1 in the popped EFLAGS (32-bit protected mode).
  const { cpu, mem } = bareCpu();
  const dv = new DataView(mem.buffer);
  dv.setBigUint64(0x7008, 0x00cf9b000000ffffn, true);
  dv.setBigUint64(0x7010, 0x00cf93000000ffffn, true);
  cpu.gdtr.base = 0x7000; cpu.gdtr.limit = 0x17;
  cpu.cr0 = 0x11;
  for (const s of [0, 1, 2, 3, 4, 5]) { const g = cpu.seg[s]; g.selector = s === 1 ? 8 : 0x10; g.base = 0; g.limit = 0xffffffff; g.ar = s === 1 ? 0xc09b : 0xc093; }
  cpu.rip = 0x1000; cpu.R[8] = 0x8000;
  [0x1000, 0, VM | 2, 0, 0, 0, 0, 0, 0].forEach((v, k) => dv.setUint32(0x8000 + 4 * k, v, true));
  load(mem, 0x1000, [0xcf]);
  cpu.updateMode();
  assert.equal(cpu.run(10), RUN_EXIT);
  assert.equal(cpu.exit.reason, HW_UNEMULATED);
  assert.match(cpu.exit.message, /virtual-8086/);
  void IF;
});

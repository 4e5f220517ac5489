// Behaviour of the processor under a hypervisor (VMX non-root / SVM guest mode) that the KVM model
// relies on: VM-entry injection vs the exception bitmap (SDM Vol. 3C 27.6), CR0/CR4 guest/host
// masks (26.3), SVM CR intercepts (APM Vol. 2 15.9), window exits (25.2), the emulator's single
// step (emulateOne), non-throwing exits and translation, and fault atomicity of RMW forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_BUDGET, RUN_EXIT, RUN_HALTED, EXIT_REASON_EXCEPTION_NMI, INTR_TYPE_HARD_EXCEPTION,
} from '../../../vm-core/cpu';
import { injectEvent } from '../../../vm-core/cpu/events';
import { bareCpu, longMode, load } from '../helpers';

const CODE = 0x10000, IDTB = 0x30000, HANDLER = 0x20000;
/** Long mode; every IDT vector points at HANDLER, which records the saved RIP at 0x600 and the vector count at 0x6ff. */
function raw(code: number[]) {
  const { cpu, mem } = bareCpu(4 << 20);
  longMode(cpu, mem, CODE);
  const dv = new DataView(mem.buffer);
  for (let v = 0; v < 256; v++) {
    const a = IDTB + v * 16;
    dv.setUint16(a, HANDLER & 0xffff, true); dv.setUint16(a + 2, 8, true); dv.setUint16(a + 4, 0x8e00, true);
    dv.setUint16(a + 6, HANDLER >>> 16, true);
  }
  dv.setBigUint64(0x7000 + 8, 0x00af9b000000ffffn, true);
  cpu.gdtr.base = 0x7000; cpu.gdtr.limit = 0x17;
  cpu.idtr.base = IDTB; cpu.idtr.limit = 0xfff;
  // handler: mov rax,[rsp]; mov [0x600], rax; inc byte [0x6ff]; hlt
  load(mem, HANDLER, [0x48, 0x8b, 0x04, 0x24, 0x48, 0x89, 0x04, 0x25, 0x00, 0x06, 0x00, 0x00, 0xfe, 0x04, 0x25, 0xff, 0x06, 0x00, 0x00, 0xf4]);
  load(mem, CODE, code);
  cpu.R[8] = 0x80000;
  return { cpu, mem, dv };
}

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
  void RUN_BUDGET;
});

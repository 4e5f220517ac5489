// Shared by the events and non-root tests: raw 64-bit code with an IDT whose every vector leads to
// one recording handler.
import { bareCpu, longMode, load } from '../helpers';

export const CODE = 0x10000, IDTB = 0x30000, HANDLER = 0x20000;

/** Long mode; every IDT vector points at HANDLER, which records the saved RIP at 0x600 and counts deliveries at 0x6ff. */
export function raw(code: number[]) {
  const { cpu, mem } = bareCpu(4 << 20);
  longMode(cpu, mem, CODE);
  const dv = new DataView(mem.buffer);
  for (let v = 0; v < 256; v++) {
    const a = IDTB + v * 16;
    dv.setUint16(a, HANDLER & 0xffff, true); dv.setUint16(a + 2, 8, true); dv.setUint16(a + 4, 0x8e00, true);
    dv.setUint16(a + 6, HANDLER >>> 16, true);
  }
  // GDT for the handler's CS (0x08 = 64-bit code).
  dv.setBigUint64(0x7000 + 8, 0x00af9b000000ffffn, true);
  cpu.gdtr.base = 0x7000; cpu.gdtr.limit = 0x17;
  cpu.idtr.base = IDTB; cpu.idtr.limit = 0xfff;
  // handler: mov rax,[rsp]; mov [0x600], rax; inc byte [0x6ff]; hlt
  load(mem, HANDLER, [0x48, 0x8b, 0x04, 0x24, 0x48, 0x89, 0x04, 0x25, 0x00, 0x06, 0x00, 0x00, 0xfe, 0x04, 0x25, 0xff, 0x06, 0x00, 0x00, 0xf4]);
  load(mem, CODE, code);
  cpu.R[8] = 0x80000;
  return { cpu, mem, dv };
}

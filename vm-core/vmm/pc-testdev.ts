// QEMU's pc-testdev (hw/misc/pc-testdev.c), the device kvm-unit-tests' x86 tests drive: a 32-bit
// scratch register at 0xE0-0xE3 (any access width, lane = port & 3; QEMU's byte-access region
// overlays the same ports), the flush-page port 0xE4 (0xE9 stays the debug port), the ISA IRQ line control at 0x2000 + n (a byte write sets line n to
// value != 0), and the 64 KiB IORAM window at 0xFF000000 (MMIO, so every access goes through KVM's
// instruction emulator, KVM_EXIT_MMIO).
import type { MmioDevice, PortDevice } from './port-bus';

export const TESTDEV_IOPORT = 0xe0, TESTDEV_FLUSHPAGE = 0xe4,
  TESTDEV_IRQ = 0x2000, TESTDEV_IRQ_COUNT = 24, TESTDEV_IORAM = 0xff000000, TESTDEV_IORAM_LEN = 0x10000;

export class PcTestdev implements PortDevice, MmioDevice {
  readonly mmioBase = TESTDEV_IORAM;
  readonly mmioSize = TESTDEV_IORAM_LEN;
  /** test_ioport_read/write's ioport_data. */
  ioportData = 0;
  readonly ioram = new Uint8Array(TESTDEV_IORAM_LEN);
  /** Pages the guest asked to flush (0xE4), last first; QEMU mprotects them so KVM refaults them. */
  flushes = 0;
  lastFlush = 0;

  /** `setIrq(line, level)` drives ISA IRQ lines (the machine wires it to the irqchip). */
  constructor(private readonly setIrq: (line: number, level: number) => void) {}

  portRead(port: number, size: number): number {
    if (port === TESTDEV_FLUSHPAGE) return 0;
    if (port >= TESTDEV_IOPORT && port < TESTDEV_IOPORT + 4) {
      const shift = (port & 3) * 8;
      const mask = size >= 4 ? 0xffffffff : ((1 << (8 * size)) - 1);
      return ((this.ioportData >>> shift) & mask) >>> 0;
    }
    return 0;
  }

  portWrite(port: number, size: number, val: number): void {
    if (port >= TESTDEV_IRQ && port < TESTDEV_IRQ + TESTDEV_IRQ_COUNT) { if (size === 1) this.setIrq(port - TESTDEV_IRQ, val & 0xff ? 1 : 0); return; }
    if (port === TESTDEV_FLUSHPAGE) { this.flushes++; this.lastFlush = val >>> 0; return; }
    const shift = (port & 3) * 8;
    const bits = Math.min(size * 8, 32);
    const mask = ((0xffffffff >>> (32 - bits)) << shift) >>> 0;
    this.ioportData = ((this.ioportData & ~mask) | ((val << shift) & mask)) >>> 0;
  }

  mmioRead(gpa: number, data: Uint8Array): void {
    const off = gpa - TESTDEV_IORAM;
    for (let i = 0; i < data.length; i++) data[i] = off + i < TESTDEV_IORAM_LEN ? this.ioram[off + i] : 0xff;
  }

  mmioWrite(gpa: number, data: Uint8Array): void {
    const off = gpa - TESTDEV_IORAM;
    for (let i = 0; i < data.length; i++) if (off + i < TESTDEV_IORAM_LEN) this.ioram[off + i] = data[i];
  }
}

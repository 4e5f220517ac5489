// The PC's ways to request a system reset, as QEMU models them: port 0x92 (System Control Port A:
// bit 0 fast reset on a 0->1 edge, bit 1 A20 gate; hw/i386/port92.c), the PIIX reset control register
// 0xCF9 (bit 2 RST_CPU starts the reset, bit 1 SYS_RST is kept; hw/isa/piix.c rcr_write) and the
// i8042 controller's pulse-reset command 0xFE written to 0x64 (hw/input/pckbd.c). Each calls
// `requestReset`, which the machine turns into a RESET of the VM (or the end of the run).
import type { PortDevice } from './port-bus';

export const PORT92 = 0x92, PIIX_RCR = 0xcf9, I8042_DATA = 0x60, I8042_CMD = 0x64;
/** i8042 commands (pckbd.c). */
const KBD_CCMD_RESET = 0xfe, KBD_CCMD_READ_MODE = 0x20, KBD_CCMD_WRITE_MODE = 0x60;
/** i8042 status: system flag (POST passed). */
const KBD_STAT_SELFTEST = 0x04;

export class SystemReset implements PortDevice {
  port92 = 0;
  rcr = 0;
  private i8042Mode = 0x61;
  private i8042Pending = -1;
  private i8042Out = -1;

  constructor(private readonly requestReset: (source: string) => void) {}

  /** Port 0x92 bit 1: whether A20 is enabled (the VMM's memory does not wrap at 1 MiB either way). */
  get a20(): boolean { return (this.port92 & 2) !== 0; }

  portRead(port: number): number {
    switch (port) {
      case PORT92: return this.port92;
      case PIIX_RCR: return this.rcr;
      case I8042_CMD: return KBD_STAT_SELFTEST | (this.i8042Out >= 0 ? 1 : 0);
      case I8042_DATA: { const v = this.i8042Out; this.i8042Out = -1; return v >= 0 ? v : 0; }
    }
    return 0xff;
  }

  portWrite(port: number, _size: number, val: number): void {
    val &= 0xff;
    switch (port) {
      case PORT92: {
        const edge = (val & 1) && !(this.port92 & 1);
        this.port92 = val & ~1;
        if (edge) this.requestReset('port 0x92 bit 0');
        return;
      }
      case PIIX_RCR:
        this.rcr = val & 2;
        if (val & 4) this.requestReset('0xCF9 RST_CPU');
        return;
      case I8042_CMD:
        if (val === KBD_CCMD_RESET) this.requestReset('i8042 pulse reset (0xFE to port 0x64)');
        else if (val === KBD_CCMD_READ_MODE) this.i8042Out = this.i8042Mode;
        else if (val === KBD_CCMD_WRITE_MODE) this.i8042Pending = val;
        return;
      case I8042_DATA:
        if (this.i8042Pending === KBD_CCMD_WRITE_MODE) this.i8042Mode = val;
        this.i8042Pending = -1;
        return;
    }
  }
}

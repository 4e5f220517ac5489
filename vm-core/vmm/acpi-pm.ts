// The ACPI PM I/O block of the PIIX4 (hw/acpi/piix4.c, hw/acpi/core.c; ACPI 6.5 §4.8): PM1a event
// status/enable at 0xB000 (status bits write-1-to-clear), PM1a control at 0xB004, the 24-bit PM
// timer at 0xB008 counting at 3.579545 MHz on virtual time (§4.8.3.3), GPE0 status/enable at 0xAFE0.
import type { PortDevice } from './port-bus';
import { ACPI_GPE0, ACPI_PM1A_CNT, ACPI_PM1A_EVT, ACPI_PM_TMR } from './acpi';

/** ACPI §4.8.3.3: PM_TMR frequency. */
export const PM_TIMER_FREQUENCY = 3579545;
/** PM1_CNT: SCI_EN (b0), SLP_TYP (b12:10), SLP_EN (b13, write-only). */
const SCI_EN = 1, SLP_EN = 1 << 13;

export class AcpiPm implements PortDevice {
  pm1Status = 0;
  pm1Enable = 0;
  pm1Control = SCI_EN;
  readonly gpe0 = new Uint8Array(4);

  /** `nowNs()` is the virtual time; `sleep(type)` is called when the guest sets SLP_EN. */
  constructor(private readonly nowNs: () => number, private readonly sleep: (slpTyp: number) => void) {}

  /** The PM timer's 24-bit count at the current virtual time. */
  timer(): number { return Math.floor((this.nowNs() * PM_TIMER_FREQUENCY) / 1e9) & 0xffffff; }

  portRead(port: number, size: number): number {
    if (port >= ACPI_PM_TMR && port < ACPI_PM_TMR + 4) return (this.timer() >>> (8 * (port - ACPI_PM_TMR))) & (size >= 4 ? 0xffffffff : (1 << (8 * size)) - 1);
    if (port >= ACPI_PM1A_EVT && port < ACPI_PM1A_EVT + 4) {
      const reg = this.pm1Status | (this.pm1Enable << 16);
      return (reg >>> (8 * (port - ACPI_PM1A_EVT))) & (size >= 4 ? 0xffffffff : (1 << (8 * size)) - 1);
    }
    if (port >= ACPI_PM1A_CNT && port < ACPI_PM1A_CNT + 2) return (this.pm1Control >>> (8 * (port - ACPI_PM1A_CNT))) & (size >= 2 ? 0xffff : 0xff);
    if (port >= ACPI_GPE0 && port < ACPI_GPE0 + 4) {
      let v = 0;
      for (let i = 0; i < size && port - ACPI_GPE0 + i < 4; i++) v |= this.gpe0[port - ACPI_GPE0 + i] << (8 * i);
      return v >>> 0;
    }
    return 0;
  }

  portWrite(port: number, size: number, val: number): void {
    if (port >= ACPI_PM1A_EVT && port < ACPI_PM1A_EVT + 4) {
      const reg = (val << (8 * (port - ACPI_PM1A_EVT))) >>> 0;
      const bytes = (size >= 4 ? 0xffffffff : ((1 << (8 * size)) - 1)) << (8 * (port - ACPI_PM1A_EVT)) >>> 0;
      if (bytes & 0xffff) this.pm1Status &= ~(reg & 0xffff); // write 1 to clear
      if (bytes & 0xffff0000) this.pm1Enable = (reg >>> 16) & 0xffff;
      return;
    }
    if (port === ACPI_PM1A_CNT) {
      const v = val & 0xffff;
      this.pm1Control = (v & ~SLP_EN) | SCI_EN;
      if (v & SLP_EN) this.sleep((v >>> 10) & 7);
      return;
    }
    if (port >= ACPI_GPE0 && port < ACPI_GPE0 + 4) {
      for (let i = 0; i < size && port - ACPI_GPE0 + i < 4; i++) {
        const r = port - ACPI_GPE0 + i, b = (val >>> (8 * i)) & 0xff;
        this.gpe0[r] = r < 2 ? this.gpe0[r] & ~b : b; // status bytes write-1-to-clear, enable bytes plain
      }
    }
  }
}

// The MC146818 RTC and CMOS RAM (hw/rtc/mc146818rtc.c): index port 0x70 (bit 7 disables NMIs),
// data port 0x71; registers 0-9 the time of day in BCD or binary (register B bit 2) and 24- or
// 12-hour format (bit 1), A/B/C/D status, 0x32 the century, and the memory-size bytes QEMU's
// pc_cmos_init writes (0x15-0x18, 0x30-0x31, 0x34-0x35, 0x5B-0x5D). Time is the VM's virtual clock (kvm/clock.ts), never the host's.
import type { PortDevice } from './port-bus';

export const CMOS_INDEX = 0x70, CMOS_DATA = 0x71;
const SEC = 0, MIN = 2, HOUR = 4, WDAY = 6, MDAY = 7, MONTH = 8, YEAR = 9, REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d, CENTURY = 0x32;
const REG_B_DM = 0x04, REG_B_24H = 0x02, REG_D_VRT = 0x80;
/** The RTC's time at virtual time 0: 2000-01-01 00:00:00 UTC (a fixed date, never the host's). */
export const RTC_EPOCH_SECONDS = Date.UTC(2000, 0, 1) / 1000;

export class Cmos implements PortDevice {
  readonly ram = new Uint8Array(128);
  index = 0;
  /** Port 0x70 bit 7: NMIs disabled. */
  nmiDisabled = false;
  /** Seconds the guest moved the clock by writing the time registers. */
  private offset = 0;

  /** `nowNs()` is the virtual time in nanoseconds. */
  constructor(memSize: number, private readonly nowNs: () => number) {
    this.ram[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    this.ram[REG_B] = REG_B_24H;
    this.ram[REG_D] = REG_D_VRT;
    // pc_cmos_init: base memory 640 KiB, extended memory in KiB (1-16 MiB, capped), above 16 MiB in 64 KiB units.
    const ext = Math.min(0xffff, Math.max(0, Math.floor((memSize - 0x100000) / 1024)));
    this.ram[0x15] = 640 & 0xff; this.ram[0x16] = 640 >> 8;
    this.ram[0x17] = this.ram[0x30] = ext & 0xff; this.ram[0x18] = this.ram[0x31] = ext >> 8;
    const above16 = Math.min(0xffff, Math.max(0, Math.floor((memSize - 0x1000000) / 65536)));
    this.ram[0x34] = above16 & 0xff; this.ram[0x35] = above16 >> 8;
  }

  private seconds(): number { return RTC_EPOCH_SECONDS + Math.floor(this.nowNs() / 1e9) + this.offset; }

  private toReg(v: number): number { return this.ram[REG_B] & REG_B_DM ? v : ((Math.floor(v / 10) << 4) | (v % 10)); }
  private fromReg(v: number): number { return this.ram[REG_B] & REG_B_DM ? v : ((v >> 4) * 10 + (v & 0xf)); }

  /** The time registers for the current virtual time. */
  private timeReg(reg: number): number {
    const d = new Date(this.seconds() * 1000);
    switch (reg) {
      case SEC: return this.toReg(d.getUTCSeconds());
      case MIN: return this.toReg(d.getUTCMinutes());
      case HOUR: {
        const h = d.getUTCHours();
        if (this.ram[REG_B] & REG_B_24H) return this.toReg(h);
        return this.toReg(h % 12 || 12) | (h >= 12 ? 0x80 : 0);
      }
      case WDAY: return this.toReg(d.getUTCDay() + 1);
      case MDAY: return this.toReg(d.getUTCDate());
      case MONTH: return this.toReg(d.getUTCMonth() + 1);
      case YEAR: return this.toReg(d.getUTCFullYear() % 100);
      case CENTURY: return this.toReg(Math.floor(d.getUTCFullYear() / 100));
    }
    return this.ram[reg];
  }

  /** A write to a time register sets that field of the clock (the others keep running). */
  private setTime(reg: number, val: number): void {
    const d = new Date(this.seconds() * 1000);
    let f = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
    if (reg === HOUR && !(this.ram[REG_B] & REG_B_24H)) {
      const h = this.fromReg(val & 0x7f) % 12;
      val = this.toReg(h + (val & 0x80 ? 12 : 0));
    }
    const v = this.fromReg(val);
    switch (reg) {
      case SEC: f[5] = v; break;
      case MIN: f[4] = v; break;
      case HOUR: f[3] = v; break;
      case MDAY: f[2] = v; break;
      case MONTH: f[1] = v - 1; break;
      case YEAR: f[0] = Math.floor(f[0] / 100) * 100 + v; break;
      case CENTURY: f[0] = v * 100 + (f[0] % 100); break;
      default: return;
    }
    f = f.map((x) => (Number.isFinite(x) ? x : 0));
    const target = Date.UTC(f[0], f[1], f[2], f[3], f[4], f[5]) / 1000;
    this.offset += target - this.seconds();
  }

  portRead(port: number): number {
    if (port !== CMOS_DATA) return 0xff;
    const reg = this.index;
    if (reg === REG_C) { const v = this.ram[REG_C]; this.ram[REG_C] = 0; return v; }
    if (reg <= YEAR || reg === CENTURY) return this.timeReg(reg);
    return this.ram[reg];
  }

  portWrite(port: number, _size: number, val: number): void {
    val &= 0xff;
    if (port === CMOS_INDEX) { this.index = val & 0x7f; this.nmiDisabled = (val & 0x80) !== 0; return; }
    const reg = this.index;
    if (reg <= YEAR || reg === CENTURY) {
      if (reg === 1 || reg === 3 || reg === 5) { this.ram[reg] = val; return; } // alarm registers
      this.setTime(reg, val);
      return;
    }
    if (reg === REG_C || reg === REG_D) return; // read-only
    if (reg === REG_A) { this.ram[REG_A] = (val & 0x7f) | (this.ram[REG_A] & 0x80); return; }
    this.ram[reg] = val;
  }
}

// ACPI tables (ACPI 6.5 §5.2) and the MP table (Intel MultiProcessor Specification 1.4 §4) the
// default VMM writes into the BIOS area for the VM's configuration, as QEMU/SeaBIOS and Firecracker
// provide them: RSDP (revision 2) -> RSDT and XSDT -> FADT (PM timer, reset register) -> FACS and a
// minimal DSDT, and a MADT with every LAPIC, the IOAPIC, the interrupt source overrides and the
// LAPIC NMI; an MP floating pointer and configuration table for kernels that boot without ACPI.
import { PC_LAYOUT } from './e820';

export const ACPI_PM_BASE = 0xb000;
/** PIIX4 PM I/O block (hw/acpi/piix4.c, before SeaBIOS moves it): PM1a_EVT +0, PM1a_CNT +4, PM_TMR +8; GPE0 0xAFE0. */
export const ACPI_PM1A_EVT = ACPI_PM_BASE, ACPI_PM1A_CNT = ACPI_PM_BASE + 4, ACPI_PM_TMR = ACPI_PM_BASE + 8, ACPI_GPE0 = 0xafe0;
export const ACPI_SCI_IRQ = 9;
/** Where the tables go: RSDP first (16-byte aligned, found by the 0xE0000-0xFFFFF scan), the MP table in the F segment. */
export const ACPI_LAYOUT = { rsdp: PC_LAYOUT.biosArea, tables: PC_LAYOUT.biosArea + 0x40, mp: 0xf0000 } as const;

export interface PlatformTablesConfig {
  vcpus: number;
  /** Report the ISA IRQ0 -> GSI 2 override (QEMU's GSI routing sends the PIT to IOAPIC pin 2). */
  irq0Override: boolean;
}

const OEM_ID = 'KVMGST', OEM_TABLE = 'KVMGUEST';

/** Sum of bytes modulo 256 made zero at `at + off` (ACPI §5.2.6 Checksum). */
function checksum(mem: Uint8Array, at: number, len: number, off: number): void {
  mem[at + off] = 0;
  let s = 0;
  for (let i = 0; i < len; i++) s += mem[at + i];
  mem[at + off] = (256 - (s & 0xff)) & 0xff;
}

function ascii(mem: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) mem[at + i] = s.charCodeAt(i);
}

class TableWriter {
  readonly dv: DataView;
  constructor(readonly mem: Uint8Array, public at: number) { this.dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength); }
  align(n: number): void { this.at = Math.ceil(this.at / n) * n; }
  /** A standard table header (§5.2.6), then the body bytes built by `body`; returns the table's address. */
  table(sig: string, revision: number, body: (w: TableWriter, start: number) => number): number {
    this.align(16);
    const start = this.at, mem = this.mem, dv = this.dv;
    mem.fill(0, start, start + 36);
    ascii(mem, start, sig);
    mem[start + 8] = revision;
    ascii(mem, start + 10, OEM_ID);
    ascii(mem, start + 16, OEM_TABLE);
    dv.setUint32(start + 24, 1, true); // OEM revision
    ascii(mem, start + 28, 'KVMG'); // creator ID
    dv.setUint32(start + 32, 1, true); // creator revision
    const len = body(this, start);
    dv.setUint32(start + 4, len, true);
    checksum(mem, start, len, 9);
    this.at = start + len;
    return start;
  }
}

/** Generic Address Structure (§5.2.3.2) in system I/O space. */
/** AML: Name (_S5, Package (4) { 0, 0, 0, 0 }): SLP_TYP 0 for S5, as QEMU's PIIX4 DSDT declares it. */
export const AML_S5 = Uint8Array.of(0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00);

function gasIo(dv: DataView, at: number, port: number, bits: number, access: number): void {
  dv.setUint8(at, 1); dv.setUint8(at + 1, bits); dv.setUint8(at + 2, 0); dv.setUint8(at + 3, access);
  dv.setUint32(at + 4, port, true); dv.setUint32(at + 8, 0, true);
}

/** Write every table; returns the RSDP's address. */
export function writeAcpiTables(mem: Uint8Array, cfg: PlatformTablesConfig): number {
  const w = new TableWriter(mem, ACPI_LAYOUT.tables);
  const dv = w.dv;
  // FACS (§5.2.10): 64-byte aligned, no header checksum.
  w.align(64);
  const facs = w.at;
  mem.fill(0, facs, facs + 64);
  ascii(mem, facs, 'FACS'); dv.setUint32(facs + 4, 64, true); mem[facs + 32] = 2; // version
  w.at += 64;
  // The devices are fixed and described by the other tables; the only AML object is \_S5, the soft-off
  // sleep type a guest writes to PM1a_CNT (ACPI §7.4.2): Linux registers acpi_power_off only when it exists.
  const dsdt = w.table('DSDT', 2, (_, s) => { mem.set(AML_S5, s + 36); return 36 + AML_S5.length; });
  const fadt = w.table('FACP', 3, (_, s) => {
    const len = 244; // ACPI 2.0 FADT (revision 3)
    mem.fill(0, s + 36, s + len);
    dv.setUint32(s + 36, facs, true);
    dv.setUint32(s + 40, dsdt, true);
    dv.setUint16(s + 46, ACPI_SCI_IRQ, true);
    dv.setUint32(s + 56, ACPI_PM1A_EVT, true);
    dv.setUint32(s + 64, ACPI_PM1A_CNT, true);
    dv.setUint32(s + 76, ACPI_PM_TMR, true);
    dv.setUint32(s + 80, ACPI_GPE0, true);
    mem[s + 88] = 4; mem[s + 89] = 2; mem[s + 91] = 4; mem[s + 92] = 4; // PM1_EVT, PM1_CNT, PM_TMR, GPE0 lengths
    dv.setUint16(s + 108, 1 << 1, true); // IAPC_BOOT_ARCH: 8042 present
    dv.setUint32(s + 112, (1 << 0) | (1 << 4) | (1 << 5) | (1 << 10), true); // WBINVD, PWR/SLP button as control methods, RESET_REG_SUP
    gasIo(dv, s + 116, 0xcf9, 8, 1); // RESET_REG: the PIIX reset control register
    mem[s + 128] = 0x06; // RESET_VALUE: SYS_RST | RST_CPU
    mem[s + 131] = 3; // FADT minor version
    dv.setUint32(s + 132, facs, true); // X_FIRMWARE_CTRL
    dv.setUint32(s + 140, dsdt, true); // X_DSDT
    gasIo(dv, s + 148, ACPI_PM1A_EVT, 32, 2);
    gasIo(dv, s + 172, ACPI_PM1A_CNT, 16, 2);
    gasIo(dv, s + 208, ACPI_PM_TMR, 32, 3);
    gasIo(dv, s + 220, ACPI_GPE0, 32, 1);
    return len;
  });
  const madt = w.table('APIC', 3, (_, s) => {
    dv.setUint32(s + 36, PC_LAYOUT.lapic, true);
    dv.setUint32(s + 40, 1, true); // PCAT_COMPAT: dual 8259s present
    let p = s + 44;
    for (let k = 0; k < cfg.vcpus; k++) {
      if (k < 255) { mem[p] = 0; mem[p + 1] = 8; mem[p + 2] = k; mem[p + 3] = k; dv.setUint32(p + 4, 1, true); p += 8; }
      else { mem[p] = 9; mem[p + 1] = 16; dv.setUint16(p + 2, 0, true); dv.setUint32(p + 4, k, true); dv.setUint32(p + 8, 1, true); dv.setUint32(p + 12, k, true); p += 16; }
    }
    mem[p] = 1; mem[p + 1] = 12; mem[p + 2] = 0; mem[p + 3] = 0; dv.setUint32(p + 4, PC_LAYOUT.ioapic, true); dv.setUint32(p + 8, 0, true); p += 12;
    const override = (irq: number, gsi: number, flags: number) => {
      mem[p] = 2; mem[p + 1] = 10; mem[p + 2] = 0; mem[p + 3] = irq; dv.setUint32(p + 4, gsi, true); dv.setUint16(p + 8, flags, true); p += 10;
    };
    if (cfg.irq0Override) override(0, 2, 0);
    override(ACPI_SCI_IRQ, ACPI_SCI_IRQ, 0xd); // SCI: level-triggered, active high
    mem[p] = 4; mem[p + 1] = 6; mem[p + 2] = 0xff; dv.setUint16(p + 3, 0, true); mem[p + 5] = 1; p += 6; // LINT1 = NMI on every CPU
    return p - s;
  });
  const tables = [fadt, madt];
  const rsdt = w.table('RSDT', 1, (_, s) => { tables.forEach((t, k) => dv.setUint32(s + 36 + 4 * k, t, true)); return 36 + 4 * tables.length; });
  const xsdt = w.table('XSDT', 1, (_, s) => { tables.forEach((t, k) => { dv.setUint32(s + 36 + 8 * k, t, true); dv.setUint32(s + 40 + 8 * k, 0, true); }); return 36 + 8 * tables.length; });
  // RSDP (§5.2.5.3): checksum over the first 20 bytes, extended checksum over all 36.
  const r = ACPI_LAYOUT.rsdp;
  mem.fill(0, r, r + 36);
  ascii(mem, r, 'RSD PTR ');
  ascii(mem, r + 9, OEM_ID);
  mem[r + 15] = 2;
  dv.setUint32(r + 16, rsdt, true);
  dv.setUint32(r + 20, 36, true);
  dv.setUint32(r + 24, xsdt, true);
  checksum(mem, r, 20, 8);
  checksum(mem, r, 36, 32);
  if (w.at > ACPI_LAYOUT.mp) throw new Error('ACPI tables overflow into the MP table area');
  return r;
}

/** The MP floating pointer and configuration table (MP spec §4.1, §4.2, §4.3). */
export function writeMpTable(mem: Uint8Array, cfg: PlatformTablesConfig): number {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const fp = ACPI_LAYOUT.mp, table = fp + 16;
  let p = table + 44;
  const apicVer = 0x14;
  for (let k = 0; k < cfg.vcpus && k < 255; k++) { // processor entries (type 0)
    mem.fill(0, p, p + 20);
    mem[p] = 0; mem[p + 1] = k; mem[p + 2] = apicVer; mem[p + 3] = 1 | (k === 0 ? 2 : 0); // enabled, BSP
    dv.setUint32(p + 4, 0x600, true); dv.setUint32(p + 8, 0x201, true); // family 6 signature, FPU | APIC features
    p += 20;
  }
  mem.fill(0, p, p + 8); mem[p] = 1; mem[p + 1] = 0; ascii(mem, p + 2, 'ISA   '); p += 8; // bus 0: ISA
  const ioapicId = Math.min(cfg.vcpus, 254);
  mem[p] = 2; mem[p + 1] = ioapicId; mem[p + 2] = 0x11; mem[p + 3] = 1; dv.setUint32(p + 4, PC_LAYOUT.ioapic, true); p += 8;
  let count = Math.min(cfg.vcpus, 255) + 2;
  for (let irq = 0; irq < 16; irq++) { // I/O interrupt assignments (type 3): ISA IRQ n -> IOAPIC pin n (IRQ0 -> pin 2)
    if (irq === 2) continue;
    const pin = isaIrqToGsi(irq, cfg.irq0Override);
    mem[p] = 3; mem[p + 1] = 0; dv.setUint16(p + 2, 0, true); mem[p + 4] = 0; mem[p + 5] = irq; mem[p + 6] = ioapicId; mem[p + 7] = pin; p += 8; count++;
  }
  // Local interrupt assignments (type 4): LINT0 ExtINT, LINT1 NMI, to all local APICs.
  mem[p] = 4; mem[p + 1] = 3; dv.setUint16(p + 2, 0, true); mem[p + 4] = 0; mem[p + 5] = 0; mem[p + 6] = 0xff; mem[p + 7] = 0; p += 8;
  mem[p] = 4; mem[p + 1] = 1; dv.setUint16(p + 2, 0, true); mem[p + 4] = 0; mem[p + 5] = 0; mem[p + 6] = 0xff; mem[p + 7] = 1; p += 8;
  count += 2;
  mem.fill(0, table, table + 44);
  ascii(mem, table, 'PCMP');
  dv.setUint16(table + 4, p - table, true);
  mem[table + 6] = 4; // spec revision 1.4
  ascii(mem, table + 8, 'KVMGUEST');
  ascii(mem, table + 16, 'PC          ');
  dv.setUint16(table + 34, count, true);
  dv.setUint32(table + 36, PC_LAYOUT.lapic, true);
  checksum(mem, table, p - table, 7);
  mem.fill(0, fp, fp + 16);
  ascii(mem, fp, '_MP_');
  dv.setUint32(fp + 4, table, true);
  mem[fp + 8] = 1; // length in 16-byte units
  mem[fp + 9] = 4;
  checksum(mem, fp, 16, 10);
  return fp;
}

/** The GSI (IOAPIC pin) of an ISA IRQ on QEMU's pc machine: the same number, but IRQ0 on GSI 2 with the override. */
export function isaIrqToGsi(irq: number, irq0Override = true): number {
  return irq === 0 && irq0Override ? 2 : irq;
}

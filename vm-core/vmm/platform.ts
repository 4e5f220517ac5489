// The PC platform of the default VMM, as QEMU's pc machine presents it to kernels started with
// -kernel (and kvm-unit-tests runs them): fw_cfg, pc-testdev, COM1, CMOS/RTC, the reset ports,
// the PCI host bridge and the ACPI PM block on one port bus, plus the ACPI and MP tables in RAM.
import { PortBus } from './port-bus';
import { FwCfg, FW_CFG_PORT_SEL, FW_CFG_PORT_DMA, type FwCfgConfig } from './fw-cfg';
import { PcTestdev, TESTDEV_IOPORT, TESTDEV_FLUSHPAGE, TESTDEV_IRQ, TESTDEV_IRQ_COUNT } from './pc-testdev';
import { Uart16550, COM1_BASE, COM1_IRQ } from './uart16550';
import { Cmos, CMOS_INDEX } from './cmos';
import { SystemReset, PORT92, PIIX_RCR, I8042_CMD, I8042_DATA } from './system-reset';
import { PciHost, PCI_CONFIG_ADDRESS, PCI_CONFIG_DATA } from './pci-host';
import { AcpiPm } from './acpi-pm';
import { ACPI_GPE0, ACPI_PM_BASE, writeAcpiTables, writeMpTable } from './acpi';
import { e820Map } from './e820';

export interface PlatformConfig {
  mem: Uint8Array;
  vcpus: number;
  /** Virtual time in nanoseconds: the VM's clock (kvm/clock.ts). */
  nowNs: () => number;
  /** A byte the guest sent on COM1. */
  transmit: (byte: number) => void;
  /** A reset request (port 0x92, 0xCF9, i8042) or an ACPI sleep (SLP_EN). */
  systemEvent: (kind: 'reset' | 'sleep', source: string) => void;
  fwCfg?: Partial<Pick<FwCfgConfig, 'kernel' | 'cmdline' | 'initrd'>>;
}

/** What the guest reported through the platform ACPI tables' configuration. */
export interface PlatformTables { rsdp: number; mp: number; }

export class Platform {
  readonly bus = new PortBus();
  readonly fwCfg: FwCfg;
  readonly testdev: PcTestdev;
  readonly uart: Uart16550;
  readonly cmos: Cmos;
  readonly reset: SystemReset;
  readonly pci: PciHost;
  readonly pm: AcpiPm;
  /**
   * Drive ISA IRQ line `line` to `level` (COM1, pc-testdev). No-op until the machine wires it to the
   * in-kernel irqchip (KVM_IRQ_LINE), which the interrupt-controller work adds.
   */
  setIrq: (line: number, level: number) => void = () => {};

  constructor(cfg: PlatformConfig) {
    const irq = (line: number, level: number) => this.setIrq(line, level);
    this.fwCfg = new FwCfg({ ramSize: cfg.mem.length, cpus: cfg.vcpus, e820: e820Map(cfg.mem.length), ...cfg.fwCfg }, cfg.mem);
    this.testdev = new PcTestdev(irq);
    this.uart = new Uart16550(COM1_BASE, COM1_IRQ, cfg.transmit, irq);
    this.cmos = new Cmos(cfg.mem.length, cfg.nowNs);
    this.reset = new SystemReset((src) => cfg.systemEvent('reset', src));
    this.pci = new PciHost();
    this.pm = new AcpiPm(cfg.nowNs, (typ) => cfg.systemEvent('sleep', `ACPI PM1a_CNT SLP_EN (SLP_TYP ${typ})`));
    const b = this.bus;
    b.register(FW_CFG_PORT_SEL, 2, this.fwCfg);
    b.register(FW_CFG_PORT_DMA, 8, this.fwCfg);
    b.register(TESTDEV_IOPORT, 4, this.testdev);
    b.register(TESTDEV_FLUSHPAGE, 1, this.testdev);
    b.register(TESTDEV_IRQ, TESTDEV_IRQ_COUNT, this.testdev);
    b.registerMmio(this.testdev);
    b.register(COM1_BASE, 8, this.uart);
    b.register(CMOS_INDEX, 2, this.cmos);
    b.register(PORT92, 1, this.reset);
    b.register(PIIX_RCR, 1, this.reset);
    b.register(I8042_DATA, 1, this.reset);
    b.register(I8042_CMD, 1, this.reset);
    b.register(PCI_CONFIG_ADDRESS, 1, this.pci);
    b.register(PCI_CONFIG_DATA, 4, this.pci);
    b.register(ACPI_PM_BASE, 12, this.pm);
    b.register(ACPI_GPE0, 4, this.pm);
  }

  /** Write the ACPI and MP tables for this configuration into the BIOS area of guest RAM. */
  static writeTables(mem: Uint8Array, vcpus: number): PlatformTables {
    const cfg = { vcpus, irq0Override: true };
    return { rsdp: writeAcpiTables(mem, cfg), mp: writeMpTable(mem, cfg) };
  }
}

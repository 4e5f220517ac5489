// The VMM's I/O-port and MMIO dispatch: each platform device claims port ranges (and MMIO windows);
// KVM_EXIT_IO and KVM_EXIT_MMIO are routed to the device that claims the address, as QEMU's
// address_space_io / memory regions do. Unclaimed ports and MMIO read as all ones.

export interface PortDevice {
  /** IN of `size` bytes (1, 2, 4) at `port`; the value is masked to the size by the caller. */
  portRead(port: number, size: number): number;
  portWrite(port: number, size: number, val: number): void;
}

export interface MmioDevice {
  readonly mmioBase: number;
  readonly mmioSize: number;
  mmioRead(gpa: number, data: Uint8Array): void;
  mmioWrite(gpa: number, data: Uint8Array): void;
}

export class PortBus {
  private readonly ports = new Map<number, PortDevice>();
  private readonly mmio: MmioDevice[] = [];

  /** Claim [base, base + count); a port claimed twice is a VMM configuration bug. */
  register(base: number, count: number, dev: PortDevice): void {
    for (let p = base; p < base + count; p++) {
      if (this.ports.has(p)) throw new Error(`I/O port 0x${p.toString(16)} claimed twice`);
      this.ports.set(p, dev);
    }
  }

  registerMmio(dev: MmioDevice): void { this.mmio.push(dev); }

  /** The device at `port`, if any. */
  device(port: number): PortDevice | undefined { return this.ports.get(port); }

  read(port: number, size: number): number | undefined {
    const d = this.ports.get(port);
    return d ? d.portRead(port, size) >>> 0 : undefined;
  }

  write(port: number, size: number, val: number): boolean {
    const d = this.ports.get(port);
    if (!d) return false;
    d.portWrite(port, size, val >>> 0);
    return true;
  }

  mmioDevice(gpa: number): MmioDevice | undefined {
    for (const d of this.mmio) if (gpa >= d.mmioBase && gpa < d.mmioBase + d.mmioSize) return d;
    return undefined;
  }
}

// PCI configuration mechanism #1 (PCI Local Bus Specification 3.0 §3.2.2.3.2): CONFIG_ADDRESS at
// 0xCF8 (bit 31 enable, bus 23:16, device 15:11, function 10:8, register 7:2) and CONFIG_DATA at
// 0xCFC-0xCFF. Bus 0 holds the i440FX host bridge (8086:1237, class 06.00, QEMU hw/pci-host/i440fx.c)
// and no other device: every other function reads all ones.
import type { PortDevice } from './port-bus';

export const PCI_CONFIG_ADDRESS = 0xcf8, PCI_CONFIG_DATA = 0xcfc;

export class PciHost implements PortDevice {
  configAddress = 0;
  /** The host bridge's 256-byte configuration space. */
  readonly hostBridge = new Uint8Array(256);

  constructor() {
    const dv = new DataView(this.hostBridge.buffer);
    dv.setUint16(0x00, 0x8086, true); // vendor
    dv.setUint16(0x02, 0x1237, true); // device: 82441FX (i440FX)
    dv.setUint16(0x06, 0x0000, true); // status
    this.hostBridge[0x08] = 0x02; // revision
    this.hostBridge[0x0b] = 0x06; this.hostBridge[0x0a] = 0x00; // class: bridge, host
    this.hostBridge[0x0e] = 0x00; // header type 0, single function
  }

  /** The configuration space CONFIG_ADDRESS selects, or undefined (no device there / not enabled). */
  private selected(): Uint8Array | undefined {
    const a = this.configAddress;
    if (!(a & 0x80000000)) return undefined;
    const bus = (a >>> 16) & 0xff, dev = (a >>> 11) & 0x1f, fn = (a >>> 8) & 7;
    return bus === 0 && dev === 0 && fn === 0 ? this.hostBridge : undefined;
  }

  portRead(port: number, size: number): number {
    if (port >= PCI_CONFIG_ADDRESS && port < PCI_CONFIG_ADDRESS + 4) {
      return size === 4 && port === PCI_CONFIG_ADDRESS ? this.configAddress >>> 0 : 0xffffffff;
    }
    const space = this.selected();
    if (!space) return 0xffffffff;
    const off = (this.configAddress & 0xfc) + (port - PCI_CONFIG_DATA);
    let v = 0;
    for (let i = 0; i < size; i++) v |= (off + i < 256 ? space[off + i] : 0xff) << (8 * i);
    return v >>> 0;
  }

  portWrite(port: number, size: number, val: number): void {
    if (port === PCI_CONFIG_ADDRESS && size === 4) { this.configAddress = val >>> 0; return; }
    const space = this.selected();
    if (!space) return;
    const off = (this.configAddress & 0xfc) + (port - PCI_CONFIG_DATA);
    // Only the command register and the registers past the header's read-only IDs are writable.
    for (let i = 0; i < size; i++) {
      const r = off + i;
      if (r >= 0x04 && r < 0x06) space[r] = (val >>> (8 * i)) & 0xff;
      else if (r >= 0x40 && r < 256) space[r] = (val >>> (8 * i)) & 0xff;
    }
  }
}

// QEMU's firmware configuration device on x86 (docs/specs/fw_cfg.rst, hw/nvram/fw_cfg.c): a 16-bit
// selector at 0x510, byte-wide data at 0x511 read sequentially (0 past the end), and the DMA
// interface at 0x514 (big-endian 64-bit descriptor address: high half at 0x514, low half at 0x518
// starts the transfer). Items: signature, ID, RAM size, CPU counts, kernel/cmdline/initrd
// descriptions and the file directory with "etc/e820".
import type { PortDevice } from './port-bus';
import type { E820Entry } from './e820';

export const FW_CFG_PORT_SEL = 0x510, FW_CFG_PORT_DATA = 0x511, FW_CFG_PORT_DMA = 0x514;
export const FW_CFG_SIGNATURE = 0x00, FW_CFG_ID = 0x01, FW_CFG_UUID = 0x02, FW_CFG_RAM_SIZE = 0x03,
  FW_CFG_NB_CPUS = 0x05, FW_CFG_KERNEL_ADDR = 0x07, FW_CFG_KERNEL_SIZE = 0x08, FW_CFG_INITRD_ADDR = 0x0a,
  FW_CFG_INITRD_SIZE = 0x0b, FW_CFG_MAX_CPUS = 0x0f, FW_CFG_KERNEL_ENTRY = 0x10, FW_CFG_CMDLINE_ADDR = 0x13,
  FW_CFG_CMDLINE_SIZE = 0x14, FW_CFG_CMDLINE_DATA = 0x15, FW_CFG_FILE_DIR = 0x19, FW_CFG_FILE_FIRST = 0x20,
  FW_CFG_IRQ0_OVERRIDE = 0x8002;
/** fw_cfg.rst: ID bit 0 traditional interface, bit 1 DMA. */
export const FW_CFG_VERSION = 1, FW_CFG_VERSION_DMA = 2;
/** DMA control bits (FW_CFG_DMA_CTL_*). */
const DMA_ERROR = 1, DMA_READ = 2, DMA_SKIP = 4, DMA_SELECT = 8, DMA_WRITE = 0x10;
/** Keys with (key & 0x3FFF) >= FW_CFG_MAX_ENTRY are invalid (fw_cfg_select). */
const FW_CFG_MAX_ENTRY = 0x40, FW_CFG_ENTRY_MASK = 0x3fff;

export interface FwCfgConfig {
  ramSize: number;
  cpus: number;
  maxCpus?: number;
  kernel?: { addr: number; size: number; entry: number };
  cmdline?: { addr: number; text: string };
  initrd?: { addr: number; size: number };
  e820: E820Entry[];
}

const le = (n: number, bytes: number): Uint8Array => {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) b[i] = Math.floor(n / 2 ** (8 * i)) & 0xff;
  return b;
};

export class FwCfg implements PortDevice {
  private readonly items = new Map<number, Uint8Array>();
  private key = 0;
  private offset = 0;
  private dmaHigh = 0;

  /** `mem` is guest RAM at GPA 0, for DMA transfers. */
  constructor(cfg: FwCfgConfig, private readonly mem: Uint8Array) {
    this.items.set(FW_CFG_SIGNATURE, new TextEncoder().encode('QEMU'));
    this.items.set(FW_CFG_ID, le(FW_CFG_VERSION | FW_CFG_VERSION_DMA, 4));
    this.items.set(FW_CFG_UUID, new Uint8Array(16));
    this.items.set(FW_CFG_RAM_SIZE, le(cfg.ramSize, 8));
    this.items.set(FW_CFG_NB_CPUS, le(cfg.cpus, 2));
    this.items.set(FW_CFG_MAX_CPUS, le(cfg.maxCpus ?? cfg.cpus, 2));
    this.items.set(FW_CFG_IRQ0_OVERRIDE, le(1, 4));
    if (cfg.kernel) {
      this.items.set(FW_CFG_KERNEL_ADDR, le(cfg.kernel.addr, 4));
      this.items.set(FW_CFG_KERNEL_SIZE, le(cfg.kernel.size, 4));
      this.items.set(FW_CFG_KERNEL_ENTRY, le(cfg.kernel.entry, 4));
    }
    if (cfg.cmdline) {
      const text = new TextEncoder().encode(cfg.cmdline.text + '\0');
      this.items.set(FW_CFG_CMDLINE_ADDR, le(cfg.cmdline.addr, 4));
      this.items.set(FW_CFG_CMDLINE_SIZE, le(text.length, 4));
      this.items.set(FW_CFG_CMDLINE_DATA, text);
    }
    if (cfg.initrd) {
      this.items.set(FW_CFG_INITRD_ADDR, le(cfg.initrd.addr, 4));
      this.items.set(FW_CFG_INITRD_SIZE, le(cfg.initrd.size, 4));
    }
    const e820 = new Uint8Array(20 * cfg.e820.length);
    cfg.e820.forEach((e, k) => { e820.set(le(e.addr, 8), 20 * k); e820.set(le(e.size, 8), 20 * k + 8); e820.set(le(e.type, 4), 20 * k + 16); });
    this.addFiles([{ name: 'etc/e820', data: e820 }]);
  }

  /** The file directory (FW_CFG_FILE_DIR): BE count, then 64-byte entries {BE size, BE select, 0, name[56]}, sorted by name. */
  private addFiles(files: { name: string; data: Uint8Array }[]): void {
    const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const dir = new Uint8Array(4 + 64 * sorted.length);
    const dv = new DataView(dir.buffer);
    dv.setUint32(0, sorted.length, false);
    sorted.forEach((f, k) => {
      const key = FW_CFG_FILE_FIRST + k;
      this.items.set(key, f.data);
      dv.setUint32(4 + 64 * k, f.data.length, false);
      dv.setUint16(8 + 64 * k, key, false);
      dir.set(new TextEncoder().encode(f.name).subarray(0, 55), 12 + 64 * k);
    });
    this.items.set(FW_CFG_FILE_DIR, dir);
  }

  /** fw_cfg_select: a new key resets the offset; invalid keys read as zeros. */
  select(key: number): void { this.key = key & 0xffff; this.offset = 0; }

  private current(): Uint8Array | undefined {
    if ((this.key & FW_CFG_ENTRY_MASK) >= FW_CFG_MAX_ENTRY && !(this.key & 0x8000)) return undefined;
    return this.items.get(this.key & ~0x4000); // bit 14 (the old write bit) is ignored
  }

  /** fw_cfg_read: the next byte of the selected item, 0 past its end. */
  readByte(): number {
    const it = this.current();
    if (!it || this.offset >= it.length) return 0;
    return it[this.offset++];
  }

  portRead(port: number, size: number): number {
    if (port >= FW_CFG_PORT_DMA && port < FW_CFG_PORT_DMA + 8) {
      // The DMA register reads back the signature 0x51454D5520434647 "QEMU CFG", big-endian: the guest sees the bytes in order.
      const sig = new TextEncoder().encode('QEMU CFG');
      let v = 0;
      for (let i = 0; i < size; i++) v |= sig[(port - FW_CFG_PORT_DMA + i) & 7] << (8 * i);
      return v >>> 0;
    }
    if (port === FW_CFG_PORT_DATA || (port === FW_CFG_PORT_SEL && size === 1)) {
      let v = 0;
      for (let i = 0; i < size; i++) v |= this.readByte() << (8 * i);
      return v >>> 0;
    }
    return 0;
  }

  portWrite(port: number, size: number, val: number): void {
    if (port === FW_CFG_PORT_SEL && size >= 2) { this.select(val & 0xffff); return; }
    if (port === FW_CFG_PORT_DMA && size === 4) { this.dmaHigh = bswap32(val); return; }
    if (port === FW_CFG_PORT_DMA + 4 && size === 4) { this.dma(this.dmaHigh * 0x100000000 + bswap32(val)); this.dmaHigh = 0; }
  }

  /** fw_cfg_dma_transfer: descriptor {BE u32 control, BE u32 length, BE u64 address}; control written back 0 or ERROR. */
  private dma(desc: number): void {
    const mem = this.mem, dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    if (desc + 16 > mem.length) return;
    let control = dv.getUint32(desc, false);
    let len = dv.getUint32(desc + 4, false);
    const addr = dv.getUint32(desc + 8, false) * 0x100000000 + dv.getUint32(desc + 12, false);
    if (control & DMA_SELECT) this.select(control >>> 16);
    let error = false;
    let a = addr;
    const it = this.current();
    if (control & DMA_WRITE) error = true; // every item of this device is read-only
    else if (control & (DMA_READ | DMA_SKIP)) {
      while (len > 0) {
        const avail = it && this.offset < it.length ? Math.min(len, it.length - this.offset) : len;
        if (control & DMA_READ) {
          if (a + avail > mem.length) { error = true; break; }
          if (it && this.offset < it.length) mem.set(it.subarray(this.offset, this.offset + avail), a);
          else mem.fill(0, a, a + avail);
        }
        if (it && this.offset < it.length) this.offset += avail;
        a += avail; len -= avail;
      }
    }
    control = error ? DMA_ERROR : 0;
    dv.setUint32(desc, control, false);
  }
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

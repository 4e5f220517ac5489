// A 16550A UART (National Semiconductor PC16550D datasheet; QEMU hw/char/serial.c) at COM1 0x3F8,
// IRQ 4: RBR/THR, IER, IIR/FCR, LCR (DLAB), MCR (loopback), LSR, MSR, scratch. Transmission is
// instant (the byte goes to `transmit`), input is queued by the VMM (`receive`), and the interrupt
// line follows IIR (serial_update_irq): received data (IER bit 0), THR empty (IER bit 1),
// line status (IER bit 2), modem status (IER bit 3).
import type { PortDevice } from './port-bus';

export const COM1_BASE = 0x3f8, COM1_IRQ = 4;
const LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04, IER_MSI = 0x08;
const IIR_NO_INT = 0x01, IIR_MSI = 0x00, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06, IIR_FIFO = 0xc0;
const MCR_LOOP = 0x10;
const MSR_DCD = 0x80, MSR_DSR = 0x20, MSR_CTS = 0x10, MSR_DELTA = 0x0f;
const LCR_DLAB = 0x80;
/** Receive FIFO depth of a 16550A; a fuller queue (input the guest has not read yet) is kept by the VMM. */
const RX_LIMIT = 1 << 16;

export class Uart16550 implements PortDevice {
  ier = 0; lcr = 0; mcr = 0; lsr = LSR_THRE | LSR_TEMT; msr = MSR_DCD | MSR_DSR | MSR_CTS; scr = 0; fcr = 0;
  divider = 12; // 9600 baud
  private rx: number[] = [];
  private thrIpending = false;
  private level = 0;

  constructor(private readonly base: number, private readonly irq: number,
    private readonly transmit: (byte: number) => void, private readonly setIrq: (line: number, level: number) => void) {}

  /** Queue input bytes (the user's keyboard); returns how many were accepted. */
  receive(bytes: Uint8Array | string): number {
    const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
    let n = 0;
    for (const x of b) { if (this.rx.length >= RX_LIMIT) { this.lsr |= LSR_OE; break; } this.rx.push(x); n++; }
    if (this.rx.length) this.lsr |= LSR_DR;
    this.updateIrq();
    return n;
  }

  get pendingInput(): number { return this.rx.length; }

  /** serial_update_irq: the highest-priority pending source, or "no interrupt". */
  iir(): number {
    let id = IIR_NO_INT;
    if (this.ier & IER_RLSI && this.lsr & LSR_OE) id = IIR_RLSI;
    else if (this.ier & IER_RDI && this.lsr & LSR_DR) id = IIR_RDI;
    else if (this.ier & IER_THRI && this.thrIpending) id = IIR_THRI;
    else if (this.ier & IER_MSI && this.msr & MSR_DELTA) id = IIR_MSI;
    return id | (this.fcr & 1 ? IIR_FIFO : 0);
  }

  private updateIrq(): void {
    const level = (this.iir() & IIR_NO_INT) === 0 ? 1 : 0;
    if (level !== this.level) { this.level = level; this.setIrq(this.irq, level); }
  }

  portRead(port: number): number {
    const off = port - this.base;
    let v = 0xff;
    switch (off) {
      case 0:
        if (this.lcr & LCR_DLAB) { v = this.divider & 0xff; break; }
        v = this.rx.length ? this.rx.shift()! : 0;
        if (!this.rx.length) this.lsr &= ~LSR_DR;
        break;
      case 1: v = this.lcr & LCR_DLAB ? (this.divider >>> 8) & 0xff : this.ier; break;
      case 2: v = this.iir(); if ((v & 0x0f) === IIR_THRI) this.thrIpending = false; break;
      case 3: v = this.lcr; break;
      case 4: v = this.mcr; break;
      case 5: v = this.lsr; this.lsr &= ~LSR_OE; break;
      case 6:
        if (this.mcr & MCR_LOOP) v = ((this.mcr & 0x0c) << 4) | ((this.mcr & 0x02) << 3) | ((this.mcr & 0x01) << 5);
        else { v = this.msr; this.msr &= ~MSR_DELTA; }
        break;
      case 7: v = this.scr; break;
    }
    this.updateIrq();
    return v;
  }

  portWrite(port: number, _size: number, val: number): void {
    const off = port - this.base;
    val &= 0xff;
    switch (off) {
      case 0:
        if (this.lcr & LCR_DLAB) { this.divider = (this.divider & 0xff00) | val; break; }
        if (this.mcr & MCR_LOOP) this.receive(Uint8Array.of(val)); // loopback: TX feeds RX
        else this.transmit(val);
        this.thrIpending = true; // transmission is instant: THR is empty again at once
        this.lsr |= LSR_THRE | LSR_TEMT;
        break;
      case 1:
        if (this.lcr & LCR_DLAB) { this.divider = (this.divider & 0xff) | (val << 8); break; }
        // Enabling THRI with THR empty raises the THR-empty interrupt (serial_ioport_write UART_IER).
        if (val & IER_THRI && !(this.ier & IER_THRI) && this.lsr & LSR_THRE) this.thrIpending = true;
        this.ier = val & 0x0f;
        break;
      case 2:
        this.fcr = val & 0xc9;
        if (val & 0x02) { this.rx = []; this.lsr &= ~LSR_DR; } // clear the receive FIFO
        break;
      case 3: this.lcr = val; break;
      case 4: this.mcr = val & 0x1f; break;
      case 5: break; // LSR is read-only (factory test)
      case 6: break;
      case 7: this.scr = val; break;
    }
    this.updateIrq();
  }
}

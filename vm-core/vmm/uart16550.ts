// A 16550A UART (National Semiconductor PC16550D datasheet; QEMU hw/char/serial.c) at COM1 0x3F8,
// IRQ 4: RBR/THR, IER, IIR/FCR, LCR (DLAB), MCR (loopback), LSR, MSR, scratch. Transmission is
// instant (the byte goes to `transmit`). Input from the user (the CLI's stdin, the debugger's
// console) arrives through `receive`, which plays QEMU's character backend: it holds the bytes the
// UART cannot take yet and hands them over as serial_can_receive allows (one byte into RBR with the
// FIFOs off, up to the 16-byte receive FIFO with them on), so the guest never sees an overrun from
// the user; bytes the guest itself loops back (MCR loop) go straight in and can overrun (LSR.OE).
// The interrupt line follows IIR (serial_update_irq): line status (IER bit 2), received data
// (IER bit 0: RBR full, or the FIFO at its trigger level of 1/4/8/14 bytes, or the character
// timeout), THR empty (IER bit 1), modem status (IER bit 3). The character timeout (IIR 0x0C) is
// raised when the FIFO holds bytes below the trigger level and the backend has no more to send: the
// four character times QEMU waits on its virtual clock are not modelled (no guest can tell them
// from the time the user takes to type the next key).
import type { PortDevice } from './port-bus';

export const COM1_BASE = 0x3f8, COM1_IRQ = 4;
const LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04, IER_MSI = 0x08;
const IIR_NO_INT = 0x01, IIR_MSI = 0x00, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06, IIR_CTI = 0x0c, IIR_FIFO = 0xc0;
const FCR_FE = 0x01, FCR_RFR = 0x02;
const MCR_LOOP = 0x10;
const MSR_DCD = 0x80, MSR_DSR = 0x20, MSR_CTS = 0x10, MSR_DELTA = 0x0f;
const LCR_DLAB = 0x80;
/** UART_FIFO_LENGTH: the 16550A's receive FIFO. */
export const UART_FIFO_LENGTH = 16;
/** FCR bits 7:6 -> the receive FIFO's interrupt trigger level (recv_fifo_itl). */
const TRIGGER_LEVELS = [1, 4, 8, 14];
/** Input the backend holds for the guest (bytes not yet in the UART) at most: more is refused, so the sender waits. */
export const UART_BACKLOG_LIMIT = 1 << 20;

export class Uart16550 implements PortDevice {
  ier = 0; lcr = 0; mcr = 0; lsr = LSR_THRE | LSR_TEMT; msr = MSR_DCD | MSR_DSR | MSR_CTS; scr = 0; fcr = 0;
  divider = 12; // 9600 baud
  /** The receive FIFO (FIFOs on) or RBR (its one entry, FIFOs off). */
  private fifo: number[] = [];
  /** The character backend's bytes waiting for room in the UART (QEMU: the chardev's pending input). */
  private backlog: number[] = [];
  private backlogHead = 0;
  private thrIpending = false;
  private timeoutIpending = false;
  private level = 0;

  constructor(private readonly base: number, private readonly irq: number,
    private readonly transmit: (byte: number) => void, private readonly setIrq: (line: number, level: number) => void) {}

  /**
   * Input from the user (the character backend): queued and handed to the UART as it has room.
   * Returns how many bytes were accepted (fewer than given when UART_BACKLOG_LIMIT is reached: the
   * sender keeps the rest and offers it again later, as a chardev does when the device is full).
   */
  receive(bytes: Uint8Array | string): number {
    const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
    const n = Math.min(b.length, UART_BACKLOG_LIMIT - this.pendingInput);
    for (let k = 0; k < n; k++) this.backlog.push(b[k]);
    this.acceptInput();
    return n;
  }

  /** Bytes received and not yet read by the guest (in the UART and in the backend). */
  get pendingInput(): number { return this.fifo.length + this.backlog.length - this.backlogHead; }

  /** serial_can_receive: how many bytes the UART takes from the backend now. */
  canReceive(): number {
    if (this.fcr & FCR_FE) {
      const n = this.fifo.length, itl = this.triggerLevel();
      if (n >= UART_FIFO_LENGTH) return 0;
      return n <= itl ? itl - n : 1; // QEMU: up to the trigger level, so the guest hears of it before more comes
    }
    return this.lsr & LSR_DR ? 0 : 1;
  }

  private triggerLevel(): number { return TRIGGER_LEVELS[this.fcr >>> 6]; }

  /** qemu_chr_fe_accept_input: move backlog bytes into the UART while it has room; the character timeout when the backend runs dry. */
  private acceptInput(): void {
    for (let room = this.canReceive(); room > 0 && this.backlogHead < this.backlog.length; room--) this.receive1(this.backlog[this.backlogHead++]);
    if (this.backlogHead === this.backlog.length) { this.backlog = []; this.backlogHead = 0; }
    else if (this.backlogHead > 4096) { this.backlog = this.backlog.slice(this.backlogHead); this.backlogHead = 0; }
    if (this.fcr & FCR_FE && this.fifo.length && this.backlogHead === this.backlog.length) this.timeoutIpending = true;
    this.updateIrq();
  }

  /** serial_receive1: one byte into the FIFO or RBR; a full one sets LSR.OE (the byte is lost). */
  private receive1(byte: number): void {
    if (this.fcr & FCR_FE) {
      if (this.fifo.length >= UART_FIFO_LENGTH) this.lsr |= LSR_OE;
      else this.fifo.push(byte);
    } else {
      if (this.lsr & LSR_DR) this.lsr |= LSR_OE;
      this.fifo[0] = byte;
    }
    this.lsr |= LSR_DR;
  }

  /** serial_update_irq: the highest-priority pending source, or "no interrupt". */
  iir(): number {
    let id = IIR_NO_INT;
    if (this.ier & IER_RLSI && this.lsr & LSR_OE) id = IIR_RLSI;
    else if (this.ier & IER_RDI && this.timeoutIpending) id = IIR_CTI;
    else if (this.ier & IER_RDI && this.lsr & LSR_DR && (!(this.fcr & FCR_FE) || this.fifo.length >= this.triggerLevel())) id = IIR_RDI;
    else if (this.ier & IER_THRI && this.thrIpending) id = IIR_THRI;
    else if (this.ier & IER_MSI && this.msr & MSR_DELTA) id = IIR_MSI;
    return id | (this.fcr & FCR_FE ? IIR_FIFO : 0);
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
        v = this.fifo.length ? this.fifo.shift()! : 0;
        if (!this.fifo.length) this.lsr &= ~LSR_DR;
        this.timeoutIpending = false;
        this.acceptInput();
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
        if (this.mcr & MCR_LOOP) this.receive1(val); // loopback: TX feeds RX
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
      case 2: {
        // Turning the FIFOs on or off empties them, as does the receive FIFO reset bit.
        const toggled = (val ^ this.fcr) & FCR_FE;
        this.fcr = val & 0xc9;
        if (toggled || val & FCR_RFR) { this.fifo = []; this.lsr &= ~LSR_DR; this.timeoutIpending = false; }
        this.acceptInput();
        break;
      }
      case 3: this.lcr = val; break;
      case 4: this.mcr = val & 0x1f; break;
      case 5: break; // LSR is read-only (factory test)
      case 6: break;
      case 7: this.scr = val; break;
    }
    this.updateIrq();
  }
}

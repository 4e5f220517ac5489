// kvm-guest run: standard input to COM1's receiver, as QEMU's -serial stdio. Bytes go in as they
// arrive (between run slices); the UART takes them as it has room (uart16550.ts), and what it cannot
// hold yet stays here, with the stream paused, so a large file piped in costs bounded memory. On a
// terminal the input is raw (every key at once, Enter as "\r", as a serial terminal sends it), and
// Ctrl-C still interrupts the run (QEMU's signal=on) instead of reaching the guest.
import type { Uart16550 } from '../vm-core/vmm/uart16550';

/** What serial input reads: process.stdin, or any byte stream (tests). */
export interface InputStream {
  on(ev: 'data', fn: (d: Buffer | string) => void): unknown;
  on(ev: 'end' | 'close', fn: () => void): unknown;
  on(ev: 'error', fn: (e: Error) => void): unknown;
  removeListener(ev: string, fn: (...a: never[]) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  isTTY?: boolean;
  setRawMode?: (raw: boolean) => unknown;
}

/** Bytes held here before the stream is paused (the UART's own backlog comes first). */
const HIGH_WATER = 1 << 16;
const CTRL_C = 0x03;

export class SerialInput {
  private chunks: Buffer[] = [];
  private held = 0;
  private paused = false;
  /** The stream ended (EOF, closed, or failed): no more input will come. */
  ended = false;
  private wake: (() => void) | null = null;
  private readonly raw: boolean;
  private readonly dataListener = (d: Buffer | string) => this.onData(typeof d === 'string' ? Buffer.from(d, 'latin1') : d);
  private readonly endListener = () => { this.ended = true; this.wakeUp(); };

  constructor(private readonly stream: InputStream, private readonly onInterrupt: () => void) {
    this.raw = stream.isTTY === true && typeof stream.setRawMode === 'function';
    if (this.raw) stream.setRawMode!(true);
    stream.on('data', this.dataListener);
    stream.on('end', this.endListener);
    stream.on('close', this.endListener);
    stream.on('error', this.endListener);
    stream.resume();
  }

  private onData(d: Buffer): void {
    if (this.raw && d.includes(CTRL_C)) {
      this.onInterrupt();
      d = Buffer.from(d.filter((b) => b !== CTRL_C));
    }
    if (d.length) { this.chunks.push(d); this.held += d.length; }
    if (this.held >= HIGH_WATER && !this.paused) { this.paused = true; this.stream.pause(); }
    this.wakeUp();
  }

  private wakeUp(): void { const w = this.wake; this.wake = null; w?.(); }

  /** Input received and not yet given to the UART. */
  get pending(): number { return this.held; }

  /** Hand what arrived to the UART (as much as its backend accepts); resume the stream once drained. */
  feed(uart: Uart16550): void {
    while (this.chunks.length) {
      const c = this.chunks[0];
      const n = uart.receive(c);
      this.held -= n;
      if (n < c.length) { this.chunks[0] = c.subarray(n); break; }
      this.chunks.shift();
    }
    if (this.paused && this.held < HIGH_WATER / 2) { this.paused = false; this.stream.resume(); }
  }

  /** Resolves when input arrives, the stream ends, or after `ms` milliseconds. */
  waitForInput(ms: number): Promise<void> {
    if (this.chunks.length || this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = null; resolve(); }, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
      this.wake = () => { clearTimeout(t); resolve(); };
    });
  }

  /** Stop reading: listeners off, the stream paused (so the process can exit), the terminal back to cooked mode. */
  close(): void {
    this.stream.removeListener('data', this.dataListener);
    for (const ev of ['end', 'close', 'error']) this.stream.removeListener(ev, this.endListener);
    this.stream.pause();
    if (this.raw) this.stream.setRawMode!(false);
    this.wakeUp();
  }
}

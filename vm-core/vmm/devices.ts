// The default VMM's port devices: the debug port 0xE9 (Bochs/QEMU debugcon), a 16550 UART at 0x3F8
// with enough of THR/LSR for polled output, the exit device 0xF4 (isa-debug-exit style: the byte
// written ends the run), and all ones for every other port read.
import type { Machine } from './machine';

export const DEBUG_PORT = 0xe9, EXIT_PORT = 0xf4, COM1 = 0x3f8;
/** 16550 LSR: THR empty | transmitter empty. */
const LSR_IDLE = 0x60;

/** OUT: returns text for the console, if the port prints. */
export function handlePortOut(m: Machine, port: number, size: number, val: number): string {
  void m; void size;
  if (port === DEBUG_PORT || port === COM1) return String.fromCharCode(val & 0xff);
  return '';
}

/** IN: the value read; unknown ports read as all ones. */
export function handlePortIn(m: Machine, port: number, size: number): number {
  void m;
  if (port === COM1 + 5) return LSR_IDLE;
  if (port === DEBUG_PORT) return 0xe9;
  return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
}

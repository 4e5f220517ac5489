// The default VMM's simplest port devices: the debug port 0xE9 (Bochs/QEMU debugcon) and the exit
// device 0xF4 (isa-debug-exit style: the byte written ends the run; the machine handles it), and
// all ones for every port no device claims. The PC platform's devices (COM1, fw_cfg, pc-testdev,
// CMOS, reset, PCI, ACPI PM) are on the platform's port bus (platform.ts).
import type { Machine } from './machine';
import { COM1_BASE } from './uart16550';

export const DEBUG_PORT = 0xe9, EXIT_PORT = 0xf4, COM1 = COM1_BASE;

/** OUT: returns text for the console, if the port prints. */
export function handlePortOut(m: Machine, port: number, size: number, val: number): string {
  void m; void size;
  if (port === DEBUG_PORT) return String.fromCharCode(val & 0xff);
  return '';
}

/** IN: the value read; unknown ports read as all ones. */
export function handlePortIn(m: Machine, port: number, size: number): number {
  void m;
  if (port === DEBUG_PORT) return 0xe9;
  return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
}

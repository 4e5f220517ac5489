// The default VMM's simplest port devices: the debug port 0xE9 (Bochs/QEMU debugcon) and the exit
// device 0xF4 (a write ends the run; the machine handles it, exitDeviceStatus gives the status), and
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

/**
 * How the exit device turns the value a guest wrote to port 0xF4 into the VMM's exit status:
 * 'isa-debug-exit' as QEMU's hw/misc/debugexit.c, exit((val << 1) | 1) (kvm-unit-tests: 0 -> 1 pass,
 * 1 -> 3 fail, 38 -> 77 skip), 'byte' the low byte as written.
 */
export type ExitDeviceMode = 'isa-debug-exit' | 'byte';

/** The process exit status for a write of `value` (the whole access, up to 32 bits); 0-255 as exit(3) keeps it. */
export function exitDeviceStatus(value: number, mode: ExitDeviceMode): number {
  return mode === 'isa-debug-exit' ? ((value << 1) | 1) & 0xff : value & 0xff;
}

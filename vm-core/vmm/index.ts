// The default userspace: Machine (VMM), devices and boot set-ups.
export { Machine } from './machine';
export type { MachineOptions, StopReason, ExitLogEntry, ExitHook } from './machine';
export * from './boot';
export { DEBUG_PORT, EXIT_PORT, COM1 } from './devices';

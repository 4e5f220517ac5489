// Exit statuses of kvm-guest itself (a guest's own code comes from the exit device, port 0xF4).
export const EXIT_USAGE = 2, EXIT_LIMIT = 3, EXIT_SHUTDOWN = 4, EXIT_INTERNAL = 5;

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  /** The guest's bytes, one char per byte (0-255): written raw, never re-encoded. Defaults to out. */
  guest?(s: string): void;
  /** Standard input, for COM1's receiver (run): opened only when used. */
  stdin?(): import('./serial-input').InputStream;
}

// Exit statuses of kvm-guest itself (a guest's own code comes from the exit device, port 0xF4).
export const EXIT_USAGE = 2, EXIT_LIMIT = 3, EXIT_SHUTDOWN = 4, EXIT_INTERNAL = 5;

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
}

// The two objects thrown inside the core (one instance each, so a throw allocates nothing); both are
// caught by Cpu.run() and never escape it. Their own module, so events.ts and cpu.ts share them
// without importing each other.

/** Thrown inside the core to abort the current instruction with an exception. Never escapes run(). */
export class CpuFault {
  vector = 0;
  errorCode = 0;
  hasError = false;
}
/** Thrown inside the core when a hardware exit is taken (details in cpu.exit). Never escapes run(). */
export class CpuExitSignal {}

export const FAULT = new CpuFault();
export const EXIT = new CpuExitSignal();

// System instructions (SDM Vol. 3A 2.8 and Vol. 2): HLT for now; the rest of the group follows.
import type { Cpu } from '../cpu';
import { defineMatching } from './operands';
import { EXIT_REASON_HLT } from '../exits';

// HLT (SDM Vol. 2): #GP(0) unless CPL 0; exits when intercepted; otherwise the processor halts
// until an event arrives (run() returns RUN_HALTED).
defineMatching(/^Hlt$/, (c: Cpu) => {
  if (c.cpl !== 0) c.gp(0);
  if (c.intercepts.hlt) c.hwExit(EXIT_REASON_HLT);
  c.halted = true;
  c.slow = true;
});

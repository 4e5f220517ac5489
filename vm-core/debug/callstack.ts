// The emulator's own call tracking: a shadow stack fed by every near CALL and RET the processor
// retires (Cpu.callTrack), so the debugger's stack trace does not depend on frame pointers or
// unwind tables. A RET pops every frame whose stack slot it passed (longjmp-style unwinding and
// guests that switch stacks stay consistent).
import type { Cpu, CallTracker } from '../cpu/cpu';

export interface ShadowFrame {
  /** Address of the CALL instruction. */
  callSite: number;
  /** The callee's entry point. */
  target: number;
  /** Where the callee returns to. */
  returnAddress: number;
  /** Stack pointer right after the return address was pushed. */
  sp: number;
}

const MAX_DEPTH = 4096;

export class ShadowCallStack implements CallTracker {
  readonly frames: ShadowFrame[] = [];
  /** Frames dropped because the stack grew past MAX_DEPTH (runaway recursion). */
  dropped = 0;

  call(c: Cpu, ret: number, target: number, sp: number): void {
    if (this.frames.length >= MAX_DEPTH) { this.frames.shift(); this.dropped++; }
    this.frames.push({ callSite: c.insnRip, target, returnAddress: ret, sp });
  }

  ret(_c: Cpu, target: number, sp: number): void {
    // Pop the frames whose return-address slot lies below the new stack pointer.
    const f = this.frames;
    while (f.length > 0 && f[f.length - 1].sp < sp) {
      const top = f.pop()!;
      if (top.returnAddress === target) break;
    }
  }

  clear(): void {
    this.frames.length = 0;
    this.dropped = 0;
  }

  /** Innermost first: the frames as a debugger shows them. */
  innermostFirst(): ShadowFrame[] {
    return [...this.frames].reverse();
  }
}

import type { Cpu } from '../../vm-core/cpu';
import { OP_NONE } from '../../vm-core/cpu/flags';
export function setRflagsRaw(cpu: Cpu, v: number): void { cpu.lfOp = OP_NONE; cpu.rflags = v | 2; }

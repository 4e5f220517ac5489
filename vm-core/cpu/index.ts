// The processor: importing this module installs every instruction handler.
import './exec/arith';
import './exec/data';
import './exec/control';
import './exec/system';
import './exec/segments';
import './exec/far';
import './exec/sse';
export { Cpu, RUN_BUDGET, RUN_EXIT, RUN_HALTED, RUN_STOPPED, RUN_SHUTDOWN } from './cpu';
export type { MmioHandler, EmulatorHooks } from './cpu';
export { PhysBus, PAGE_SIZE } from './phys';
export { Intercepts } from './intercepts';
export * from './exits';
export * from './state';
export { getRflags, setArithFlags, materializeFlags } from './flags';

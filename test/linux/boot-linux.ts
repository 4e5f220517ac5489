// Boot a Linux kernel through the product's launch path (launch options -> Machine) and time the
// boot's milestones on the serial console: guest instructions and host CPU seconds from reset to each.
import { launch } from '../../vm-core/vmm/launch';
import { resolveLaunchOptions } from '../../vm-core/config/launch-options';
import type { Machine, StopReason } from '../../vm-core/vmm/machine';

export const MILESTONES = ['Linux version', 'Calibrating', 'Freeing unused kernel', 'Run /init', 'Power down'] as const;

export interface Milestone { text: string; instructions: number; cpuSeconds: number; }
export interface BootResult {
  machine: Machine;
  stop: StopReason | { kind: 'cpu-budget' };
  serial: string;
  milestones: Milestone[];
  instructions: number;
  cpuSeconds: number;
}

const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

/** Run until the guest stops, `maxInstructions` retire or `cpuBudget` host CPU seconds pass. */
export function bootLinux(o: { kernel: string; initrd?: string; append: string; memory?: string; maxInstructions?: number; cpuBudget?: number;
  extra?: Record<string, unknown>; onSerial?: (s: string) => void; }): BootResult | { errors: string[] } {
  const { options, errors } = resolveLaunchOptions({
    program: o.kernel, memory: o.memory ?? '256M', append: o.append, maxInstructions: o.maxInstructions ?? 0,
    ...(o.initrd ? { initrd: o.initrd } : {}), ...o.extra,
  });
  if (errors.length) return { errors: errors.map((e) => `${e.option}: ${e.message}`) };
  const t0 = cpuNow();
  const l = launch(options);
  if (!l.ok) return { errors: l.errors };
  const m = l.machine;
  const icount = () => m.vcpus.reduce((n, v) => n + v.cpu.icount, 0);
  const milestones: Milestone[] = [];
  let seen = 0, stop: BootResult['stop'];
  for (;;) {
    const r = m.run(20_000_000);
    if (m.serial.length > seen) {
      o.onSerial?.(m.serial.slice(seen));
      seen = m.serial.length;
      for (const text of MILESTONES) {
        if (!milestones.some((x) => x.text === text) && m.serial.includes(text)) milestones.push({ text, instructions: icount(), cpuSeconds: cpuNow() - t0 });
      }
    }
    if (r.kind !== 'slice') { stop = r; break; }
    if (o.cpuBudget && cpuNow() - t0 > o.cpuBudget) { stop = { kind: 'cpu-budget' }; break; }
  }
  return { machine: m, stop, serial: m.serial, milestones, instructions: icount(), cpuSeconds: cpuNow() - t0 };
}

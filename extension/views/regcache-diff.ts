// What changed in the register cache between two stops. No VS Code import (unit-tested).
import type { RegisterCacheEntry, RegisterCacheResponse } from '../protocol';

export interface RegChange { what: ('cached' | 'vmcs' | 'avail' | 'dirty')[] }

/** Registers whose cached value, VMCS value, avail or dirty bit differ from `before` (none on the first stop). */
export function diffRegisterCache(before: RegisterCacheResponse | undefined, now: RegisterCacheResponse): Map<string, RegChange> {
  const out = new Map<string, RegChange>();
  if (!before || before.vcpu !== now.vcpu) return out;
  const prev = new Map<string, RegisterCacheEntry>(before.regs.map((r) => [r.name, r]));
  for (const r of now.regs) {
    const p = prev.get(r.name);
    if (!p) continue;
    const what: RegChange['what'] = [];
    if (p.cached !== r.cached) what.push('cached');
    if (p.vmcs !== r.vmcs) what.push('vmcs');
    if (p.avail !== r.avail) what.push('avail');
    if (p.dirty !== r.dirty) what.push('dirty');
    if (what.length) out.set(r.name, { what });
  }
  return out;
}

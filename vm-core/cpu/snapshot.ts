// Save and restore the whole architectural (and pending-event) state of a processor, for the
// debugger's recording (reverse execution) and RESET-style rewinds. Caches (TLBs, decoded code) are
// not state: they are flushed on restore.
import { Cpu } from './cpu';
import { DescriptorTable, Segment } from './state';

/** Fields that are wiring or caches, not processor state. */
const NOT_STATE = new Set([
  'bus', 'intercepts', 'exit', 'env', 'cur', 'tlbR', 'tlbW', 'tlbX', 'codeCache', 'codeCacheInsns', 'fetchLin', 'fetchPage',
  'fetchGen', 'mmioHandler', 'beforeInsn', 'hi', 'msrLo', 'msrHi', 'lastWalkGlobal',
]);

export type CpuSnapshot = Map<string, unknown>;

function cloneValue(v: unknown): unknown {
  if (v instanceof Int32Array || v instanceof Uint8Array || v instanceof Uint32Array || v instanceof Float64Array) return v.slice();
  if (v instanceof Segment) { const s = new Segment(); Object.assign(s, v); return s; }
  if (v instanceof DescriptorTable) { const d = new DescriptorTable(); Object.assign(d, v); return d; }
  if (Array.isArray(v)) return v.map(cloneValue);
  return v;
}

function isState(key: string, v: unknown): boolean {
  if (NOT_STATE.has(key)) return false;
  const t = typeof v;
  if (t === 'number' || t === 'boolean' || t === 'string') return true;
  if (v instanceof Int32Array || v instanceof Uint8Array || v instanceof Uint32Array || v instanceof Float64Array) return true;
  if (v instanceof Segment || v instanceof DescriptorTable) return true;
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number' || x instanceof Segment);
  return false;
}

export function saveCpu(c: Cpu): CpuSnapshot {
  const snap: CpuSnapshot = new Map();
  for (const [k, v] of Object.entries(c)) if (isState(k, v)) snap.set(k, cloneValue(v));
  return snap;
}

export function restoreCpu(c: Cpu, snap: CpuSnapshot): void {
  const target = c as unknown as Record<string, unknown>;
  for (const [k, v] of snap) {
    const cur = target[k];
    if (cur instanceof Int32Array || cur instanceof Uint8Array || cur instanceof Uint32Array || cur instanceof Float64Array) {
      (cur as Int32Array).set(v as Int32Array);
    } else if (Array.isArray(cur)) {
      const src = v as unknown[];
      for (let i = 0; i < src.length; i++) {
        if (cur[i] instanceof Segment) Object.assign(cur[i], src[i]); else cur[i] = src[i];
      }
    } else if (cur instanceof Segment || cur instanceof DescriptorTable) {
      Object.assign(cur, v);
    } else {
      target[k] = v;
    }
  }
  c.flushTlb(false);
  c.updateMode();
  c.slow = true;
}

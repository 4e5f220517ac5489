// Snapshot and restore of an object graph in place: every reachable object's own fields (and typed
// array / array / Map / Set contents) are recorded, and restoring puts them back into the same
// objects. Used by the recording to rewind the hypervisor model and the VMM (the processor has its
// own exact snapshot in cpu/snapshot.ts; guest memory rewinds through the bus's undo log).

export interface GraphSnapshot {
  entries: Entry[];
}

type Entry =
  | { kind: 'object'; obj: Record<string, unknown>; fields: [string, unknown][] }
  | { kind: 'array'; obj: unknown[]; items: unknown[] }
  | { kind: 'typed'; obj: TypedArray; data: TypedArray }
  | { kind: 'map'; obj: Map<unknown, unknown>; items: [unknown, unknown][] }
  | { kind: 'set'; obj: Set<unknown>; items: unknown[] };

type TypedArray = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array |
  Float32Array | Float64Array | BigInt64Array | BigUint64Array;

function isTyped(v: unknown): v is TypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/**
 * Record everything reachable from `roots`, not descending into objects for which `stop` is true
 * (they are kept by reference) nor into functions.
 */
export function snapshotGraph(roots: object[], stop: (o: object) => boolean): GraphSnapshot {
  const seen = new Set<object>();
  const entries: Entry[] = [];
  const stack: object[] = [...roots];
  const visit = (v: unknown) => {
    if (v !== null && typeof v === 'object' && !seen.has(v) && !stop(v)) stack.push(v);
  };
  while (stack.length) {
    const o = stack.pop()!;
    if (seen.has(o)) continue;
    seen.add(o);
    if (isTyped(o)) { entries.push({ kind: 'typed', obj: o, data: o.slice() as TypedArray }); continue; }
    if (o instanceof DataView || o instanceof ArrayBuffer || o instanceof WeakMap || o instanceof WeakSet || o instanceof Promise) continue;
    if (Array.isArray(o)) { entries.push({ kind: 'array', obj: o, items: o.slice() }); o.forEach(visit); continue; }
    if (o instanceof Map) {
      const items = [...o.entries()];
      entries.push({ kind: 'map', obj: o, items });
      for (const [k, v] of items) { visit(k); visit(v); }
      continue;
    }
    if (o instanceof Set) { const items = [...o]; entries.push({ kind: 'set', obj: o, items }); items.forEach(visit); continue; }
    const rec = o as Record<string, unknown>;
    const fields: [string, unknown][] = [];
    for (const k of Object.keys(rec)) {
      const v = rec[k];
      fields.push([k, v]);
      visit(v);
    }
    entries.push({ kind: 'object', obj: rec, fields });
  }
  return { entries };
}

/** Put every recorded object back the way it was. */
export function restoreGraph(s: GraphSnapshot): void {
  for (const e of s.entries) {
    switch (e.kind) {
      case 'typed': (e.obj as Uint8Array).set(e.data as Uint8Array); break;
      case 'array': e.obj.length = 0; e.obj.push(...e.items); break;
      case 'map': e.obj.clear(); for (const [k, v] of e.items) e.obj.set(k, v); break;
      case 'set': e.obj.clear(); for (const v of e.items) e.obj.add(v); break;
      case 'object': {
        const keep = new Set(e.fields.map(([k]) => k));
        for (const k of Object.keys(e.obj)) if (!keep.has(k)) delete e.obj[k];
        for (const [k, v] of e.fields) {
          const d = Object.getOwnPropertyDescriptor(e.obj, k);
          if (d && !d.writable && !d.set) continue; // readonly fields keep their (restored) object
          e.obj[k] = v;
        }
        break;
      }
    }
  }
}

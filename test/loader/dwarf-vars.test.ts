// DWARF location expressions (DWARF 5 §2.5, §2.6) and robustness of the variables/types/CFI readers
// against malformed sections: errors are reported or values marked unavailable, never thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { evaluateLocation, type LocationContext } from '../../vm-core/loader/dwarf/location';
import { DwarfProgram } from '../../vm-core/loader/dwarf/program';
import { typeName } from '../../vm-core/loader/dwarf/types';
import { parseElf } from '../../vm-core/loader/elf';
import type { DebugSections } from '../../vm-core/loader/dwarf/sections';
import { buildCGuest, C_BUILDS, label } from '../debug/c-build';

const ctx: LocationContext = {
  addressSize: 8,
  reg: (n) => (n === 7 ? 0x7000n : n === 6 ? 0x6ff0n : n === 5 ? 42n : undefined),
  read: (a, size) => (a === 0x6ff8n ? 0x1234n & ((1n << BigInt(8 * size)) - 1n) : undefined),
  frameBase: () => 0x7010n,
  cfa: () => 0x7008n,
  entryReg: (n) => (n === 5 ? 7n : undefined),
};

test('location expressions: registers, memory, values, pieces, entry values', () => {
  assert.deepEqual(evaluateLocation(Uint8Array.of(0x91, 0x6c), ctx), { kind: 'memory', addr: 0x7010n - 20n }); // fbreg -20
  assert.deepEqual(evaluateLocation(Uint8Array.of(0x76, 0x08), ctx), { kind: 'memory', addr: 0x6ff8n }); // breg6 +8
  assert.deepEqual(evaluateLocation(Uint8Array.of(0x55), ctx), { kind: 'register', reg: 5 }); // reg5
  assert.deepEqual(evaluateLocation(Uint8Array.of(0x9c), ctx), { kind: 'memory', addr: 0x7008n }); // call_frame_cfa
  assert.deepEqual(evaluateLocation(Uint8Array.of(0x76, 0x08, 0x06, 0x23, 0x10, 0x9f), ctx), { kind: 'value', value: 0x1244n }); // deref, plus_uconst, stack_value
  assert.deepEqual(evaluateLocation(Uint8Array.of(0x35, 0x09, 0xfd, 0x1e, 0x9f), ctx), { kind: 'value', value: BigInt.asUintN(64, -15n) }); // lit5 * const1s -3
  assert.deepEqual(evaluateLocation(Uint8Array.of(0xa3, 0x01, 0x55, 0x9f), ctx), { kind: 'value', value: 7n }); // entry_value(reg5)
  const p = evaluateLocation(Uint8Array.of(0x50, 0x93, 0x04, 0x93, 0x04), ctx); // reg0 piece 4, (optimized) piece 4
  assert.deepEqual(p, { kind: 'pieces', pieces: [{ loc: { kind: 'register', reg: 0 }, bits: 32, offset: 0 }, { loc: { kind: 'optimized' }, bits: 32, offset: 0 }] });
  assert.deepEqual(evaluateLocation(new Uint8Array(0), ctx), { kind: 'optimized' });
});

test('location expressions: malformed input is an error location, never an exception', () => {
  for (const bad of [[0x91], [0x06], [0x22], [0x2f, 0x00, 0x80], [0xff], [0x0e, 0x01], [0xa3, 0x02, 0x76, 0x00]]) {
    const l = evaluateLocation(Uint8Array.from(bad), ctx);
    assert.equal(l.kind, 'error', `${bad}: ${JSON.stringify(l)}`);
  }
  // A backward branch loop ends at the operation limit.
  assert.equal(evaluateLocation(Uint8Array.of(0x2f, 0xfd, 0xff), ctx).kind, 'error');
});

// Deterministic xorshift PRNG for the corruption below.
function rng(seed: number) { let s = seed >>> 0 || 1; return () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) / 2 ** 32; }; }

for (const b of C_BUILDS.filter((x) => x.opt === 'O2')) {
  test(`variables, types and CFI survive corrupted sections: ${label(b)}`, (t) => {
    const elf = buildCGuest('vars', b);
    if (typeof elf !== 'string') { t.skip(elf.skip); return; }
    const r = parseElf(new Uint8Array(readFileSync(elf)), elf);
    assert.ok(r.ok && r.image.debug);
    if (!r.ok || !r.image.debug) return;
    const base = r.image.debug.sections;
    const clean = new DwarfProgram(base, r.image.debug.addressSize);
    assert.deepEqual(clean.problems, []);
    assert.ok(clean.cfi.fdes.length >= 3);
    const rand = rng(b.bits * 7 + 1);
    for (let round = 0; round < 60; round++) {
      const secs: DebugSections = {};
      for (const [k, s] of Object.entries(base) as [keyof DebugSections, NonNullable<DebugSections[keyof DebugSections]>][]) {
        const bytes = s.bytes.slice(0, round % 5 === 0 ? Math.floor(rand() * s.bytes.length) : s.bytes.length);
        for (let n = 0; n < 1 + round % 8; n++) if (bytes.length) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
        secs[k] = { ...s, bytes };
      }
      const p = new DwarfProgram(secs, r.image.debug.addressSize);
      for (let pc = 0x100000; pc < 0x100100; pc += 3) {
        for (const f of p.scopesAt(pc)) {
          for (const v of [...p.params(f), ...p.locals(f)]) {
            typeName(v.type);
            p.locate(v, pc, ctx);
          }
        }
        p.cfi.rowAt(pc);
      }
    }
  });
}

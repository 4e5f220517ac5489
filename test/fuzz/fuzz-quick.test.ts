// A quick version of `npm run fuzz` for `npm test`: 2,000 random byte streams over 16-, 32- and
// 64-bit modes must never throw out of the core, and every "not emulated" stop must name the
// instruction and its address. The full 100,000-stream run is test/fuzz/run-fuzz.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatStats, runRange } from './fuzz-core';

test('2,000 random byte streams in 16/32/64-bit modes never throw out of the core', () => {
  const stats = runRange(7, 0, 2000, 200);
  assert.equal(stats.streams, 2000);
  assert.equal(stats.failures.length, 0, formatStats(stats, 10));
  // The streams do execute: most of them run instructions before they stop.
  assert.ok(stats.instructions > 2000, `only ${stats.instructions} instructions executed`);
});

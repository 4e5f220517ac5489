// The VM Exits view's data: kept after the guest ends (the last run stays visible) until another
// session starts; fetched incrementally; bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitLogStore, MAX_KEPT, exitDisplayName } from '../../extension/views/exit-log-store';
import type { ExitLogEntry } from '../../extension/protocol';

const exit = (index: number, reason = 'IO', layer: ExitLogEntry['layer'] = 'userspace'): ExitLogEntry =>
  ({ index, vcpu: 0, reason, rip: '0x100000', layer, details: 'port=0x3f8' });

test('the last run is kept after the session ends, until the next launch', () => {
  const s = new ExitLogStore();
  s.follow('a');
  s.add([exit(0), exit(1, 'EXIT_REASON_CPUID', 'hardware')]);
  s.end();
  assert.equal(s.ended, true);
  assert.equal(s.total, 2, 'still there after the end');
  assert.deepEqual(s.reasons(), ['EXIT_REASON_CPUID', 'KVM_EXIT_IO']);
  s.follow('a');
  assert.equal(s.total, 2, 'the same session goes on');
  s.follow('b');
  assert.equal(s.total, 0, 'a new launch starts over');
  assert.equal(s.ended, false);
  assert.equal(s.next, 0);
});

test('incremental fetches ignore exits already held; RESET starts over; the newest MAX_KEPT are kept', () => {
  const s = new ExitLogStore();
  s.follow('a');
  s.add([exit(0), exit(1)]);
  s.add([exit(1), exit(2)]);
  assert.deepEqual(s.exits.map((e) => e.index), [0, 1, 2]);
  assert.equal(s.next, 3);
  s.clear();
  assert.equal(s.total, 0);
  s.add(Array.from({ length: MAX_KEPT + 10 }, (_, i) => exit(i)));
  assert.equal(s.exits.length, MAX_KEPT);
  assert.equal(s.dropped, 10);
  assert.equal(s.total, MAX_KEPT + 10);
  assert.equal(exitDisplayName(exit(0, 'HYPERCALL')), 'KVM_EXIT_HYPERCALL');
});

test('end() without a session keeps nothing to show', () => {
  const s = new ExitLogStore();
  s.end();
  assert.equal(s.ended, false);
  assert.equal(s.total, 0);
});

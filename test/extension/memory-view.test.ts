// The memory view's logic without VS Code: targets (GVA, gpa:, under:), the memory references the
// adapter parses, which bytes changed since the last stop, the dump rows, and the page's CSP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changedOffsets, hexRow, memoryHtml, memoryReference, parseMemoryTarget } from '../../extension/views/memory-html';
import { parseMemoryReference } from '../../adapter/session';
import { contentSecurityPolicy } from '../../extension/views/statistics-html';

test('targets: a bare expression is a GVA; gpa: and under: choose the layer; references round-trip through the adapter', () => {
  assert.deepEqual(parseMemoryTarget('rsp'), { space: 'gva', expression: 'rsp' });
  assert.deepEqual(parseMemoryTarget(' gpa:rsp+8 '), { space: 'gpa', expression: 'rsp+8' });
  assert.deepEqual(parseMemoryTarget('under:0x300000'), { space: 'under', expression: '0x300000' });
  assert.deepEqual(parseMemoryTarget('phys:0x10'), { space: 'gpa', expression: '0x10' });
  assert.deepEqual(parseMemoryReference(memoryReference('gva', 0x7ff0)), { address: 0x7ff0, physical: false });
  assert.deepEqual(parseMemoryReference(memoryReference('gpa', 0x1000)), { address: 0x1000, physical: true });
  assert.deepEqual(parseMemoryReference(memoryReference('under', 0x300000)), { address: 0x300000, physical: true, underlying: true });
});

test('changed bytes: compared at the same guest address, also when the view moved (RSP changed)', () => {
  assert.deepEqual(changedOffsets(undefined, { address: 0, bytes: [1, 2] }), [], 'nothing changed at the first stop');
  assert.deepEqual(changedOffsets({ address: 0x100, bytes: [1, 2, 3, 4] }, { address: 0x100, bytes: [1, 9, 3, 8] }), [1, 3]);
  // The view moved 2 bytes down: offset 0 now is old offset 2.
  assert.deepEqual(changedOffsets({ address: 0x100, bytes: [1, 2, 3, 4] }, { address: 0x102, bytes: [3, 7, 5, 6] }), [1]);
  assert.deepEqual(changedOffsets({ address: 0, bytes: [null, 1] }, { address: 0, bytes: [5, null] }), [], 'unreadable is not a change');
});

test('a dump row: address, 16 hex bytes (?? where unreadable), ASCII', () => {
  const bytes = [...Buffer.from('Hello, KVM!\n'), 0, 0xff, null, 0x41];
  assert.equal(hexRow(0x100000, bytes), '0x00100000  48 65 6c 6c 6f 2c 20 4b 56 4d 21 0a 00 ff ?? 41  Hello, KVM!... A');
});

test('the memory page: the statistics page\'s CSP, a nonce\'d script, data never parsed as HTML, edits posted as messages', () => {
  const html = memoryHtml({ expression: '</script>', space: 'gva', layers: [{ title: 'GVA 0x0', address: 0, bytes: [1, null], changed: [0], writable: true }] }, 'n0');
  assert.equal(/http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1], contentSecurityPolicy('n0'));
  assert.deepEqual(html.match(/<script\b[^>]*>/g), ['<script type="application/json" id="data">', '<script nonce="n0">']);
  assert.equal(html.split('</script>').length - 1, 2);
  assert.doesNotMatch(html, /innerHTML|eval\(|new Function|https?:\/\//);
  assert.match(html, /postMessage\(\{ type: 'write'/);
  assert.match(html, /postMessage\(\{ type: 'goto'/);
});

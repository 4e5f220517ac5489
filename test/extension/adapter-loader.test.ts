// The extension reaches the adapter only through dist/adapter.js; until it is built it says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADAPTER_NOT_BUILT, loadAdapter } from '../../extension/adapter-loader';

const root = mkdtempSync(join(tmpdir(), 'adapter-loader-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const dist = (name: string, source?: string) => {
  const d = join(root, name);
  mkdirSync(d);
  if (source !== undefined) writeFileSync(join(d, 'adapter.js'), source);
  return d;
};

test('no dist/adapter.js: "adapter not built yet", naming the missing file', () => {
  const d = dist('missing');
  const r = loadAdapter(d);
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.message.includes(ADAPTER_NOT_BUILT) && r.message.includes(join(d, 'adapter.js')));
});

test('an adapter.js without KvmGuestSession is not taken for an adapter', () => {
  const r = loadAdapter(dist('wrong', 'exports.Other = class {};'));
  assert.ok(!r.ok && r.message.includes('does not export KvmGuestSession'));
});

test('an adapter.js that throws while loading is reported with its error', () => {
  const r = loadAdapter(dist('throws', 'throw new Error("wasm missing");'));
  assert.ok(!r.ok && r.message.includes('wasm missing'));
});

test('a built adapter is loaded once and its session class returned', () => {
  const d = dist('good', 'exports.KvmGuestSession = class KvmGuestSession { handleMessage() {} dispose() {} };');
  const a = loadAdapter(d);
  assert.ok(a.ok && a.module.KvmGuestSession.name === 'KvmGuestSession');
  assert.equal(loadAdapter(d), a);
});

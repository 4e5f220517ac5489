// The host vendor the native comparisons model (native-host.ts hostVendor), from /proc/cpuinfo text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostVendor } from './native-host';

test('hostVendor maps /proc/cpuinfo vendor_id to the modelled vendor', () => {
  assert.equal(hostVendor('processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n'), 'intel');
  assert.equal(hostVendor('processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\n'), 'amd');
  assert.equal(hostVendor('vendor_id\t: HygonGenuine\n'), 'amd');
  assert.equal(hostVendor('vendor_id\t: CentaurHauls\n'), undefined);
  assert.equal(hostVendor(''), undefined);
});

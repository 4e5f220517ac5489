import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCap, parseInteger, parseSize, resolveLaunchOptions, OPTION_SPECS } from '../../vm-core/config/launch-options';
import { schemaText } from '../../tools/gen-launch-schema';

test('sizes: decimal, hex, K/M/G suffixes', () => {
  assert.equal(parseSize('64M'), 64 * 1024 * 1024);
  assert.equal(parseSize('0x1000'), 4096);
  assert.equal(parseSize('2g'), 2 * 1024 ** 3);
  assert.equal(parseSize('512K'), 512 * 1024);
  assert.equal(parseSize(4096), 4096);
  assert.equal(parseSize('12Q'), undefined);
  assert.equal(parseSize(''), undefined);
  assert.equal(parseSize(-1), undefined);
});

test('integers and addresses in NASM-ish forms', () => {
  assert.equal(parseInteger('0x7c00'), 0x7c00);
  assert.equal(parseInteger('7c00h'), 0x7c00);
  assert.equal(parseInteger('0b101'), 5);
  assert.equal(parseInteger('1_000'), 1000);
  assert.equal(parseInteger('zz'), undefined);
});

test('caps: KVM_CAP_ prefix optional, value defaults to 1, 64-bit values', () => {
  assert.deepEqual(parseCap('KVM_CAP_EXIT_HYPERCALL=0x1000'), { name: 'KVM_CAP_EXIT_HYPERCALL', value: 0x1000n });
  assert.deepEqual(parseCap('x86_notify_vmexit=0x100000003'), { name: 'KVM_CAP_X86_NOTIFY_VMEXIT', value: 0x100000003n });
  assert.deepEqual(parseCap('X86_TRIPLE_FAULT_EVENT'), { name: 'KVM_CAP_X86_TRIPLE_FAULT_EVENT', value: 1n });
  assert.match(parseCap('FOO=bar') as string, /bad value "bar"/);
  assert.match(parseCap('bad name') as string, /bad capability name/);
});

test('resolveLaunchOptions: defaults, conversions and errors that name the option', () => {
  const ok = resolveLaunchOptions({ program: 'a.asm', memory: '16M', vendor: 'amd', caps: ['EXIT_HYPERCALL=0x1000'], vcpus: '2' });
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.options.memory, 16 * 1024 * 1024);
  assert.equal(ok.options.vendor, 'amd');
  assert.equal(ok.options.vcpus, 2);
  assert.equal(ok.options.entry, 'auto');
  assert.equal(ok.options.caps[0].value, 0x1000n);
  const bad = resolveLaunchOptions({ memory: 'lots', vendor: 'via', vcpu: 2, entry: 5 });
  const byOpt = Object.fromEntries(bad.errors.map((e) => [e.option, e.message]));
  assert.match(byOpt.memory, /expected a size like 64M, got "lots"/);
  assert.match(byOpt.vendor, /one of intel, amd/);
  assert.match(byOpt.vcpu, /unknown option "vcpu"/);
  assert.match(byOpt.entry, /one of auto, reset/);
  assert.match(byOpt.program, /missing/);
  assert.deepEqual(resolveLaunchOptions([] as never).errors[0].option, '(config)');
  assert.equal(resolveLaunchOptions({ program: 'x', vcpus: 0 }).errors[0].option, 'vcpus');
});

test('every option has a description; DAP-only flags are marked', () => {
  for (const s of OPTION_SPECS) assert.ok(s.description.length > 10, s.name);
  assert.ok(OPTION_SPECS.find((s) => s.name === 'stopOnEntry')?.dapOnly);
});

test('launch-schema.json is generated from the specs (run tools/gen-launch-schema.ts after changing them)', () => {
  const file = readFileSync(join(__dirname, '../../vm-core/config/launch-schema.json'), 'utf8');
  assert.equal(file, schemaText());
});

test('README.md option table is generated from the specs (run tools/gen-readme-options.ts)', () => {
  const { withTable } = require('../../tools/gen-readme-options') as typeof import('../../tools/gen-readme-options');
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  assert.equal(readme, withTable(readme));
});

test('irqchip: on by default, false from JSON or a flag string; false with more than one vCPU names the option', () => {
  assert.equal(resolveLaunchOptions({ program: 'a.asm' }).options.irqchip, true);
  const off = resolveLaunchOptions({ program: 'a.asm', irqchip: 'false' });
  assert.deepEqual(off.errors, []);
  assert.equal(off.options.irqchip, false);
  const bad = resolveLaunchOptions({ program: 'a.asm', irqchip: false, vcpus: 2 });
  assert.deepEqual(bad.errors.map((e) => e.option), ['irqchip']);
  assert.match(bad.errors[0].message, /false supports one vCPU \(vcpus is 2\).*userspace LAPIC/);
  assert.match(resolveLaunchOptions({ program: 'a.asm', irqchip: 'no' }).errors[0].message, /expected true or false, got "no"/);
});

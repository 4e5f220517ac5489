// kvm-guest unittests: a kvm-unit-tests-like directory (x86/unittests.cfg and multiboot kernels the
// test assembles from guests-kut.asm) run end to end through the bundled CLI: PASS/FAIL/SKIP with
// reasons, the first failing report line with its context, a timeout for a hanging test, test_args
// reaching the kernel's command line, SKIPs for what the model lacks, --json, and the cfg parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { assemble } from '../../vm-core/loader/assemble';
import { parseUnittestsCfg, planTest, classify } from '../../bin/unittests';

const ROOT = resolve(__dirname, '../..');

function kutDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kut-'));
  mkdirSync(join(dir, 'x86'));
  for (const r of ['pass', 'fail', 'skip', 'hang', 'args']) {
    const a = assemble({ path: join(__dirname, 'guests-kut.asm'), defines: { RESULT: r } });
    assert.ok(a.ok, a.ok ? '' : a.diagnostics.map((d) => d.message).join());
    writeFileSync(join(dir, 'x86', `${r}.flat`), a.image.segments[0].bytes);
  }
  writeFileSync(join(dir, 'x86', 'unittests.cfg'), `# test configuration
[good]
file = pass.flat
smp = 2

[bad]
file = fail.flat

[skipped]
file = skip.flat

[hangs]
file = hang.flat
timeout = 1

[args]
file = args.flat
test_args = 'alpha beta'
qemu_params = -cpu max,+x2apic -m 64

[nested]
file = pass.flat
qemu_params = -cpu max,+vmx
groups = vmx

[i386only]
file = pass.flat
arch = i386

[missing]
file = nothere.flat
`);
  return dir;
}

test('kvm-guest unittests: PASS/FAIL/SKIP per test, the first failing line with context, a timeout, test_args, skips with reasons, summary and status', () => {
  const dir = kutDir();
  // Every test but the hanging one, with a timeout no loaded host reaches; then the hanging one alone with a short one.
  const names = ['good', 'bad', 'skipped', 'args', 'nested', 'i386only', 'missing'];
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/kvm-guest.js'), 'unittests', dir, ...names, '--jobs', '4', '--timeout', '600'], { encoding: 'utf8', timeout: 900_000 });
  const h = spawnSync(process.execPath, [join(ROOT, 'bin/kvm-guest.js'), 'unittests', dir, 'hangs', '--timeout', '15'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(h.status, 1, h.stdout + h.stderr);
  assert.match(h.stdout, /^FAIL hangs \(timeout after 15 s, [\d.]+ s\)$/m);
  const out = r.stdout;
  assert.equal(r.status, 1, out + r.stderr);
  assert.match(out, /^PASS good \(2 tests, [\d.]+ s\)$/m);
  assert.match(out, /^FAIL bad \(FAIL: two is broken, [\d.]+ s\)$/m);
  assert.match(out, /^ {2}first failure: FAIL: two is broken$/m);
  assert.match(out, /^ {2}\| PASS: one$/m);
  assert.match(out, /^SKIP skipped \(1 tests, 1 skipped\)$/m);
  assert.match(out, /^PASS args \(1 tests, [\d.]+ s\)$/m);
  assert.match(out, /^ {2}note: -cpu \+x2apic not applied/m);
  assert.match(out, /^PASS nested \(2 tests, [\d.]+ s\)$/m, '-cpu +vmx runs with --nested');
  assert.match(out, /^SKIP i386only \(arch = i386 \(the build is x86_64\)\)$/m);
  assert.match(out, /^SKIP missing \(nothere.flat is not built\)$/m);
  assert.match(out, /^SUMMARY: 7 tests, 3 passed, 1 failed, 3 skipped \(logs in .*\)$/m);
  // --json, one test by name; the log holds the command and the kernel's command line.
  const j = spawnSync(process.execPath, [join(ROOT, 'bin/kvm-guest.js'), 'unittests', dir, 'args', '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(j.status, 0, j.stdout + j.stderr);
  const doc = JSON.parse(j.stdout);
  assert.deepEqual(doc.summary, { pass: 1, fail: 0, skip: 0, total: 1 });
  const log = require('node:fs').readFileSync(doc.tests[0].log, 'utf8') as string;
  assert.match(log, /--vcpus 1 --memory 64M --append alpha beta/);
  assert.match(log, /args\.flat alpha beta\r\n/, 'the stand-in prints "\\r\\n" as kvm-unit-tests does');
  // Bad input: a missing directory, an unknown test name.
  const bad = spawnSync(process.execPath, [join(ROOT, 'bin/kvm-guest.js'), 'unittests', dir, 'nosuch'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /no test or group named nosuch/);
});

test('unittests.cfg parsing: sections, multi-line params, bad lines named by line number; planning maps options', () => {
  const { tests, errors } = parseUnittestsCfg('[a]\nfile = a.flat\nsmp = $MAX\nqemu_params = """-cpu max\n -append "x y"\n"""\ngroups = g1 g2\nnonsense\n');
  assert.equal(tests.length, 1);
  assert.deepEqual(tests[0].groups, ['g1', 'g2']);
  assert.match(tests[0].params, /-cpu max\s+-append "x y"/);
  assert.deepEqual(errors, ['unittests.cfg:3: smp = $MAX is not a CPU count (a shell expression is not evaluated)', 'unittests.cfg:8: expected [name] or key = value, got "nonsense"']);
  // Statuses as QEMU's isa-debug-exit makes them; serial lines end in "\r\n" (kvm-unit-tests' serial_put).
  assert.deepEqual(classify(1, false, 'PASS: a\r\nSUMMARY: 30 tests\r\n', 60), { status: 'PASS', reason: '30 tests' });
  assert.deepEqual(classify(77, false, 'SUMMARY: 2 tests, 2 skipped\r\n', 60), { status: 'SKIP', reason: '2 tests, 2 skipped' });
  assert.equal(classify(3, false, 'PASS: a\r\nFAIL: b\r\n', 60).firstFailure, 'FAIL: b');
  assert.equal(classify(0, false, 'SUMMARY: 1 tests\r\n', 60).status, 'FAIL', 'status 0 is not a write to the exit device: run_tests.sh counts it a failure');
  assert.match(planTest({ ...tests[0], check: '/sys/module/kvm/parameters/enable_vmware_backdoor=Y' }, '/nonexistent', true, 60).skip ?? '',
    /check .*enable_vmware_backdoor=Y: the modelled KVM has enable_vmware_backdoor=N/);
  assert.equal(parseUnittestsCfg('[v]\nfile = v.flat\ncheck = /a=1 /b=2\n').tests[0].check, '/a=1 /b=2');
  assert.match(planTest({ ...tests[0], file: 'asyncpf.flat' }, '/nonexistent', true, 60).skip ?? '', /async page faults.*would wait forever/);
  const p = planTest({ ...tests[0], file: 'x' }, '/nonexistent', false, 60);
  assert.equal(p.skip, 'x is not built');
  const t = { ...tests[0], args: '10 `date +%s`', params: '-cpu max,vendor=AuthenticAMD -m 4g' };
  assert.match(planTest({ ...t, file: '../../../' + __filename.slice(1) }, '/', false, 60).skip ?? '', /-m 4G: more than the 3 GiB/);
  // SMP tests run with a short round-robin quantum (their vCPUs hand work over through spin-waits).
  const here = { ...tests[0], params: '', file: '../../../' + __filename.slice(1) };
  assert.match(planTest({ ...here, smp: 2 }, '/', false, 60).argv.join(' '), /--vcpus 2 --vcpu-quantum 1000/);
  assert.doesNotMatch(planTest({ ...here, smp: 1 }, '/', false, 60).argv.join(' '), /--vcpu-quantum/);
});

test('unittests planning: hv_* CPU flags become --hyperv; --tsc-khz is passed to every run', () => {
  const { tests } = parseUnittestsCfg('[s]\nfile = s.flat\nsmp = 2\nqemu_params = -cpu host,hv_passthrough -device hyperv-testdev\n');
  const self = '../../../' + __filename.slice(1);
  const p = planTest({ ...tests[0], file: self }, '/', false, 60, { tscKhz: 20_000 });
  assert.equal(p.skip, undefined);
  assert.ok(p.argv.includes('--hyperv'));
  assert.deepEqual(p.notes, [], '-device hyperv-testdev is the VMM\'s own with --hyperv');
  assert.deepEqual(p.argv.slice(p.argv.indexOf('--tsc-khz'), p.argv.indexOf('--tsc-khz') + 2), ['--tsc-khz', '20000']);
  assert.ok(!planTest({ ...tests[0], file: self }, '/', false, 60).argv.includes('--tsc-khz'));
});

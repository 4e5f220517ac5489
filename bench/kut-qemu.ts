// kvm-unit-tests under QEMU TCG beside kvm-guest: runs the named x86 tests of a kvm-unit-tests build
// with qemu-system-x86_64 -accel tcg as its x86/run script builds the command (pc-testdev,
// isa-debug-exit on 0xF4 with 4-byte writes, pci-testdev, -serial stdio, -kernel, -smp, -append and
// the test's extra_params), classifies each like run_tests.sh ((code << 1) | 1: 1 PASS, 77 SKIP,
// anything else FAIL, killed at --timeout), and prints QEMU's column beside kvm-guest's results
// (a `kvm-guest unittests --json` document given with --ours FILE). Nothing is stored: it really
// runs QEMU each time, and says so and stops when qemu-system-x86_64 is not installed.
//
//   node --import tsx bench/kut-qemu.ts DIR NAME... [--timeout S] [--jobs N] [--ours unittests.json] [--qemu PATH]
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseUnittestsCfg, type UnitTest } from '../bin/unittests';

interface Row { name: string; status: 'PASS' | 'FAIL' | 'SKIP'; seconds: number; why: string }

function qemuArgs(t: UnitTest, dir: string): string[] {
  const argv = ['-nodefaults', '-device', 'pc-testdev', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4', '-display', 'none',
    '-serial', 'stdio', '-device', 'pci-testdev', '-machine', 'accel=tcg', '-no-reboot', '-kernel', join(dir, 'x86', t.file), '-smp', String(t.smp)];
  if (t.args) argv.push('-append', t.args);
  // extra_params as the shell would split them; -cpu host does not exist under TCG: max is its nearest.
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t.params))) argv.push((m[1] ?? m[2] ?? m[3]).replace(/^host(?=,|$)/, 'max'));
  return argv;
}

function runQemu(qemu: string, t: UnitTest, dir: string, timeout: number): Promise<Row> {
  return new Promise((done) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(qemu, qemuArgs(t, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { if (out.length < 1 << 20) out += d.toString('latin1'); });
    child.stderr.on('data', (d: Buffer) => { if (out.length < 1 << 20) out += d.toString('latin1'); });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeout * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const lines = out.split('\n').map((l) => l.replace(/\r/g, ''));
      const summary = (lines.find((l) => l.startsWith('SUMMARY:')) ?? '').replace(/^SUMMARY:\s*/, '');
      const fail = lines.find((l) => /^FAIL: |Unhandled exception|^qemu-system/.test(l));
      if (timedOut) done({ name: t.name, status: 'FAIL', seconds, why: `timeout after ${timeout} s` });
      else if (code === 1) done({ name: t.name, status: 'PASS', seconds, why: summary });
      else if (code === 77) done({ name: t.name, status: 'SKIP', seconds, why: summary });
      else done({ name: t.name, status: 'FAIL', seconds, why: fail ?? `exit status ${code}` });
    });
  });
}

async function main(argv: string[]): Promise<number> {
  let timeout = 120, jobs = 1, ours = '', qemu = 'qemu-system-x86_64', dir = '';
  const names: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === '--timeout') timeout = Number(argv[++k]);
    else if (a === '--jobs') jobs = Math.max(1, Number(argv[++k]) | 0);
    else if (a === '--ours') ours = argv[++k];
    else if (a === '--qemu') qemu = argv[++k];
    else if (!dir) dir = resolve(a); else names.push(a);
  }
  if (!dir || !(timeout > 0)) { process.stderr.write('usage: node --import tsx bench/kut-qemu.ts DIR NAME... [--timeout S] [--jobs N] [--ours unittests.json] [--qemu PATH]\n'); return 2; }
  const probe = spawnSync(qemu, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) { process.stdout.write(`SKIP: ${qemu} is not installed (${probe.error?.message ?? `status ${probe.status}`}): no QEMU column\n`); return 0; }
  const { tests } = parseUnittestsCfg(readFileSync(join(dir, 'x86', 'unittests.cfg'), 'utf8'));
  const chosen = names.length ? tests.filter((t) => names.includes(t.name)) : tests;
  const rows: Row[] = new Array(chosen.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(jobs, chosen.length) }, async () => {
    while (next < chosen.length) { const k = next++; rows[k] = await runQemu(qemu, chosen[k], dir, Math.max(timeout, chosen[k].timeout ?? 0)); }
  }));
  const mine = new Map<string, { status: string; seconds: number; reason: string }>();
  if (ours) for (const r of (JSON.parse(readFileSync(ours, 'utf8')) as { tests: { name: string; status: string; seconds: number; reason: string }[] }).tests) mine.set(r.name, r);
  process.stdout.write(`${probe.stdout.split('\n')[0]} (-accel tcg), timeout ${timeout} s\n`);
  process.stdout.write(`${'test'.padEnd(22)} ${ours ? 'kvm-guest'.padEnd(16) : ''}QEMU TCG\n`);
  for (const r of rows) {
    const o = mine.get(r.name);
    const col = o ? `${o.status} ${o.status === 'SKIP' ? '' : `${o.seconds.toFixed(1)} s`}`.padEnd(16) : ours ? '-'.padEnd(16) : '';
    process.stdout.write(`${r.name.padEnd(22)} ${col}${r.status} ${r.seconds.toFixed(1)} s${r.status === 'PASS' ? '' : `  (${r.why})`}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e: unknown) => { process.stderr.write(`kut-qemu: ${(e as Error).message}\n`); process.exitCode = 70; });

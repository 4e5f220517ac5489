// kvm-guest unittests DIR [NAME...]: run kvm-unit-tests' x86 tests (DIR/x86/unittests.cfg) headless,
// in parallel, each under `kvm-guest run` with a timeout, and report PASS/FAIL/SKIP per test as
// run_tests.sh does, with a summary (or one JSON document with --json). Tests that need what the
// model lacks (nested VMX/SVM, the PMU, another architecture or accelerator) are SKIPped with the
// reason; a FAIL names the first failing report line and shows the log around it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT_USAGE, type CliIo } from './status';

export interface UnitTest {
  name: string;
  file: string;
  smp: number;
  /** test_args (-append): the test's command line. */
  args: string;
  /** qemu_params / extra_params. */
  params: string;
  groups: string[];
  arch: string;
  accel: string;
  timeout?: number;
  /** check: PATH=VALUE words run_tests.sh compares with the host's files before running the test. */
  check?: string;
  line: number;
}

/** Parse unittests.cfg (scripts/common.bash for_each_unittest); errors name the line. */
export function parseUnittestsCfg(text: string): { tests: UnitTest[]; errors: string[] } {
  const tests: UnitTest[] = [];
  const errors: string[] = [];
  let cur: UnitTest | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith('#')) continue;
    const sec = /^\[(.*)\]$/.exec(line);
    if (sec) { cur = { name: sec[1], file: '', smp: 1, args: '', params: '', groups: [], arch: '', accel: '', line: i + 1 }; tests.push(cur); continue; }
    const kv = /^([a-z_]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) { errors.push(`unittests.cfg:${i + 1}: expected [name] or key = value, got "${line}"`); continue; }
    if (!cur) { errors.push(`unittests.cfg:${i + 1}: "${kv[1]}" outside a [test] section`); continue; }
    let value = kv[2];
    if (value.startsWith('"""')) { // a multi-line value up to the closing """
      value = value.slice(3);
      while (!value.includes('"""') && i + 1 < lines.length) value += ' ' + lines[++i].trim().replace(/\\$/, '');
      value = value.replace(/"""\s*$/, '');
    }
    switch (kv[1]) {
      case 'file': cur.file = value; break;
      case 'smp': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1) errors.push(`unittests.cfg:${i + 1}: smp = ${value} is not a CPU count (a shell expression is not evaluated)`);
        else cur.smp = n;
        break;
      }
      case 'test_args': cur.args = unquote(value); break;
      case 'extra_params': case 'qemu_params': cur.params = value; break;
      case 'groups': cur.groups = value.split(/\s+/).filter(Boolean); break;
      case 'arch': cur.arch = value; break;
      case 'accel': cur.accel = value; break;
      case 'timeout': { const t = parseFloat(value); if (Number.isFinite(t)) cur.timeout = t; break; }
      case 'check': cur.check = value; break;
      default: break; // machine, disabled_if: QEMU-specific conditions
    }
  }
  return { tests, errors };
}

function unquote(s: string): string {
  const t = s.trim();
  if ((t.startsWith("'") && t.endsWith("'")) || (t.startsWith('"') && t.endsWith('"'))) return t.slice(1, -1);
  return t;
}

/** Split QEMU parameters into words, honouring quotes. */
function words(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** KVM module parameters as the model has them (the files unittests.cfg's `check` lines name). */
const MODEL_PARAMETERS: Record<string, string> = {
  '/sys/module/kvm/parameters/enable_vmware_backdoor': 'N',
};

/** Tests that need the host's behaviour rather than the VM's, by file: SKIP with the reason (never a hang). */
const NEEDS_HOST: Record<string, string> = {
  asyncpf: 'needs KVM async page faults, which come from the host swapping guest memory out (the test runs in a memory cgroup smaller than the guest and waits for "page not present" events): guest memory here is never paged out, so the test would wait forever',
};

export interface Plan { test: UnitTest; skip?: string; argv: string[]; notes: string[]; timeout: number; }

/** Map a test's configuration onto `kvm-guest run` options, or the reason it is skipped. */
export function planTest(t: UnitTest, dir: string, explicit: boolean, defaultTimeout: number, run: { tscKhz?: number } = {}): Plan {
  const notes: string[] = [];
  const plan = (skip?: string): Plan => ({ test: t, skip, argv, notes, timeout: Math.max(defaultTimeout, t.timeout ?? 0) });
  const argv: string[] = [];
  if (t.arch && t.arch !== 'x86_64') return plan(`arch = ${t.arch} (the build is x86_64)`);
  if (t.accel && t.accel !== 'kvm') return plan(`accel = ${t.accel} (this is KVM)`);
  if (t.groups.includes('nodefault') && !explicit) return plan('nodefault group (name the test to run it)');
  const lacking: Record<string, string> = { svm: 'nested SVM is not modelled', pmu: 'the PMU is not modelled', nested: 'nesting is not modelled' };
  for (const g of t.groups) if (lacking[g]) return plan(lacking[g]);
  // run_tests.sh runs a test only when each check file holds its value: the model's KVM module
  // parameters answer for the files it models (KVM's defaults); other files are the host's, not the VM's.
  for (const c of (t.check ?? '').split(/\s+/).filter(Boolean)) {
    const eq = c.indexOf('='), path = c.slice(0, eq), want = c.slice(eq + 1);
    const have = MODEL_PARAMETERS[path];
    if (have !== undefined && have !== want) return plan(`check ${c}: the modelled KVM has ${path.replace(/^.*\/parameters\//, '')}=${have} (KVM's default; run_tests.sh skips the test the same way)`);
  }
  const unmodelled = NEEDS_HOST[t.file.replace(/\.flat$/, '')];
  if (unmodelled) return plan(unmodelled);
  const file = join(dir, 'x86', t.file);
  if (!t.file || !existsSync(file)) return plan(`${t.file || 'no file'} is not built`);
  argv.push(file, '--exit-device', 'isa-debug-exit', '--vcpus', String(t.smp));
  // SMP tests hand work between vCPUs through spin-waits: a short round-robin quantum (QEMU runs vCPUs in parallel).
  if (t.smp > 1) argv.push('--vcpu-quantum', '1000');
  let args = t.args;
  if (/`/.test(args)) { notes.push(`test_args "${args}": shell commands are not run; each becomes 0 (no wall-clock time reaches the guest)`); args = args.replace(/`[^`]*`/g, '0'); }
  let memory = '';
  const w = words(t.params);
  for (let k = 0; k < w.length; k++) {
    const opt = w[k];
    if (opt === '-append') { args = (args ? args + ' ' : '') + (w[++k] ?? ''); continue; }
    if (opt === '-m') { const v = w[++k] ?? ''; memory = /^\d+$/.test(v) ? `${v}M` : v.toUpperCase(); continue; }
    if (opt === '-smp') { const n = parseInt(w[++k] ?? '', 10); if (n > 0) argv[argv.indexOf('--vcpus') + 1] = String(n); continue; }
    if (opt === '-cpu') {
      const flags = (w[++k] ?? '').split(',');
      for (const f of flags) {
        if (f === '+vmx') { if (!argv.includes('--nested')) argv.push('--nested'); continue; }
        if (f === '+svm') return plan(`-cpu ${f}: nested SVM is not modelled`);
        if (f === 'vendor=AuthenticAMD') argv.push('--vendor', 'amd');
        else if (f === 'vendor=GenuineIntel') argv.push('--vendor', 'intel');
        else if (/^hv[-_]/.test(f)) { if (!argv.includes('--hyperv')) argv.push('--hyperv'); }
        else if (/^[+-]/.test(f)) notes.push(`-cpu ${f} not applied (the model's CPUID is fixed)`);
      }
      continue;
    }
    // QEMU's hyperv-testdev: the VMM provides it (port 0x3000) with the Hyper-V enlightenments.
    if (opt === '-device' && w[k + 1] === 'hyperv-testdev') { k++; if (!argv.includes('--hyperv')) argv.push('--hyperv'); continue; }
    if (opt.startsWith('-')) { if (k + 1 < w.length && !w[k + 1].startsWith('-')) k++; notes.push(`${opt} ignored`); }
  }
  if (memory) {
    const n = /^(\d+)([MG])$/.exec(memory);
    const bytes = n ? Number(n[1]) * (n[2] === 'G' ? 1024 : 1) * 1024 * 1024 : NaN;
    if (!(bytes <= 0xc0000000)) return plan(`-m ${memory}: more than the 3 GiB below the 4 GiB hole this VMM supports`);
    argv.push('--memory', memory);
  } else argv.push('--memory', '128M'); // QEMU's default
  if (args) argv.push('--append', args);
  // The virtual TSC rate: tests that wait for seconds of guest time (hyperv_stimer, hyperv_clock)
  // retire fewer instructions per second at a lower rate.
  if (run.tscKhz) argv.push('--tsc-khz', String(run.tscKhz));
  return plan();
}

export interface TestResult {
  name: string; status: 'PASS' | 'FAIL' | 'SKIP'; reason: string; seconds: number;
  exitCode: number | null; log?: string; firstFailure?: string; context?: string[]; notes: string[];
}

/**
 * Classify a finished run. The child runs with --exit-device isa-debug-exit, so kvm-unit-tests' exit
 * codes 0 (pass), 1 (fail), 38 (77 >> 1: all skipped) arrive as QEMU makes them, (code << 1) | 1:
 * 1, 3 and 77, read as run_tests.sh reads them after qemu_fixup_return_code.
 */
export function classify(code: number | null, timedOut: boolean, output: string, timeout: number): Pick<TestResult, 'status' | 'reason' | 'firstFailure' | 'context'> {
  // kvm-unit-tests' serial_put sends "\r\n" for each "\n": a line keeps no carriage return.
  const lines = output.split('\n').map((l) => l.replace(/\r/g, ''));
  const summary = lines.find((l) => l.startsWith('SUMMARY:')) ?? '';
  const failAt = lines.findIndex((l) => /^FAIL: |^FAIL |Unhandled exception|^Abort|panic/i.test(l));
  const context = failAt >= 0 ? lines.slice(Math.max(0, failAt - 3), failAt + 4) : lines.filter((l) => l).slice(-6);
  if (timedOut) return { status: 'FAIL', reason: `timeout after ${timeout} s${summary ? ` (${summary})` : ''}`, firstFailure: failAt >= 0 ? lines[failAt] : undefined, context };
  if (code === 1) return { status: 'PASS', reason: summary.replace(/^SUMMARY:\s*/, '') };
  if (code === 77) return { status: 'SKIP', reason: summary.replace(/^SUMMARY:\s*/, '') || 'all tests skipped' };
  const why = failAt >= 0 ? lines[failAt] : `exit status ${code}${lines.find((l) => l.startsWith('kvm-guest:')) ? `: ${lines.find((l) => l.startsWith('kvm-guest:'))}` : ''}`;
  return { status: 'FAIL', reason: why, firstFailure: failAt >= 0 ? lines[failAt] : undefined, context };
}

/**
 * How a child runs `kvm-guest run`: the bundle this command already runs from (dist/cli.cjs, which
 * bin/kvm-guest.js loads), loaded directly; else (running from the sources) bin/kvm-guest.js.
 */
function childCommand(): string[] | undefined {
  if (__filename.endsWith('.cjs')) return ['-e', 'require(process.argv[1]).main(process.argv.slice(2)).then((c) => { process.exitCode = c; })', __filename];
  const bin = [join(__dirname, 'kvm-guest.js'), join(__dirname, '..', 'bin', 'kvm-guest.js')].find((f) => existsSync(f));
  return bin ? [bin] : undefined;
}

function runOne(p: Plan, cmd: string[], logDir: string): Promise<TestResult> {
  return new Promise((done) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [...cmd, 'run', ...p.argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const cap = 4 << 20;
    child.stdout.on('data', (d: Buffer) => { if (out.length < cap) out += d.toString('latin1'); });
    child.stderr.on('data', (d: Buffer) => { if (out.length < cap) out += d.toString('latin1'); });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; if (child.pid) try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ } }, p.timeout * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const log = join(logDir, `${p.test.name}.log`);
      try { writeFileSync(log, `kvm-guest run ${p.argv.join(' ')}\n${out}`); } catch { /* the log is a convenience */ }
      const c = classify(code, timedOut, out, p.timeout);
      done({ name: p.test.name, ...c, seconds, exitCode: code, log, notes: p.notes });
    });
  });
}

const USAGE = 'Usage: kvm-guest unittests DIR [NAME...] [--jobs N] [--timeout SECONDS] [--json] [--log-dir DIR] [--tsc-khz KHZ]\n' +
  '  Runs the x86 tests of a kvm-unit-tests build (DIR/x86/unittests.cfg, DIR/x86/*.flat); NAMEs pick tests or groups.\n' +
  '  --tsc-khz runs every test at that virtual TSC rate (fewer instructions per second of guest time).\n';

export async function cmdUnittests(argv: string[], io: CliIo): Promise<number> {
  let jobs = Math.max(1, availableParallelism()), timeout = 120, json = false, logDir = '', dir = '', tscKhz = 0;
  const names: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    const val = () => { const v = argv[++k]; if (v === undefined) throw new Error(`${a}: missing value`); return v; };
    try {
      if (a === '--jobs' || a === '-j') { jobs = Number(val()); if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs: expected a positive integer`); }
      else if (a === '--timeout') { timeout = Number(val()); if (!(timeout > 0)) throw new Error('--timeout: expected seconds > 0'); }
      else if (a === '--json') json = true;
      else if (a === '--tsc-khz') { tscKhz = Number(val()); if (!Number.isInteger(tscKhz) || tscKhz < 1000 || tscKhz > 0xffffffff) throw new Error('--tsc-khz: expected an integer from 1000 to 4294967295'); }
      else if (a === '--log-dir') logDir = val();
      else if (a === '--help' || a === '-h') { io.out(USAGE); return 0; }
      else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
      else if (!dir) dir = a; else names.push(a);
    } catch (e) { io.err(`kvm-guest unittests: ${(e as Error).message}\n${USAGE}`); return EXIT_USAGE; }
  }
  if (!dir) { io.err(`kvm-guest unittests: missing DIR\n${USAGE}`); return EXIT_USAGE; }
  const cfgPath = join(resolve(dir), 'x86', 'unittests.cfg');
  let text: string;
  try { text = readFileSync(cfgPath, 'utf8'); } catch (e) { io.err(`kvm-guest unittests: cannot read ${cfgPath}: ${(e as Error).message}\n`); return EXIT_USAGE; }
  const { tests, errors } = parseUnittestsCfg(text);
  for (const e of errors) io.err(`${cfgPath.replace(/unittests\.cfg$/, '')}${e}\n`);
  const unknown = names.filter((n) => !tests.some((t) => t.name === n || t.groups.includes(n)));
  if (unknown.length) { io.err(`kvm-guest unittests: no test or group named ${unknown.join(', ')} in ${cfgPath}\n`); return EXIT_USAGE; }
  const chosen = names.length ? tests.filter((t) => names.includes(t.name) || t.groups.some((g) => names.includes(g))) : tests;
  const plans = chosen.map((t) => planTest(t, resolve(dir), names.includes(t.name), timeout, { tscKhz: tscKhz || undefined }));
  const bin = childCommand();
  if (!bin) { io.err('kvm-guest unittests: cannot find bin/kvm-guest.js\n'); return EXIT_USAGE; }
  const logs = logDir ? resolve(logDir) : mkdtempSync(join(tmpdir(), 'kvm-guest-unittests-'));
  try { mkdirSync(logs, { recursive: true }); } catch (e) { io.err(`kvm-guest unittests: --log-dir ${logs}: ${(e as Error).message}\n`); return EXIT_USAGE; }
  const results: TestResult[] = new Array(plans.length);
  const tty = !json && process.stderr.isTTY === true;
  let next = 0, finished = 0;
  const running = new Set<string>();
  const progress = () => { if (tty) io.err(`\r\x1b[K[${finished}/${plans.length}] running: ${[...running].join(', ')}`); };
  const print = (r: TestResult) => {
    if (json) return;
    if (tty) io.err('\r\x1b[K');
    const detail = [r.reason, r.status === 'SKIP' ? '' : `${r.seconds.toFixed(1)} s`].filter((x) => x).join(', ');
    io.out(`${r.status} ${r.name} (${detail})\n`);
    if (r.status === 'FAIL') {
      if (r.firstFailure) io.out(`  first failure: ${r.firstFailure}\n`);
      for (const l of r.context ?? []) io.out(`  | ${l}\n`);
      io.out(`  log: ${r.log}\n`);
    }
    for (const n of r.notes) io.out(`  note: ${n}\n`);
  };
  const worker = async () => {
    while (next < plans.length) {
      const k = next++, p = plans[k];
      if (p.skip) { results[k] = { name: p.test.name, status: 'SKIP', reason: p.skip, seconds: 0, exitCode: null, notes: p.notes }; finished++; print(results[k]); continue; }
      running.add(p.test.name); progress();
      results[k] = await runOne(p, bin, logs);
      running.delete(p.test.name); finished++;
      print(results[k]); progress();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, plans.length) || 1 }, worker));
  if (tty) io.err('\r\x1b[K');
  const count = (s: TestResult['status']) => results.filter((r) => r.status === s).length;
  const summary = { pass: count('PASS'), fail: count('FAIL'), skip: count('SKIP'), total: results.length };
  if (json) io.out(JSON.stringify({ summary, logDir: logs, tests: results }, null, 2) + '\n');
  else io.out(`SUMMARY: ${summary.total} tests, ${summary.pass} passed, ${summary.fail} failed, ${summary.skip} skipped (logs in ${logs})\n`);
  return summary.fail ? 1 : 0;
}

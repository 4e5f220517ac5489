// kvm-guest under a new user and hostile input (issue 14): guest bytes written raw and as the guest
// writes them, --timeout and Ctrl-C (what happened so far, "end": "INTERRUPTED", status 130), images
// that do not fit RAM, sources the CLI cannot assemble, inputs that never end, internal errors and
// triple faults that say what and where, boolean flags with a separate value, per-command help with
// defaults and aliases, options that do nothing refused, the bounded exit log with its counts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main, EXIT_USAGE, EXIT_LIMIT, EXIT_SHUTDOWN, EXIT_INTERNAL } from '../../bin/cli';

const ROOT = resolve(__dirname, '../..');
const RUNNER = join(ROOT, 'test/cli/run-cli.ts');
const FAULTS = join(ROOT, 'test/adapter/guests/faults.asm');
const EXITS = join(ROOT, 'test/adapter/guests/exits.asm');
const dir = mkdtempSync(join(tmpdir(), 'kvm-guest-cli14-'));
const file = (name: string, text: string | Uint8Array) => { const p = join(dir, name); writeFileSync(p, text); return p; };

async function cli(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '', err = '';
  const status = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { status, out, err };
}

/** A 64-bit guest that writes `bytes` to the debug port, then spins forever (no further exit). */
function spinner(bytes: number[]): string {
  return file(`spin-${bytes.join('-')}.asm`, `bits 64\norg 0x100000\n${bytes.map((b) => `mov al, ${b}\nout 0xe9, al\n`).join('')}spin:\njmp spin\n`);
}

/** Spawn kvm-guest; resolve when `until` matches stdout (then send `signal`), and at exit. */
function spawnCli(argv: string[], until?: RegExp, signal?: NodeJS.Signals): Promise<{ status: number | null; out: Buffer; err: string; sawAt?: number }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, ['--import', 'tsx', RUNNER, ...argv], { cwd: ROOT });
    const chunks: Buffer[] = [];
    let err = '', signalled = false, sawAt: number | undefined;
    const t0 = Date.now();
    const kill = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.stdout.on('data', (d: Buffer) => {
      chunks.push(d);
      if (until && !signalled && until.test(Buffer.concat(chunks).toString('latin1'))) {
        signalled = true; sawAt = Date.now() - t0;
        if (signal) setTimeout(() => p.kill(signal), 300);
      }
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (status) => { clearTimeout(kill); res({ status, out: Buffer.concat(chunks), err, sawAt }); });
  });
}

describe('guest output, --timeout and Ctrl-C', () => {
  test('byte 0xC1 from the guest is written raw (not UTF-8 c3 81)', () => {
    const g = file('c1.asm', 'bits 64\norg 0x100000\nmov al, 0xc1\nout 0xe9, al\nmov al, 0x0a\nmov dx, 0x3f8\nout dx, al\nhlt\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, 'run', g], { cwd: ROOT, timeout: 60_000 });
    assert.equal(r.status, 0, String(r.stderr));
    assert.deepEqual([...r.stdout], [0xc1, 0x0a]);
  });

  test('output is printed as the guest writes it (the guest then spins with no exit); Ctrl-C prints why and exits 130', async () => {
    const r = await spawnCli(['run', spinner([0x41, 0x42])], /AB/, 'SIGINT');
    assert.ok(r.sawAt !== undefined, 'the bytes before the spin must appear while the guest runs');
    assert.equal(r.out.toString('latin1'), 'AB');
    assert.equal(r.status, 130);
    assert.match(r.err, /kvm-guest: interrupted \(Ctrl-C\) after \d+\.\d s/);
  });

  test('Ctrl-C with --json prints the document so far with "end": "INTERRUPTED"', async () => {
    // A flat image (its "flat binary" warning on stderr says the run is under way): OUT 'Z', then JMP $.
    const g = file('spin.img', new Uint8Array([0xb0, 0x5a, 0xe6, 0xe9, 0xeb, 0xfe]));
    const p = spawn(process.execPath, ['--import', 'tsx', RUNNER, 'run', g, '--json'], { cwd: ROOT });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; if (/flat binary/.test(err)) setTimeout(() => p.kill('SIGINT'), 500); });
    const status = await new Promise<number | null>((r) => p.on('exit', r));
    assert.equal(status, 130, err);
    const doc = JSON.parse(out);
    assert.equal(doc.end, 'INTERRUPTED');
    assert.equal(doc.exit_code, 130);
    assert.equal(doc.output, 'Z');
    assert.equal(doc.exits_total, 1);
    assert.match(doc.message, /interrupted \(Ctrl-C\)/);
    assert.ok(doc.instructions > 2, String(doc.instructions));
  });

  test('--timeout SECONDS stops a guest that never ends: status 3, the output so far, "end": "TIMEOUT"', async () => {
    const g = spinner([0x48, 0x69]);
    const t = await cli('run', g, '--timeout', '1');
    assert.equal(t.status, EXIT_LIMIT);
    assert.equal(t.out, 'Hi');
    assert.match(t.err, /stopped by --timeout 1/);
    const j = JSON.parse((await cli('run', g, '--timeout', '0.5', '--json')).out);
    assert.equal(j.end, 'TIMEOUT');
    assert.equal(j.output, 'Hi');
    assert.equal((await cli('run', g, '--timeout', 'soon')).status, EXIT_USAGE);
  });
});

describe('images that cannot run', () => {
  test('a section beyond RAM is refused, naming it, the RAM size and --memory', async () => {
    const g = file('high.asm', 'bits 32\norg 0x08048000\nhlt\n');
    const r = await cli('run', g);
    assert.equal(r.status, EXIT_USAGE);
    assert.match(r.err, /section 0 \(flat\) at 0x8048000-0x8048001 lies beyond guest RAM \(64 MiB, up to 0x4000000\): give --memory 129M or more/);
    assert.equal((await cli('run', g, '--memory', '129M')).status, 0);
  });

  test('an ELF linked at 0x08048000 (gcc -m32) with the default 64M is refused, naming the segment', async (t) => {
    const c = file('prog.c', 'void _start(void) { for (;;) __asm__ volatile("hlt"); }\n');
    const elf = join(dir, 'prog.elf');
    const g = spawnSync('gcc', ['-m32', '-ffreestanding', '-nostdlib', '-static', '-Wl,-Ttext=0x08049000', '-o', elf, c], { encoding: 'utf8' });
    if (g.status !== 0) { t.skip(`gcc -m32 unavailable: ${g.error?.message ?? g.stderr.split('\n')[0]}`); return; }
    const r = await cli('run', elf);
    assert.equal(r.status, EXIT_USAGE);
    assert.match(r.err, /ELF segment \d+ .*at 0x804[89][0-9a-f]{3}-0x[0-9a-f]+ lies beyond guest RAM \(64 MiB, up to 0x4000000\): give --memory \d+M or more/);
  });

  test('a flat image larger than RAM is refused with the sizes (not placed as firmware)', async () => {
    const big = file('big.bin', new Uint8Array(128 * 1024).fill(0xf4));
    const r = await cli('run', big, '--memory', '64K', '--format', 'flat');
    assert.equal(r.status, EXIT_USAGE);
    assert.match(r.err, /the flat image is 131072 bytes at 0x7c00, ending at 0x27c00, past the end of guest RAM \(65536 bytes\).*--memory 1M or more.*--placement reset/);
  });

  test('a .c, a .s file and an empty .asm are refused; random bytes run with the format assumed said', async () => {
    const c = await cli('run', file('guest.c', 'int main(void) { return 0; }\n'));
    assert.equal(c.status, EXIT_USAGE);
    assert.match(c.err, /guest\.c is C source, which kvm-guest does not build/);
    const s = await cli('run', file('guest.s', 'hlt\n'));
    assert.match(s.err, /guest\.s is GNU as \(AT&T syntax\) source/);
    const e = await cli('run', file('empty.asm', '; nothing\n'));
    assert.equal(e.status, EXIT_USAGE);
    assert.match(e.err, /empty\.asm:1:1: error: the source assembles to no code or data: nothing to run/);
    const rnd = await cli('run', file('random.img', new Uint8Array([0xb0, 0x07, 0xe6, 0xf4])));
    assert.equal(rnd.status, 7);
    assert.match(rnd.err, /random\.img.*warning: no ELF header and not an \.asm\/\.nasm source: running it as a flat binary of 4 bytes at 0x7c00, entered in 16-bit mode/);
    const quiet = await cli('run', join(dir, 'random.img'), '--format', 'flat');
    assert.equal(quiet.err, '');
  });

  test('run /dev/zero and incbin "/dev/zero" stop at the input size cap with a clear error', async () => {
    const r = await cli('run', '/dev/zero');
    assert.equal(r.status, EXIT_USAGE);
    assert.match(r.err, /\/dev\/zero is larger than 256 MiB, the limit of one input file/);
    const inc = await cli('run', file('inc.asm', 'bits 64\norg 0x100000\nincbin "/dev/zero"\n'));
    assert.equal(inc.status, EXIT_USAGE);
    assert.match(inc.err, /inc\.asm:3:\d+: error: incbin '\/dev\/zero': \/dev\/zero is larger than 256 MiB/);
  });

  test('asm prints a 64-bit org as an address, never "0x-100"', async () => {
    const r = await cli('asm', file('org.asm', 'org 0xffffffffffffff00\nnop\n'), '-o', join(dir, 'org.bin'));
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /1 bytes at 0xffffffffffffff00/);
  });
});

describe('how a run ended, said with the place', () => {
  test('--entry reset with a flat image at 0x7C00: nothing at the RESET vector, --placement reset suggested', async () => {
    const r = await cli('run', file('boot.bin', new Uint8Array([0xf4])), '--entry', 'reset', '--format', 'flat');
    assert.equal(r.status, EXIT_INTERNAL);
    assert.match(r.err, /KVM_EXIT_INTERNAL_ERROR \(suberror 1: KVM_INTERNAL_ERROR_EMULATION\): instruction fetch at CS:IP f000:fff0 \(linear 0xfffffff0\) from guest-physical 0xfffffff0, which no memory backs .*nothing is at the RESET vector.*--placement reset/);
    const j = JSON.parse((await cli('run', join(dir, 'boot.bin'), '--entry', 'reset', '--format', 'flat', '--json')).out);
    assert.match(j.message, /no memory backs/);
  });

  test('a triple fault names the fault chain and the RIP it started at', async () => {
    const r = await cli('run', FAULTS, '-D', 'TRIPLE');
    assert.equal(r.status, EXIT_SHUTDOWN);
    assert.match(r.err, /KVM_EXIT_SHUTDOWN: triple fault: #UD -> #GP -> #GP -> #DF -> #GP while delivering #DF; the first fault was raised at RIP 0x1000[0-9a-f]{2}/);
  });

  test('--max-instructions: the instruction count is exact and the steps that retired none are explained', async () => {
    const g = file('rep.asm', 'bits 64\norg 0x100000\nxor esi, esi\nmov ecx, 1000000\nmov dx, 0x80\nrep outsb\nhlt\n');
    const j = JSON.parse((await cli('run', g, '--max-instructions', '20000', '--json')).out);
    assert.equal(j.end, 'LIMIT');
    assert.equal(j.instructions, 3); // the REP OUTSB has not completed: it retires once, at its end
    assert.ok(j.exits_total > 19_000, String(j.exits_total));
    assert.match(j.message, /--max-instructions 20000 limit: 3 instructions retired; the other 19997 steps were exits to userspace/);
  });
});

describe('options', () => {
  test('--irqchip false (a space) is the same as --irqchip=false, not a second image', async () => {
    const a = await cli('run', EXITS, '--irqchip', 'false', '--json');
    const b = await cli('run', EXITS, '--irqchip=false', '--json');
    assert.equal(a.status, b.status);
    assert.deepEqual(JSON.parse(a.out).exits, JSON.parse(b.out).exits);
  });

  test('options with no effect on a command are refused, naming the command', async () => {
    const p = await cli('run', EXITS, '--port', '5');
    assert.equal(p.status, EXIT_USAGE);
    assert.match(p.err, /--port is not an option of run \(it belongs to dap/);
    assert.match((await cli('run', EXITS, '--no-color')).err, /unknown option --no-color/);
    assert.match((await cli('asm', EXITS, '-o', join(dir, 'x.bin'), '--json')).err, /--json is not an option of asm/);
    assert.match((await cli('dap', '--vcpus', '2')).err, /--vcpus: an option of run, not of dap/);
  });

  test('--quiet: no end message; --exit-log all: hardware exits counted and listed', async () => {
    const q = await cli('run', FAULTS, '-D', 'TRIPLE', '--quiet');
    assert.equal(q.status, EXIT_SHUTDOWN);
    assert.equal(q.err, '');
    const all = await cli('run', EXITS, '--exit-log', 'all');
    assert.match(all.err, /exits by reason: .*\bIO 3\b/);
    assert.match(all.err, /exits by reason: .*hw:EXIT_REASON_CPUID 1\b/);
    const j = JSON.parse((await cli('run', EXITS, '--exit-log', 'all', '--json')).out);
    assert.ok(j.hardware_exits.some((e: { reason: string }) => e.reason === 'EXIT_REASON_CPUID'));
    assert.ok(j.exit_counts['hw:EXIT_REASON_CPUID'] >= 1);
  });

  test('the --json exit log is a ring of --exit-log-size, with every exit counted', async () => {
    const storm = join(ROOT, 'test/fuzz/guests/mmio-storm.asm');
    const j = JSON.parse((await cli('run', storm, '--max-exits', '3000', '--exit-log-size', '100', '--json')).out);
    assert.ok(j.exits.length >= 100 && j.exits.length <= 125, String(j.exits.length));
    assert.equal(j.exits_total, 3001);
    assert.equal(j.exit_counts.MMIO, 3001);
    assert.equal((await cli('run', storm, '--exit-log-size', '0')).status, EXIT_USAGE);
  });

  test('help: per command, defaults, the =false form, aliases, --version, the instructions field, aligned columns', async () => {
    const all = (await cli('--help')).out, run = (await cli('run', '--help')).out, asm = (await cli('asm', '--help')).out;
    assert.notEqual(run, all);
    assert.match(run, /^Usage: kvm-guest run IMAGE \[options\]/);
    assert.match(asm, /^Usage: kvm-guest asm FILE -o OUT/);
    assert.match((await cli('help', 'dap')).out, /^Usage: kvm-guest dap \[--port N\]/);
    assert.match(run, /--memory SIZE .*\[default: 64M\]/);
    assert.match(run, /--irqchip \| --irqchip=false .*\[default: true\]/);
    assert.match(run, /--intercept-ac-db \| --intercept-ac-db=false/);
    assert.match(run, /--caps NAME\[=VALUE\] \(also --cap NAME\[=VALUE\]\)/);
    assert.match(run, /--defines NAME=VALUE \(also --define NAME=VALUE\)/);
    assert.match(run, /--disable-quirks NAME\|BITS \(also --disable-quirk NAME\|BITS\)/);
    assert.match(all, /--version/);
    assert.match(run, /instructions \(guest instructions retired by all vCPUs/);
    assert.match(run, /--timeout SECONDS/);
    assert.match(run, /70 when kvm-guest itself/);
    // Aligned: every option's text starts at column 36; after a flag too long for that, on the next line there.
    const lines = run.split('\n');
    let rows = 0;
    lines.forEach((line, k) => {
      if (!/^ {2}-/.test(line)) return;
      rows++;
      if (/^ {2}\S.{0,32}\S {2,}\S/.test(line)) assert.ok(line[35] === ' ' && line[36] !== ' ', `not aligned: ${line}`);
      else assert.match(lines[k + 1], /^ {36}\S/, `continuation of ${line}`);
    });
    assert.ok(rows > 20, String(rows));
  });
});

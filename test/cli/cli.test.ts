// kvm-guest, the command line: run (text and --json with the kvm_run schema of issue 6), --config
// files with flag overrides, every documented exit status, errors naming the option or file:line
// with status 2, asm -o with a listing, dap --port (a DAP client connects, initializes, disconnects),
// and bench's usage. Most cases call bin/cli.ts main() in-process with a captured CliIo; some run the
// bundled bin/kvm-guest.js as a user would.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { main, EXIT_USAGE, EXIT_LIMIT, EXIT_SHUTDOWN, EXIT_INTERNAL } from '../../bin/cli';
import { BIN, ensureCliBundle } from './cli-bundle';

const ROOT = resolve(__dirname, '../..');
const GUESTS = join(ROOT, 'test/adapter/guests');
const exits = join(GUESTS, 'exits.asm'), faults = join(GUESTS, 'faults.asm');

async function cli(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '', err = '';
  const status = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { status, out, err };
}

const HEX = /^0x[0-9a-f]+$/;

describe('kvm-guest run', () => {
  test('text output: the debug port and serial text, status = the exit device byte', async () => {
    const r = await cli('run', exits);
    assert.equal(r.status, 0x21);
    assert.equal(r.out, 'Hi');
    assert.equal(r.err, '');
  });

  test('--json: exits with kvm_run names, end, exit_code, output, regs and sregs with 64-bit values as strings', async () => {
    const r = await cli('run', exits, '--json', '--cap', 'KVM_CAP_EXIT_HYPERCALL=0x1000');
    assert.equal(r.status, 0x21);
    const doc = JSON.parse(r.out);
    assert.deepEqual(Object.keys(doc).sort(), ['end', 'exit_code', 'exit_counts', 'exit_device', 'exit_value', 'exits', 'exits_total', 'instructions', 'output', 'regs', 'sregs']);
    assert.equal(doc.exit_value, 0x21);
    assert.equal(doc.exit_device, 'byte');
    assert.equal(doc.exits_total, doc.exits.length);
    assert.deepEqual(doc.exit_counts, { IO: 3, HYPERCALL: 1, MMIO: 1 });
    assert.equal(doc.end, 'EXIT_PORT');
    assert.equal(doc.exit_code, 0x21);
    assert.equal(doc.output, 'Hi');
    const io = doc.exits[0];
    assert.deepEqual(io, { reason: 'IO', vcpu: 0, rip: io.rip, port: 233, dir: 'out', size: 1, count: 1, data: [72] });
    assert.match(io.rip, HEX);
    const hc = doc.exits.find((e: { reason: string }) => e.reason === 'HYPERCALL');
    assert.equal(hc.nr, 12);
    assert.deepEqual(hc.args.slice(0, 3), ['0x200000', '0x10', '0x10']);
    assert.match(hc.ret, HEX);
    assert.match(hc.flags, HEX);
    const mmio = doc.exits.find((e: { reason: string }) => e.reason === 'MMIO');
    assert.deepEqual(mmio, { reason: 'MMIO', vcpu: 0, rip: mmio.rip, addr: '0x10000000', len: 4, is_write: 1, data: [0x34, 0x12, 0, 0] });
    assert.deepEqual(doc.exits.map((e: { reason: string }) => e.reason), ['IO', 'IO', 'HYPERCALL', 'MMIO', 'IO']);
    assert.deepEqual(Object.keys(doc.regs), ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags']
      .filter((k) => k in doc.regs).length === 18 ? Object.keys(doc.regs) : ['(missing kvm_regs fields)']);
    for (const v of Object.values(doc.regs)) assert.match(v as string, HEX);
    assert.equal(doc.regs.rsi, '0x4');
    for (const seg of ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt']) {
      const x = doc.sregs[seg];
      for (const k of ['selector', 'base', 'limit', 'type', 's', 'dpl', 'present', 'db', 'l', 'g']) assert.ok(k in x, `${seg}.${k}`);
      assert.match(x.base, HEX);
      assert.match(x.limit, HEX);
      assert.equal(typeof x.selector, 'number');
    }
    assert.equal(doc.sregs.cs.l, 1);
    for (const t of ['gdt', 'idt']) { assert.match(doc.sregs[t].base, HEX); assert.equal(typeof doc.sregs[t].limit, 'number'); }
    for (const k of ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apic_base']) assert.match(doc.sregs[k], HEX, k);
    assert.equal(doc.sregs.efer, '0x500');
  });

  test('the exit device: (V << 1) | 1 as QEMU isa-debug-exit for multiboot kernels, the byte for other images, --exit-device to choose', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exitdev-'));
    const kernel = join(dir, 'k.asm');
    // A multiboot kernel writing 0x1234 (a 32-bit OUT, as kvm-unit-tests' exit() does) to port 0xF4.
    writeFileSync(kernel, 'bits 32\norg 0x400000\nmb: dd 0x1BADB002, 0x00010000, 0xE4514FFE\n dd mb, mb, e, e, go\ngo: mov eax, VALUE\n mov dx, 0xf4\n out dx, eax\n hlt\ne:\n');
    for (const [v, status] of [[0, 1], [1, 3], [38, 77], [0x1234, 0x69]] as const) {
      const r = await cli('run', kernel, '-D', `VALUE=${v}`, '--json');
      assert.equal(r.status, status, `value ${v}: ((v << 1) | 1) & 0xff`);
      const doc = JSON.parse(r.out);
      assert.equal(doc.exit_code, status);
      assert.equal(doc.exit_value, v);
      assert.equal(doc.exit_device, 'isa-debug-exit');
    }
    assert.equal((await cli('run', kernel, '-D', 'VALUE=38', '--exit-device', 'byte')).status, 38);
    assert.equal((await cli('run', exits, '--exit-device', 'isa-debug-exit')).status, 0x43, '0x21 << 1 | 1');
    assert.match((await cli('run', exits, '--exit-device', 'qemu')).err, /--exit-device/);
  });

  test('standard input feeds COM1: an interrupt-driven echo guest, input arriving while it is halted, EOF ends a halted wait, --stdin=false, terminals only with --stdin', async () => {
    const echo = join(ROOT, 'test/vmm/guests/serial-echo.asm');
    const withInput = async (argv: string[], stream: PassThrough & { isTTY?: boolean }, feed?: (r: PassThrough) => void) => {
      let out = '', err = '';
      const p = main(argv, { out: (t) => { out += t; }, err: (t) => { err += t; }, stdin: () => stream });
      feed?.(stream);
      return { status: await p, out, err };
    };
    const piped = new PassThrough(); piped.end('hello\nq');
    let r = await withInput(['run', echo], piped);
    assert.equal(r.out, '>hello\n');
    assert.equal(r.status, 1, 'one interrupt took all of it');
    // Input in two parts: the guest halts between them, and the run waits for the second.
    const later = new PassThrough();
    r = await withInput(['run', echo, '-D', 'FCR=0xc7'], later, (s) => {
      s.write('ab');
      setTimeout(() => s.end('cq'), 300);
    });
    assert.equal(r.out, '>abc');
    assert.equal(r.status, 2, 'an interrupt for each part (the FIFO\'s character timeout)');
    const eof = new PassThrough(); eof.end('xy');
    r = await withInput(['run', echo], eof);
    assert.deepEqual([r.out, r.status], ['>xy', 0], 'stdin ended while the guest waits: the run ends (HLT)');
    const off = new PassThrough(); off.end('q');
    r = await withInput(['run', echo, '--stdin=false'], off);
    assert.deepEqual([r.out, r.status], ['>', 0]);
    const tty = Object.assign(new PassThrough(), { isTTY: true }); tty.write('q');
    r = await withInput(['run', echo], tty);
    assert.deepEqual([r.out, r.status], ['>', 0], 'a terminal is not read without --stdin');
    const rawModes: boolean[] = [];
    const tty2 = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (b: boolean) => { rawModes.push(b); } });
    r = await withInput(['run', echo, '--stdin'], tty2, (s) => s.write('ok\rq'));
    assert.deepEqual([r.out, r.status, rawModes], ['>ok\r', 1, [true, false]], 'raw mode while running, restored after');
    const tty3 = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
    r = await withInput(['run', echo, '--stdin'], tty3, (s) => setTimeout(() => s.write('\x03'), 100));
    assert.equal(r.status, 130, 'Ctrl-C interrupts, as QEMU\'s -serial stdio signal=on');
  });

  test('every documented exit status: HLT 0, --max-instructions 3, SHUTDOWN 4, INTERNAL_ERROR 5, --max-exits 3', async () => {
    const hlt = await cli('run', faults, '-D', 'HLT', '--json');
    assert.equal(hlt.status, 0);
    assert.equal(JSON.parse(hlt.out).end, 'HLT');
    const limit = await cli('run', exits, '--define', 'SPIN', '--max-instructions', '20000');
    assert.equal(limit.status, EXIT_LIMIT);
    assert.match(limit.err, /stopped at the --max-instructions 20000 limit/);
    const shutdown = await cli('run', faults, '-DTRIPLE', '--json');
    assert.equal(shutdown.status, EXIT_SHUTDOWN);
    const sd = JSON.parse(shutdown.out);
    assert.equal(sd.end, 'SHUTDOWN');
    assert.equal(sd.exits.at(-1).reason, 'SHUTDOWN');
    const internal = await cli('run', faults, '-D', 'INTERNAL=1', '--json');
    assert.equal(internal.status, EXIT_INTERNAL);
    const ie = JSON.parse(internal.out);
    assert.equal(ie.end, 'INTERNAL_ERROR');
    assert.equal(ie.exits.at(-1).reason, 'INTERNAL_ERROR');
    assert.equal(ie.exits.at(-1).suberror, 1);
    const text = await cli('run', faults, '-D', 'INTERNAL');
    assert.equal(text.status, EXIT_INTERNAL);
    assert.match(text.err, /KVM_EXIT_INTERNAL_ERROR \(suberror 1: KVM_INTERNAL_ERROR_EMULATION\): instruction fetch at RIP 0x20000000 from guest-physical 0x20000000, which no memory backs \(guest RAM is 0-0x3ffffff\)/);
    const maxExits = await cli('run', exits, '--max-exits', '1');
    assert.equal(maxExits.status, EXIT_LIMIT);
    assert.match(maxExits.err, /--max-exits 1/);
  });

  test('--irqchip=false: KVM_EXIT_HLT reaches the VMM; its exit record has KVM\'s RIP, past the HLT (as KVM_GET_REGS and the debugger)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-guest-hlt-'));
    const src = join(dir, 'halt.asm');
    writeFileSync(src, 'bits 64\norg 0x100000\nstart: hlt\nafter: out 0xf4, al\n');
    const r = await cli('run', src, '--entry', 'long', '--irqchip=false', '--json');
    assert.equal(r.status, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.deepEqual(doc.exits.map((e: { reason: string }) => e.reason), ['HLT']);
    assert.equal(doc.exits[0].rip, '0x100001');
    assert.equal(doc.end, 'HLT');
  });

  test('AMD, quirks and the hypercall policy reach the VM (seed 000 example: #UD handler with the quirk off)', async () => {
    const seed = join(ROOT, 'examples/seed000-hypercall-patching.asm');
    assert.equal((await cli('run', seed)).status, 0xc1);
    assert.equal((await cli('run', seed, '--vendor', 'amd')).status, 0xd9);
    const off = await cli('run', seed, '--disable-quirks', 'FIX_HYPERCALL_INSN');
    assert.equal(off.status, 6);
    assert.equal(off.out, 'U');
    assert.equal((await cli('run', seed, '--hypercall-policy', 'ud')).status, 6);
  });

  test('--config FILE.json, with flags overriding it; errors in the file name the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-guest-cli-'));
    const cfg = join(dir, 'launch.json');
    writeFileSync(cfg, JSON.stringify({ type: 'kvm-guest', request: 'launch', name: 'x', program: exits, stopOnEntry: true, maxInstructions: 5, defines: { SPIN: '1' } }));
    const limited = await cli('run', '--config', cfg);
    assert.equal(limited.status, EXIT_LIMIT);
    const overridden = await cli('run', '--config', cfg, '--max-instructions', '0', '--define', 'NOSPIN=1', '--json');
    // The flag's defines replace the file's (SPIN gone): the guest ends normally.
    assert.equal(overridden.status, 0x21);
    const rel = join(dir, 'rel.json');
    writeFileSync(join(dir, 'g.asm'), 'bits 64\nmov al, 7\nout 0xf4, al\n');
    writeFileSync(rel, JSON.stringify({ program: 'g.asm' }));
    assert.equal((await cli('run', '--config', rel)).status, 7, 'program paths are relative to the config file');
    writeFileSync(cfg, JSON.stringify({ program: exits, vendr: 'amd' }));
    const bad = await cli('run', '--config', cfg);
    assert.equal(bad.status, EXIT_USAGE);
    assert.match(bad.err, /--config: "vendr": unknown option/);
    writeFileSync(cfg, '{ "program": ');
    const broken = await cli('run', '--config', cfg);
    assert.equal(broken.status, EXIT_USAGE);
    assert.match(broken.err, /--config .*launch\.json: invalid JSON/);
    const missing = await cli('run', '--config', join(dir, 'none.json'));
    assert.match(missing.err, /--config .*none\.json: ENOENT/);
  });

  test('bad options and images: status 2, the option name or file:line on stderr', async () => {
    const cases: [string[], RegExp][] = [
      [['run', exits, '--vendr', 'amd'], /unknown option --vendr \(did you mean --vendor\?\)/],
      [['run', exits, '--vendor', 'arm'], /--vendor: expected one of intel, amd, got "arm"/],
      [['run', exits, '--memory', '12Q'], /--memory: expected a size like 64M/],
      [['run', exits, '--vcpus', '100'], /--vcpus: must be between 1 and 64/],
      [['run', exits, '--cap', 'NOPE'], /caps\[0\]: unknown capability KVM_CAP_NOPE/],
      [['run', exits, '--cap', 'EXIT_HYPERCALL=zz'], /--caps?: \[0\]: bad value "zz" for KVM_CAP_EXIT_HYPERCALL/],
      [['run', exits, '--disable-quirks', 'NOPE'], /disableQuirks\[0\]: unknown quirk "NOPE"/],
      [['run', exits, '--max-instructions'], /--max-instructions: missing value/],
      [['run'], /run: missing IMAGE/],
      [['run', exits, exits], /expected one IMAGE, got 2/],
      [['run', join(GUESTS, 'nope.asm')], /nope\.asm.*unable to open source file/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['asm', exits], /missing -o OUT/],
    ];
    for (const [argv, re] of cases) {
      const r = await cli(...argv);
      assert.equal(r.status, EXIT_USAGE, argv.join(' '));
      assert.match(r.err, re, argv.join(' '));
    }
    const dir = mkdtempSync(join(tmpdir(), 'kvm-guest-cli-'));
    const bad = join(dir, 'bad.asm');
    writeFileSync(bad, 'bits 64\nstart:\n    mov rax, rbx, rcx\n');
    const r = await cli('run', bad);
    assert.equal(r.status, EXIT_USAGE);
    assert.match(r.err, /bad\.asm:3:\d+: error: /);
  });

  test('help and version', async () => {
    const h = await cli('--help');
    assert.equal(h.status, 0);
    for (const flag of ['--load', '--entry', '--memory', '--vendor', '--cap', '--disable-quirks', '--hypercall-policy', '--vcpus', '--max-instructions', '--max-exits', '--config', '--json']) assert.match(h.out, new RegExp(flag));
    assert.match(h.out, /Exit status:/);
    assert.equal((await cli()).status, EXIT_USAGE);
    assert.match((await cli('--version')).out, /^kvm-guest \d+\.\d+\.\d+\n$/);
  });
});

describe('kvm-guest asm', () => {
  test('-o OUT with a listing; the binary runs as a flat image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-guest-asm-'));
    const out = join(dir, 'exits.bin'), lst = join(dir, 'exits.lst');
    const r = await cli('asm', exits, '-o', out, '-l', lst, '-D', 'X=1');
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /exits\.asm: \d+ bytes at 0x100000, \d+ symbols -> .*exits\.bin/);
    const bin = readFileSync(out);
    assert.ok(bin.length > 100);
    const listing = readFileSync(lst, 'utf8');
    assert.match(listing, /cpuid/);
    const flat = await cli('run', out, '--load', '0x100000', '--entry', 'long');
    assert.equal(flat.status, 0x21);
    assert.equal(flat.out, 'Hi');
    const bad = join(dir, 'bad.asm');
    writeFileSync(bad, 'nop\nfoo bar\n');
    const e = await cli('asm', bad, '-o', join(dir, 'bad.bin'));
    assert.equal(e.status, EXIT_USAGE);
    assert.match(e.err, /bad\.asm:2:\d+: error/);
    assert.equal(existsSync(join(dir, 'bad.bin')), false);
  });
});

describe('the bundled bin/kvm-guest.js', () => {
  before(ensureCliBundle);

  test('run --json from a shell: the same document, the exit status of the guest', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', exits, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0x21, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.end, 'EXIT_PORT');
    assert.equal(doc.output, 'Hi');
    const bad = spawnSync(process.execPath, [BIN, 'run', exits, '--hypercall-policy', 'sometimes'], { encoding: 'utf8' });
    assert.equal(bad.status, EXIT_USAGE);
    assert.match(bad.stderr, /--hypercall-policy: expected one of patch, patch-fixed, ud, emulate/);
  });

  test('bench passes its options on; a bad one is an error, not a crash (bench itself is `npm run bench`)', () => {
    const r = spawnSync(process.execPath, [BIN, 'bench', '--section', 'no-such-section'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bench: no section 'no-such-section'/);
    const h = spawnSync(process.execPath, [BIN, 'bench', '--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(h.status, 1);
    assert.match(h.stderr, /bench: unknown argument '--help' \(sections: .*cpu.*\)/);
  });

  test('dap --port N: a DAP client connects on loopback, initializes and disconnects', async () => {
    const p = spawn(process.execPath, [BIN, 'dap', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const port = await new Promise<number>((res, rej) => {
        let err = '';
        const t = setTimeout(() => rej(new Error(`no listening line: ${err}`)), 30_000);
        p.stderr!.on('data', (d) => { err += d; const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err); if (m) { clearTimeout(t); res(Number(m[1])); } });
      });
      assert.ok(port > 0);
      const dc = new DebugClient('node', BIN, 'kvm-guest');
      await dc.start(port);
      const init = await dc.initializeRequest({ adapterID: 'kvm-guest', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
      assert.equal(init.body?.supportsStepBack, true);
      const stopped = dc.waitForEvent('stopped');
      await dc.launchRequest({ program: exits, stopOnEntry: true } as never);
      await dc.configurationDoneRequest();
      assert.equal((await stopped).body.reason, 'entry');
      await dc.disconnectRequest({});
      await dc.stop();
      // A second client gets its own session.
      const dc2 = new DebugClient('node', BIN, 'kvm-guest');
      await dc2.start(port);
      await dc2.initializeRequest({ adapterID: 'kvm-guest', pathFormat: 'path' });
      await dc2.disconnectRequest({});
      await dc2.stop();
    } finally {
      p.kill();
    }
    const bad = await cli('dap', '--port', 'http');
    assert.equal(bad.status, EXIT_USAGE);
    assert.match(bad.err, /--port: expected a port number, got "http"/);
  });
});

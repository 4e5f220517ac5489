// The GDB remote stub (adapter/gdb-stub.ts): gdb in batch mode drives watchpoints (Z2), single step,
// registers of the target description, memory writes, vCPU threads and the `monitor` exit-level
// commands; raw RSP over a socket checks acks, bad checksums, unreadable memory, the target
// description and Ctrl-C; the gdbPort launch option serves the DAP session's guest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { DapSession } from './helpers';
import { buildCGuest } from '../debug/c-build';
import { serveGdbStub as serve } from './gdb-helpers';

const gdbMissing = spawnSync('gdb', ['--version'], { stdio: 'ignore' }).status !== 0 ? 'gdb is not installed' : undefined;

function gdb(elf: string, port: number, cmds: string[]): Promise<string> {
  const all = ['set confirm off', 'set pagination off', `target remote 127.0.0.1:${port}`, ...cmds, 'kill'];
  return new Promise((resolve, reject) => execFile('gdb', ['-batch', '-nx', ...all.flatMap((c) => ['-ex', c]), elf], { timeout: 60_000 },
    (err, stdout, stderr) => (err && !stdout ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout + stderr))));
}

test('gdb on the stub: watchpoint, stepi, registers, memory writes, threads, monitor commands', { skip: gdbMissing }, async (t) => {
  const elf = buildCGuest('vars', { bits: 64, opt: 'O0', dwarf: 5 });
  if (typeof elf !== 'string') { t.skip(elf.skip); return; }
  const { stub, port } = await serve(elf);
  try {
    const out = await gdb(elf, port, [
      'info threads', 'p/x $cr0', 'p/x $efer', 'p $cs', 'p/x $mxcsr',
      'watch nodes[1].val', 'continue', 'delete',
      'p nodes[1].val', 'set var nodes[1].val = 77', 'p nodes[1].val', 'p/x *(unsigned char *)&nodes[1].val',
      'echo @@stepi\\n', 'p/x $pc', 'stepi', 'p/x $pc',
      'monitor exit-break io port==0x3f8', 'continue', 'echo @@exit\\n', 'info line *$pc', 'monitor info exits', 'monitor nonsense',
    ]);
    assert.match(out, /Thread 1 .*_start/, 'vCPU 0 is thread 1');
    assert.match(out, /= 0x80010011/, 'CR0 from the target description');
    assert.match(out, /= 0x500/, 'EFER');
    assert.match(out, /= 8\n/, 'CS selector');
    assert.match(out, /= 0x1f80/, 'MXCSR');
    assert.match(out, /Hardware watchpoint \d+: nodes\[1\]\.val\s+Old value = 0\s+New value = 20/);
    assert.match(out, /= 77\n.*= 0x4d/s, 'memory written through the stub');
    const [, afterStep] = out.split('@@stepi');
    const pcs = [...afterStep.matchAll(/= (0x[0-9a-f]+)/g)].map((m) => Number(m[1]));
    assert.ok(pcs.length >= 2 && pcs[1] > pcs[0], `stepi moves the pc: ${pcs}`);
    assert.match(out, /stop at KVM_EXIT_IO when port==0x3f8/);
    const [, atExit] = out.split('@@exit');
    assert.match(atExit, /Line \d+ of ".*vars\.c"/);
    assert.match(atExit, /IO\s+1/, 'monitor info exits counts the exit');
    assert.match(out, /unknown monitor command 'nonsense'/);
  } finally { stub.close(); }
});

/** A raw RSP client: sends packets, collects replies. */
class Rsp {
  private data = '';
  private constructor(private s: Socket) { s.setEncoding('latin1'); s.on('data', (d: string) => { this.data += d; }); }
  static open(port: number): Promise<Rsp> {
    return new Promise((resolve, reject) => { const s = connect(port, '127.0.0.1', () => resolve(new Rsp(s))); s.on('error', reject); });
  }
  raw(text: string): void { this.s.write(text, 'latin1'); }
  packet(body: string, checksum?: number): void {
    let cs = 0;
    for (const ch of body) cs = (cs + ch.charCodeAt(0)) & 0xff;
    this.raw(`$${body}#${(checksum ?? cs).toString(16).padStart(2, '0')}`);
  }
  /** The next reply packet's body (acks are skipped but recorded in `acks`). */
  async reply(timeout = 10_000): Promise<string> {
    const end = Date.now() + timeout;
    for (;;) {
      const m = /^([+-]*)\$([^#]*)#[0-9a-f]{2}/.exec(this.data);
      if (m) { this.acks += m[1]; this.data = this.data.slice(m[0].length); return m[2]; }
      if (Date.now() > end) throw new Error(`no reply; have '${this.data}'`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  acks = '';
  async ask(body: string): Promise<string> { this.packet(body); return this.reply(); }
  close(): void { this.s.destroy(); }
}

test('RSP: acks, bad checksum, target description, memory, unknown packets, Ctrl-C', async (t) => {
  const elf = buildCGuest('spin', { bits: 64, opt: 'O2', dwarf: 5 });
  if (typeof elf !== 'string') { t.skip(elf.skip); return; }
  const { stub, port } = await serve(elf);
  const c = await Rsp.open(port);
  try {
    assert.match(await c.ask('qSupported:multiprocess+;swbreak+'), /qXfer:features:read\+.*vContSupported\+/);
    assert.equal(c.acks, '+');
    c.packet('?', 0x00); // wrong checksum: NAK, no reply
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await c.ask('?'), 'T05thread:1;');
    assert.ok(c.acks.includes('-'), 'a bad checksum is NAKed');
    const xml = await c.ask('qXfer:features:read:target.xml:0,ffff');
    assert.match(xml, /^l<\?xml.*i386:x86-64.*name="rip".*name="xmm15".*name="cr3"/);
    assert.match(await c.ask('qXfer:memory-map:read::0,fff'), /<memory type="ram" start="0x0" length="0x4000000"\/>/);
    assert.match(await c.ask('m100000,4'), /^[0-9a-f]{8}$/);
    assert.equal(await c.ask('m7fffffff000,4'), 'E14', 'unmapped memory');
    assert.equal(await c.ask('vMustReplyEmpty'), '');
    assert.equal(await c.ask('Z0,zz,1'), 'E01', 'malformed breakpoint');
    assert.equal(await c.ask('qfThreadInfo'), 'm1');
    assert.equal(await c.ask('vCont?'), 'vCont;c;C;s;S;t');
    assert.equal(await c.ask('QStartNoAckMode'), 'OK');
    c.packet('vCont;c');
    await new Promise((r) => setTimeout(r, 300));
    c.raw('\x03');
    assert.equal(await c.reply(), 'T02thread:1;', 'Ctrl-C stops the running guest with SIGINT');
    assert.match(Buffer.from(await c.ask('qRcmd,' + Buffer.from('help').toString('hex')), 'hex').toString(), /monitor info exits/);
  } finally { c.close(); stub.close(); }
});

test('the gdbPort launch option serves the DAP session\'s guest over RSP', async (t) => {
  const elf = buildCGuest('spin', { bits: 64, opt: 'O2', dwarf: 5 });
  if (typeof elf !== 'string') { t.skip(elf.skip); return; }
  const s = await DapSession.start();
  try {
    await s.launch({ program: elf, gdbPort: 0, stopOnEntry: true });
    const m = /GDB remote protocol on 127\.0\.0\.1:(\d+)/.exec(s.outputText());
    assert.ok(m, s.outputText());
    const c = await Rsp.open(Number(m[1]));
    try {
      assert.equal(await c.ask('?'), 'T05thread:1;');
      assert.match(await c.ask('g'), /^[0-9a-f]+$/);
    } finally { c.close(); }
  } finally { await s.close(); }
});

// `kvm-guest run --gdb PORT` (issue 15): the guest waits at its entry for an RSP client on
// 127.0.0.1; the client reads registers, continues to the end (W reply) and the command exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { buildCGuest } from '../debug/c-build';

const BIN = join(resolve(__dirname, '../..'), 'bin/kvm-guest.js');

function packet(body: string): string {
  let cs = 0;
  for (const ch of body) cs = (cs + ch.charCodeAt(0)) & 0xff;
  return `$${body}#${cs.toString(16).padStart(2, '0')}`;
}

test('kvm-guest run --gdb 0: serves the guest over RSP until it ends', async (t) => {
  const elf = buildCGuest('vars', { bits: 64, opt: 'O2', dwarf: 5 });
  if (typeof elf !== 'string') { t.skip(elf.skip); return; }
  const child = spawn(process.execPath, [BIN, 'run', '--gdb', '0', elf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '', out = '';
  child.stderr.on('data', (d) => { err += d; });
  child.stdout.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  try {
    const port = await new Promise<number>((res, rej) => {
      const iv = setInterval(() => { const m = /127\.0\.0\.1:(\d+)/.exec(err); if (m) { clearInterval(iv); res(Number(m[1])); } }, 50);
      setTimeout(() => { clearInterval(iv); rej(new Error(`no port announced: ${err}`)); }, 60_000);
    });
    const s = connect(port, '127.0.0.1');
    let data = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => { data += d; });
    const ask = async (body: string) => {
      data = '';
      s.write(packet(body));
      for (let i = 0; i < 500; i++) {
        const m = /\$([^#]*)#/.exec(data);
        if (m) return m[1];
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no reply to ${body}: '${data}'`);
    };
    assert.equal(await ask('?'), 'T05thread:1;');
    assert.match(await ask('p10'), /^[0-9a-f]{16}$/, 'rip');
    assert.equal(await ask('c'), 'W00', 'the guest ran to its HLT');
    s.destroy();
    assert.equal(await exited, 0);
    assert.equal(out, 'K', 'the guest\'s serial output');
  } finally { child.kill(); }
});

test('kvm-guest run --gdb with a bad port names the flag', () => {
  const r = spawnSync(process.execPath, [BIN, 'run', '--gdb', '70000', join(__dirname, '../adapter/guests/halt.asm')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--gdb-port: must be a TCP port/);
});

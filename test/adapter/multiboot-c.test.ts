// Debugging a kvm-unit-tests-shaped multiboot kernel written in C (guests/multiboot-kernel.c, built
// with gcc -m32 at test time): launched with no options it boots by multiboot; a function breakpoint
// on `main` stops there with the C source line from its DWARF (and EAX's magic as main's argument),
// one on `report_fail` stops at the failing check; the run ends with the guest's exit code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DapSession, guest } from './helpers';
import { missing } from '../loader/elf-toolchain';

const SRC = guest('multiboot-kernel.c');
const lineOf = (text: string) => readFileSync(SRC, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;

test('a multiboot C kernel: function breakpoints on main and report_fail stop at their C lines; the exit code follows the guest', async (t) => {
  const tool = missing('gcc');
  if (tool) { t.skip(`${tool} not installed`); return; }
  const elf = join(mkdtempSync(join(tmpdir(), 'mb-c-')), 'kernel.elf');
  try {
    execFileSync('gcc', ['-m32', '-ffreestanding', '-nostdlib', '-static', '-g', '-O0', '-fno-pic', '-fno-toplevel-reorder', '-fno-asynchronous-unwind-tables',
      '-Wl,-Ttext=0x100000', '-Wl,--build-id=none', '-o', elf, SRC], { stdio: 'pipe' });
  } catch (e) { t.skip(`gcc -m32 cannot build: ${(e as Error).message.split('\n')[0]}`); return; }
  const s = await DapSession.start();
  try {
    const stop = await s.launch({ program: elf } as never, {
      configure: async (x) => {
        const r = (await x.dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'main' }, { name: 'report_fail' }] })).body.breakpoints;
        assert.deepEqual(r.map((b) => b.verified), [true, true]);
      },
    });
    assert.equal(stop?.body.reason, 'function breakpoint');
    let top = await s.topFrame();
    assert.equal(top.name, 'main');
    assert.equal(top.source?.path, SRC);
    assert.ok(top.line >= lineOf('int main(') && top.line <= lineOf('if (magic != 0x2BADB002)'), `line ${top.line}`);
    const fail = await s.cont();
    assert.equal(fail?.body.reason, 'function breakpoint');
    top = await s.topFrame();
    assert.equal(top.name, 'report_fail');
    const frames = (await s.dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.equal(frames[1]?.name, 'main');
    assert.equal(frames[1]?.line, lineOf('report_fail("arithmetic")'), 'called from the failing check, not the magic check');
    const end = await s.cont();
    assert.equal(end, undefined);
    assert.equal(s.exitCode, 3, 'the guest wrote 1 to the exit device: (1 << 1) | 1, as QEMU isa-debug-exit makes it for multiboot kernels');
    assert.ok(s.output.map((o) => o.output).join('').includes('PASS: multiboot magic\nFAIL: arithmetic\n'));
  } finally { await s.close(); }
});

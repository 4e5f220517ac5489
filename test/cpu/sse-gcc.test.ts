// C guests built with gcc -O2 -ffreestanding -mno-red-zone run (issue 2): test/cpu/sse-gcc-guest.c is
// compiled at test time as a host program and as a guest ELF (plain x86-64, i.e. SSE2, and again with
// -msse4.1); the guest runs on the emulator in long mode and must produce the host's results.
// Skips with a message where gcc or an x86-64 host is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeHostProblem } from './native-host';
import { bareCpu, longMode } from './helpers';
import { RUN_BUDGET, RUN_HALTED } from '../../vm-core/cpu';
import { CR4_OSFXSR, RSP } from '../../vm-core/cpu/state';
import { parseElf } from '../../vm-core/loader/elf';

const SRC = join(__dirname, 'sse-gcc-guest.c');
const COMMON = ['-O2', '-ffreestanding', '-mno-red-zone', '-fno-tree-loop-distribute-patterns'];
const GUEST = ['-nostdlib', '-static', '-no-pie', '-fno-pic', '-fno-stack-protector', '-fno-asynchronous-unwind-tables',
  '-Wl,-Ttext=0x100000', '-Wl,--build-id=none'];
const RESULTS = 0x8000, NRESULTS = 16;

const why = nativeHostProblem('sse4_1', 'SSE4.1');

for (const [label, extra] of [['SSE2 (x86-64 baseline)', []], ['-msse4.1', ['-msse4.1']]] as [string, string[]][]) {
  test(`a gcc -O2 -ffreestanding -mno-red-zone guest runs like the host: ${label}`, { skip: why ? `skipped: ${why}` : false }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'sse-gcc-'));
    const host = join(dir, 'host'), guest = join(dir, 'guest');
    execFileSync('gcc', [...COMMON, ...extra, '-DHOST', '-o', host, SRC]);
    execFileSync('gcc', [...COMMON, ...extra, ...GUEST, '-o', guest, SRC]);
    const want = execFileSync(host, { encoding: 'utf8' }).trim().split('\n');

    const img = parseElf(new Uint8Array(readFileSync(guest)), guest);
    assert.ok(img.ok, 'guest ELF loads');
    if (!img.ok) return;
    const { cpu, mem } = bareCpu(4 << 20);
    for (const s of img.image.segments) mem.set(s.bytes, s.addr);
    longMode(cpu, mem, img.image.entry);
    cpu.cr4 |= CR4_OSFXSR;
    cpu.R[2 * RSP] = 0x3f0000 - 8; // as after a CALL: RSP + 8 16-byte aligned (SysV ABI)
    let r: number;
    do r = cpu.run(1_000_000); while (r === RUN_BUDGET && cpu.icount < 50_000_000);
    assert.equal(r, RUN_HALTED, `guest stopped with ${r}: ${cpu.exit.message} at rip 0x${cpu.rip.toString(16)}`);
    const dv = new DataView(mem.buffer);
    const got = Array.from({ length: NRESULTS }, (_, k) =>
      (BigInt(dv.getUint32(RESULTS + 8 * k + 4, true)) << 32n | BigInt(dv.getUint32(RESULTS + 8 * k, true))).toString(16).padStart(16, '0'));
    assert.deepEqual(got, want);
  });
}

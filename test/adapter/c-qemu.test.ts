// The adapter against gdb attached to QEMU's gdbstub (issue 15): test/debug/c-guest/vars.c, linked with
// a multiboot header (QEMU's -kernel boots a 32-bit multiboot ELF; a 64-bit ELF it refuses), built with
// gcc -m32 at -O0 and -O2 (DWARF 4), runs in QEMU (TCG) with its gdbstub on gdb's stdio (`target remote
// | qemu-system-i386 -gdb stdio -S ...`: no port to pick). At the same breakpoints gdb's backtrace,
// arguments, locals and types there equal what the adapter shows for the same ELF (which the VMM also
// boots by multiboot) and what gdb prints attached to our own GDB stub. Skips, saying why, where gdb,
// qemu-system-i386 or a 32-bit gcc is missing; .ci/run installs qemu-system-x86 (which provides
// qemu-system-i386), so in CI it runs.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { buildCGuest, label, type CBuild } from '../debug/c-build';
import { serveGdbStub } from './gdb-helpers';
import { adapterView, assertSameAsGdb, gdbView, lineOfC, namesOf } from './c-gdb-compare';

const QEMU = 'qemu-system-i386';
const has = (cmd: string, arg = '--version') => spawnSync(cmd, [arg], { stdio: 'ignore' }).status === 0;
const missing = !has('gdb') ? 'gdb is not installed' : !has(QEMU) ? `${QEMU} is not installed (Debian: qemu-system-x86)` : undefined;

const BUILDS: CBuild[] = [{ bits: 32, opt: 'O0', dwarf: 4 }, { bits: 32, opt: 'O2', dwarf: 4 }];

for (const b of BUILDS) {
  for (const marker of b.opt === 'O2' ? ['add', 'walk'] : ['add']) {
    test(`adapter, gdb on QEMU's gdbstub and gdb on our stub agree at @${marker}: ${label(b)}, multiboot`, { skip: missing }, async (t) => {
      const elf = buildCGuest('vars', b, ['multiboot-header']);
      if (typeof elf !== 'string') { t.skip(elf.skip); return; }
      const line = lineOfC(marker);
      const ours = await adapterView(elf, line);
      const names = namesOf(ours);
      const qemu = await gdbView(elf, line, names,
        `| exec ${QEMU} -gdb stdio -S -kernel ${elf} -display none -serial none -monitor none -no-reboot -m 64`);
      assertSameAsGdb(ours, qemu, "QEMU's gdbstub");
      const { stub, port, engine } = await serveGdbStub(elf);
      try {
        const stubView = await gdbView(elf, line, names, `127.0.0.1:${port}`);
        assertSameAsGdb(ours, stubView, 'our GDB stub');
      } finally {
        stub.close();
        engine.state = 'ended';
      }
    });
  }
}

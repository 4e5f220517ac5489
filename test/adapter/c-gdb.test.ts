// The adapter shows a C guest as gdb does (issue 15): at breakpoints in test/debug/c-guest/vars.c,
// built with gcc at -O0/-O2 for 64-bit (DWARF 5) and 32-bit (DWARF 4), the DAP stack trace, and each
// frame's arguments and locals (names, types, values), equal what gdb prints in batch mode attached
// to the project's own GDB stub (adapter/gdb-stub.ts) running the same guest. The same comparison
// against QEMU's gdbstub is c-qemu.test.ts.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { C_BUILDS, buildCGuest, label } from '../debug/c-build';
import { serveGdbStub } from './gdb-helpers';
import { adapterView, assertSameAsGdb, gdbView, lineOfC, namesOf } from './c-gdb-compare';

const gdbMissing = spawnSync('gdb', ['--version'], { stdio: 'ignore' }).status !== 0 ? 'gdb is not installed' : undefined;

for (const b of C_BUILDS) {
  // @add stops three frames deep (add <- walk <- _start); @walk once more where walk is innermost.
  for (const marker of b.bits === 64 && b.opt === 'O2' ? ['add', 'walk'] : ['add']) {
    test(`adapter and gdb (on our stub) agree at @${marker}: ${label(b)}`, { skip: gdbMissing }, async (t) => {
      const elf = buildCGuest('vars', b);
      if (typeof elf !== 'string') { t.skip(elf.skip); return; }
      const line = lineOfC(marker);
      const ours = await adapterView(elf, line);
      const { stub, port, engine } = await serveGdbStub(elf);
      try {
        assertSameAsGdb(ours, await gdbView(elf, line, namesOf(ours), `127.0.0.1:${port}`), 'our GDB stub');
      } finally {
        stub.close();
        engine.state = 'ended';
      }
    });
  }
}

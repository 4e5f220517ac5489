// The adapter shows a C guest as gdb does (issue 15): at breakpoints in test/debug/c-guest/vars.c,
// built with gcc at -O0/-O2 for 64-bit (DWARF 5) and 32-bit (DWARF 4), the DAP stack trace, and each
// frame's arguments and locals (names, types, values), equal what gdb prints in batch mode attached
// to the project's own GDB stub (adapter/gdb-stub.ts) running the same guest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DapSession } from './helpers';
import { C_BUILDS, C_GUESTS, buildCGuest, label } from '../debug/c-build';
import { serveGdbStub } from './gdb-helpers';

const SRC = join(C_GUESTS, 'vars.c');
const lineOfC = (marker: string) => readFileSync(SRC, 'utf8').split('\n').findIndex((l) => l.includes(`/* @${marker} */`)) + 1;
const gdbMissing = spawnSync('gdb', ['--version'], { stdio: 'ignore' }).status !== 0 ? 'gdb is not installed' : undefined;

interface FrameView { name: string; line: number; args: string[]; locals: string[]; types: Record<string, string>; }

/** What the adapter shows: frames (name, line), and per frame `name = value` of Arguments and Locals, and types. */
async function adapterView(elf: string, line: number): Promise<FrameView[]> {
  const s = await DapSession.start();
  try {
    const stop = await s.launch({ program: elf }, { breakpoints: [{ path: SRC, lines: [line] }] });
    assert.equal(stop?.body.reason, 'breakpoint');
    const out: FrameView[] = [];
    for (const f of await s.frames()) {
      const view: FrameView = { name: f.name, line: f.line, args: [], locals: [], types: {} };
      for (const sc of (await s.dc.scopesRequest({ frameId: f.id })).body.scopes) {
        if (sc.name !== 'Arguments' && sc.name !== 'Locals') continue;
        for (const v of (await s.dc.variablesRequest({ variablesReference: sc.variablesReference })).body.variables) {
          (sc.name === 'Arguments' ? view.args : view.locals).push(`${v.name} = ${v.value}`);
          view.types[v.name] = v.type ?? '';
        }
      }
      out.push(view);
    }
    return out;
  } finally { await s.close(); }
}

/** What gdb prints, attached to our GDB stub: `bt`, then `info args`, `info locals` and `whatis` in each frame. */
async function gdbView(elf: string, line: number, names: string[][]): Promise<{ bt: { name: string; line: number }[]; frames: { args: string[]; locals: string[]; types: Record<string, string>; values: Record<string, string> }[] }> {
  const { stub, port, engine } = await serveGdbStub(elf);
  const cmds = ['set confirm off', 'set pagination off', 'set width 0', 'set print pretty off', `target remote 127.0.0.1:${port}`,
    `break vars.c:${line}`, 'continue', 'echo @@bt\\n', 'bt', 'echo @@btend\\n'];
  names.forEach((ns, k) => {
    cmds.push(`frame ${k}`, `echo @@args ${k}\\n`, 'info args', `echo @@locals ${k}\\n`, 'info locals', `echo @@types ${k}\\n`);
    for (const n of ns) cmds.push(`echo @@var ${n}\\n`, `whatis ${n}`, `output ${n}`, 'echo \\n');
  });
  cmds.push('echo @@end\\n', 'kill');
  const text = await new Promise<string>((resolve, reject) => {
    execFile('gdb', ['-batch', '-nx', ...cmds.flatMap((c) => ['-ex', c]), elf], { timeout: 60_000, maxBuffer: 1 << 22 }, (err, stdout, stderr) => {
      if (err && !stdout.includes('@@end')) reject(new Error(`gdb failed: ${err.message}\n${stdout}\n${stderr}`)); else resolve(stdout);
    });
  });
  stub.close();
  engine.state = 'ended';
  const sections = new Map<string, string[]>();
  let cur = '';
  for (const l of text.split('\n')) {
    const m = /^@@(\w+(?: \w+)?)$/.exec(l);
    if (m) { cur = m[1]; sections.set(cur, []); continue; }
    if (cur) sections.get(cur)!.push(l);
  }
  const bt = (sections.get('bt') ?? []).map((l) => /^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(.*\) at .*:(\d+)$/.exec(l)).filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ name: m[1], line: Number(m[2]) }));
  const vals = (k: string) => (sections.get(k) ?? []).filter((l) => / = /.test(l) && !/^No (arguments|locals)/.test(l));
  const frames = names.map((ns, k) => {
    const types: Record<string, string> = {}, values: Record<string, string> = {};
    for (const n of ns) {
      const [t, v] = sections.get(`var ${n}`) ?? [];
      types[n] = /^type = (.*)$/.exec(t ?? '')?.[1] ?? `? ${t}`;
      values[n] = v ?? '?';
    }
    return { args: vals(`args ${k}`), locals: vals(`locals ${k}`), types, values };
  });
  return { bt, frames };
}

for (const b of C_BUILDS) {
  // @add stops three frames deep (add <- walk <- _start); @walk once more where walk is innermost.
  for (const marker of b.bits === 64 && b.opt === 'O2' ? ['add', 'walk'] : ['add']) {
    test(`adapter and gdb (on our stub) agree at @${marker}: ${label(b)}`, { skip: gdbMissing }, async (t) => {
      const elf = buildCGuest('vars', b);
      if (typeof elf !== 'string') { t.skip(elf.skip); return; }
      const line = lineOfC(marker);
      const ours = await adapterView(elf, line);
      const names = ours.map((f) => [...f.args, ...f.locals].map((x) => x.split(' = ')[0]));
      const gdb = await gdbView(elf, line, names);
      assert.deepEqual(ours.map((f) => ({ name: f.name, line: f.line })), gdb.bt, 'backtrace');
      ours.forEach((f, k) => {
        assert.deepEqual(f.args, gdb.frames[k].args, `arguments of #${k} ${f.name}`);
        // Every local gdb lists, we list; the ones gdb's `info locals` leaves out (constants held as
        // DW_AT_const_value blocks) gdb still prints with `output`, and the values agree.
        for (const l of gdb.frames[k].locals) assert.ok(f.locals.includes(l), `#${k} ${f.name}: gdb lists '${l}', we show ${JSON.stringify(f.locals)}`);
        for (const l of f.locals) {
          const [n, ...v] = l.split(' = ');
          // `output` shows a top-level pointer as `(type) 0x...`, `info locals` without the type.
          const theirs = gdb.frames[k].values[n].replace(`(${gdb.frames[k].types[n]}) `, '');
          assert.equal(v.join(' = '), theirs, `value of ${n} in #${k} ${f.name}`);
        }
        assert.deepEqual(f.types, gdb.frames[k].types, `types in #${k} ${f.name}`);
      });
    });
  }
}

// Shared by the gdb comparisons of issue 15 (c-gdb.test.ts: gdb on our GDB stub; c-qemu.test.ts: gdb
// on QEMU's gdbstub): what the adapter shows at a breakpoint in test/debug/c-guest/vars.c, what gdb
// prints in batch mode attached to a remote target, and the comparison of the two.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DapSession } from './helpers';
import { C_GUESTS } from '../debug/c-build';

export const SRC = join(C_GUESTS, 'vars.c');
export const lineOfC = (marker: string) => readFileSync(SRC, 'utf8').split('\n').findIndex((l) => l.includes(`/* @${marker} */`)) + 1;

export interface FrameView { name: string; line: number; args: string[]; locals: string[]; types: Record<string, string>; }
export interface GdbView { bt: { name: string; line: number }[]; frames: { args: string[]; locals: string[]; types: Record<string, string>; values: Record<string, string> }[] }

/** What the adapter shows: frames (name, line), and per frame `name = value` of Arguments and Locals, and types. */
export async function adapterView(elf: string, line: number): Promise<FrameView[]> {
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

/**
 * What gdb prints attached to `target` (gdb's `target remote` argument: host:port, or `| command`
 * for a gdbstub on the command's stdio): `bt`, then `info args`, `info locals` and `whatis`/`output`
 * of each name in `names[k]` in frame k.
 */
export async function gdbView(elf: string, line: number, names: string[][], target: string): Promise<GdbView> {
  const cmds = ['set confirm off', 'set pagination off', 'set width 0', 'set print pretty off', `target remote ${target}`,
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

/** The names each frame of the adapter's view shows (arguments, then locals). */
export const namesOf = (ours: FrameView[]) => ours.map((f) => [...f.args, ...f.locals].map((x) => x.split(' = ')[0]));

/** Assert the adapter's view equals gdb's: backtrace, arguments, locals (values), types. */
export function assertSameAsGdb(ours: FrameView[], gdb: GdbView, who: string): void {
  assert.deepEqual(ours.map((f) => ({ name: f.name, line: f.line })), gdb.bt, `backtrace (${who})`);
  ours.forEach((f, k) => {
    assert.deepEqual(f.args, gdb.frames[k].args, `arguments of #${k} ${f.name} (${who})`);
    // Every local gdb lists, we list; the ones gdb's `info locals` leaves out (constants held as
    // DW_AT_const_value blocks) gdb still prints with `output`, and the values agree.
    for (const l of gdb.frames[k].locals) assert.ok(f.locals.includes(l), `#${k} ${f.name}: gdb (${who}) lists '${l}', we show ${JSON.stringify(f.locals)}`);
    for (const l of f.locals) {
      const [n, ...v] = l.split(' = ');
      // `output` shows a top-level pointer as `(type) 0x...`, `info locals` without the type.
      const theirs = gdb.frames[k].values[n].replace(`(${gdb.frames[k].types[n]}) `, '');
      assert.equal(v.join(' = '), theirs, `value of ${n} in #${k} ${f.name} (${who})`);
    }
    assert.deepEqual(f.types, gdb.frames[k].types, `types in #${k} ${f.name} (${who})`);
  });
}

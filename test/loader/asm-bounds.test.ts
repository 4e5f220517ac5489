// Assembler resource bounds (issue 14): label sizes are computed in linear time (200,000 labels
// took over a minute: a quadratic search for each label's successor), and every label's size still
// runs to the next label of its section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../vm-core/loader/assemble';

test('50,000 labels assemble in well under a minute, with each label sized to the next one', () => {
  const n = 50_000;
  const src = ['bits 64', 'org 0x100000'];
  for (let i = 0; i < n; i++) src.push(i % 2 ? `l${i}: nop` : `l${i}: xchg ax, ax`);
  src.push('same1:', 'same2: hlt');
  const t0 = Date.now();
  const r = assemble({ path: '/virtual/labels.asm', source: src.join('\n') + '\n' });
  const ms = Date.now() - t0;
  assert.equal(r.ok, true);
  if (!r.ok) return;
  const sym = new Map(r.image.symbols.map((s) => [s.name, s]));
  assert.equal(sym.get('l0')!.size, 2); // xchg ax, ax is 66 90
  assert.equal(sym.get('l1')!.size, 1);
  assert.equal(sym.get(`l${n - 1}`)!.size, 1);
  assert.equal(sym.get('same1')!.size, 1); // two labels at one address: both run to the section's end
  assert.equal(sym.get('same2')!.size, 1);
  assert.ok(ms < 60_000, `took ${ms} ms`); // quadratic, it took minutes; linear, seconds (a shared host: the bound is loose)
});

/** CPU time of one call in ms (process.cpuUsage: other processes on a shared host do not count). */
function cpuMs(f: () => void): number {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

/** `n` labels, each a jump to another label: every pass resolves n forward and backward references. */
function jumps(n: number): string {
  const src = ['bits 64', 'org 0x100000'];
  for (let i = 0; i < n; i++) src.push(`l${i}: jmp l${(i * 7919) % n}`);
  return src.join('\n') + '\n';
}

/** A macro taking `n` parameters that emits each one, turning them with %rotate. */
function rotating(n: number): string {
  const src = ['bits 64', '%macro many 1-*', '%rep %0', '  db %1', '%rotate 1', '%endrep', '%endmacro'];
  src.push('many ' + Array.from({ length: n }, (_, i) => String(i % 251)).join(', '));
  return src.join('\n') + '\n';
}

test('200,000 labels assemble (the line map of that many lines overflowed the stack), with a line per label', () => {
  const n = 200_000;
  const src = ['bits 64', 'org 0x100000'];
  for (let i = 0; i < n; i++) src.push(`l${i}: nop`);
  const r = assemble({ path: '/virtual/labels.asm', source: src.join('\n') + '\n' });
  assert.equal(r.ok, true, r.ok ? '' : r.diagnostics[0].message);
  if (!r.ok) return;
  assert.equal(r.image.segments[0].bytes.length, n);
  assert.equal(r.image.lines.length, n);
  assert.deepEqual(r.image.lines[n - 1], { addr: 0x100000 + n - 1, size: 1, file: '/virtual/labels.asm', line: n + 2 });
});

test('labels with jumps between them: 4x the labels take less than 10x the time (near-linear; quadratic would be 16x)', () => {
  const small = jumps(5_000), big = jumps(20_000);
  assemble({ path: '/virtual/warm.asm', source: jumps(500) }); // compile the assembler's code first
  let r: ReturnType<typeof assemble> | undefined;
  const t1 = cpuMs(() => { r = assemble({ path: '/virtual/small.asm', source: small }); });
  assert.equal(r?.ok, true);
  const t4 = cpuMs(() => { r = assemble({ path: '/virtual/big.asm', source: big }); });
  assert.equal(r?.ok, true);
  if (!r?.ok) return;
  // jmp to a label 7919 * i mod n away: near forms (E9 rel32) except where the target is close.
  const sym = new Map(r.image.symbols.map((s) => [s.name, s]));
  assert.equal(sym.get('l1')!.size, 5);
  assert.ok(t4 < 10 * t1 + 200, `5,000 labels: ${t1.toFixed(0)} ms CPU; 20,000: ${t4.toFixed(0)} ms`);
});

test('a macro with 100,000 parameters and %rotate: every parameter emitted once, in order, in linear time', () => {
  assemble({ path: '/virtual/warm.asm', source: rotating(500) });
  let r: ReturnType<typeof assemble> | undefined;
  const t1 = cpuMs(() => { r = assemble({ path: '/virtual/small.asm', source: rotating(25_000) }); });
  assert.equal(r?.ok, true);
  const t4 = cpuMs(() => { r = assemble({ path: '/virtual/big.asm', source: rotating(100_000) }); });
  const big = r as ReturnType<typeof assemble>;
  assert.equal(big.ok, true, big.ok ? '' : big.diagnostics[0].message);
  if (!big.ok) return;
  r = big;
  const bytes = r.image.segments[0].bytes;
  assert.equal(bytes.length, 100_000);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== i % 251) assert.fail(`byte ${i} is ${bytes[i]}, expected ${i % 251}`);
  // Rebuilding the parameter list on each %rotate made this quadratic: 32,000 parameters took 32 s.
  assert.ok(t4 < 10 * t1 + 200, `25,000 parameters: ${t1.toFixed(0)} ms CPU; 100,000: ${t4.toFixed(0)} ms`);
});

test('%rotate by negative and huge counts turns the defaults too, and %0 counts them, as NASM does', () => {
  const src = [
    '%macro m 2-4 0x33, 0x44', // two given, two defaults: %0 is 4
    '  db %0, %1, %2, %3, %4',
    '  %rotate -1',
    '  db %1, %2, %3, %4',
    '  %rotate 1000000000001', // 1 mod 4: one turn left, back to the start
    '  db %1, %2, %3, %4',
    '%endmacro',
    'm 0x11, 0x22',
    'm 1, 2, 3', // one default
  ].join('\n') + '\n';
  const r = assemble({ path: '/virtual/rot.asm', source: src });
  assert.equal(r.ok, true, r.ok ? '' : r.diagnostics[0].message);
  if (!r.ok) return;
  // nasm -f bin of the same source.
  assert.deepEqual([...r.image.segments[0].bytes], [4, 0x11, 0x22, 0x33, 0x44, 0x44, 0x11, 0x22, 0x33, 0x11, 0x22, 0x33, 0x44,
    4, 1, 2, 3, 0x44, 0x44, 1, 2, 3, 1, 2, 3, 0x44]);
});

// `kvm-guest run --jit` against `kvm-guest run` on the seed examples (the whole VM: KVM model, VMM,
// exits to userspace, hypercall patching): the same exits in the same order at the same RIPs, the
// same output, final registers and instruction count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../bin/cli';

const EXAMPLES = join(__dirname, '..', '..', 'examples');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(['run', ...args, '--json'], { out: (s) => { out += s; }, err: (s) => { err += s; }, guest: (s) => { out += s; } });
  return { code, out, err };
}

for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith('.asm')).sort()) {
  test(`kvm-guest run --jit ${file}: same exits, output, registers and instruction count`, async () => {
    const path = join(EXAMPLES, file);
    const off = await run([path, '--max-instructions', '100000']);
    const on = await run([path, '--max-instructions', '100000', '--jit']);
    assert.equal(on.code, off.code);
    assert.equal(on.err, off.err);
    assert.equal(on.out, off.out);
    assert.match(off.out, /"instructions": \d+/);
  });
}

test('launch option jit: the vCPUs run hot loops compiled, to the same exit, registers and count as without it', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'jit-run-'));
  const src = join(dir, 'loop.asm');
  // A long-mode guest: a counted loop of integer work, then the exit port with the low byte of the sum.
  writeFileSync(src, `bits 64
  mov ecx, 300000
  xor eax, eax
  xor ebx, ebx
top:
  add eax, ecx
  lea rbx, [rbx + rax*2 + 1]
  xor ebx, eax
  dec ecx
  jnz top
  mov eax, ebx
  and eax, 0x7f
  out 0xf4, al
  hlt
`);
  const { launch } = await import('../../vm-core/vmm/launch');
  const { resolveLaunchOptions } = await import('../../vm-core/config/launch-options');
  const outcome = (jit: boolean) => {
    const { options, errors } = resolveLaunchOptions({ program: src, jit });
    assert.deepEqual(errors, []);
    const l = launch(options, dir);
    assert.ok(l.ok, l.ok ? '' : l.errors.join('\n'));
    const m = l.machine;
    let stop = m.run();
    while (stop.kind === 'slice') stop = m.run();
    const cpu = m.vcpus[0].cpu;
    return { stop, rip: cpu.rip, R: Array.from(cpu.R), icount: cpu.icount, compiled: cpu.jit?.compiled ?? 0, retired: cpu.jit?.retired ?? 0 };
  };
  const off = outcome(false), on = outcome(true);
  assert.equal(off.stop.kind, 'exit-port');
  assert.deepEqual({ ...on, compiled: 0, retired: 0 }, { ...off, compiled: 0, retired: 0 });
  assert.equal(off.retired, 0);
  assert.ok(on.retired > 1_000_000, `compiled code retired ${on.retired} of ${on.icount} instructions`);
});

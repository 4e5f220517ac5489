// MMIO through KVM's instruction emulator (KVM_EXIT_MMIO): every instruction form that touches memory
// gives the same bytes, lengths and register results on an MMIO page as on RAM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine } from '../../vm-core/vmm/machine';
import { assemble } from '../../vm-core/loader/assemble';
import { exitRecord, type ExitRecord } from '../../vm-core/vmm/exit-record';
import { allForms, type Form } from '../cpu/forms';
import { runOnKvm } from './mmio-differential';

/** Run NASM source in the default VMM (MMIO reads answered with all ones); the exit records and RAX. */
function machineRun(vendor: 'intel' | 'amd', source: string): { exits: ExitRecord[]; rax: bigint } {
  const r = assemble({ path: 'mmio.asm', source: `bits 64\norg 0x100000\n${source}\nhlt\n` });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const m = new Machine(r.image, { vendor, memSize: 16 << 20, entry: 'long' });
  const exits: ExitRecord[] = [];
  m.onExit = (v, run) => { exits.push(exitRecord(run, v.vcpu_id, v.peekRip())); return false; };
  const stop = m.run();
  assert.equal(stop.kind, 'halted');
  return { exits, rax: m.vcpus[0].getRegs().rax };
}

for (const vendor of ['intel', 'amd'] as const) {
  test(`${vendor}: an MMIO read takes only len bytes of the reply (movzx eax, word [mmio] gives 0xffff, not 0xffffffff)`, () => {
    assert.equal(machineRun(vendor, 'mov eax, 0x12345678\nmovzx eax, word [0x20000000]').rax, 0xffffn);
    assert.equal(machineRun(vendor, 'mov rax, -1\nmovzx eax, byte [0x20000000]').rax, 0xffn);
    assert.equal(machineRun(vendor, 'mov rax, -1\nmov ax, [0x20000000]').rax, 0xffffffffffffffffn);
    assert.equal(machineRun(vendor, 'xor eax, eax\nmov al, [0x20000000]').rax, 0xffn);
    assert.equal(machineRun(vendor, 'mov rax, 0\nmovsx rax, word [0x20000000]').rax, 0xffffffffffffffffn);
  });

  test(`${vendor}: MMIO writes carry the instruction's bytes and length`, () => {
    const w = (src: string) => machineRun(vendor, src).exits.filter((e) => e.reason === 'MMIO').map((e) => [e.len, e.data]);
    assert.deepEqual(w('mov dword [0x20000000], 0x12345678'), [[4, [0x78, 0x56, 0x34, 0x12]]]);
    assert.deepEqual(w('mov rax, 0x1122334455667788\nmov qword [0x20000000], rax'), [[8, [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]]]);
    assert.deepEqual(w('mov qword [0x20000000], -2'), [[8, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]]);
    assert.deepEqual(w('mov eax, 0xaabbccdd\nmov word [0x20000000], ax'), [[2, [0xdd, 0xcc]]]);
  });
}

test('LMSW from MMIO (a CR0 exit taken inside the emulator) reads its own exit qualification', () => {
  const f = allForms().find((x) => x.name === 'Lmsw_r32m16' && x.mode === 64 && x.hasMem);
  assert.ok(f);
  const ram = runOnKvm(f, false), mmio = runOnKvm(f, true);
  assert.equal(mmio.exit, 'retired');
  assert.equal(mmio.regs, ram.regs);
});

test('FXSAVE/FXRSTOR on MMIO: every 8-byte piece reaches userspace (more than the old limit of 8)', () => {
  for (const name of ['Fxsave64_m512byte', 'Fxsave_m512byte']) {
    const f = allForms().find((x) => x.name === name && x.mode === 64);
    assert.ok(f);
    const ram = runOnKvm(f, false), mmio = runOnKvm(f, true);
    assert.equal(mmio.mmio.length, 416 / 8); // 64-bit mode: header, x87 and XMM0-15 (bytes 0-415)
    assert.deepEqual(mmio.window, ram.window);
  }
});

/** Run every memory form on RAM and on MMIO; list the differences. */
function differences(vendor: 'intel' | 'amd', pick: (k: number) => boolean): { n: number; problems: string[] } {
  const problems: string[] = [];
  let n = 0;
  const list = (s: Set<number>) => [...s].sort((a, b) => a - b).join(',');
  allForms().filter((f) => f.hasMem).forEach((f, k) => {
    if (!pick(k)) return;
    n++;
    const a = runOnKvm(f, false, vendor), b = runOnKvm(f, true, vendor);
    const p: string[] = [];
    if (a.exit !== b.exit) p.push(`ends ${a.exit} on RAM, ${b.exit} on MMIO`);
    if (a.regs !== b.regs) {
      const x = a.regs.split(' '), y = b.regs.split(' ');
      p.push('registers ' + x.map((r, i) => (r !== y[i] ? `${r} on RAM, ${y[i]} on MMIO` : '')).filter(Boolean).join(' '));
    }
    if (Buffer.compare(a.window, b.window) !== 0) p.push('memory contents differ');
    if (a.exit === 'retired' || a.exit === 'KVM_EXIT_HLT') {
      if (list(a.read) !== list(b.read)) p.push(`bytes read: ${a.read.size} on RAM, ${b.read.size} on MMIO`);
      if (list(a.written) !== list(b.written)) p.push(`bytes written: ${a.written.size} on RAM, ${b.written.size} on MMIO`);
    }
    if (p.length) problems.push(`${f.mode}-bit ${f.name} (${Buffer.from(f.bytes).toString('hex')}): ${p.join('; ')}`);
  });
  return { n, problems };
}

/** REP/REPE/REPNE string forms (left out of allForms: they run many iterations), in every mode and size. */
function repStringForms(): Form[] {
  const out: Form[] = [];
  for (const mode of [64, 32, 16] as const) {
    for (const rep of [0xf3, 0xf2]) {
      for (const osz of mode === 64 ? [[], [0x66], [0x48]] : [[], [0x66]]) {
        for (const op of [0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0x6c, 0x6d, 0x6e, 0x6f]) {
          if ((op & 1) === 0 && osz.length) continue;
          out.push({ mode, bytes: Uint8Array.from([...osz, rep, op]), name: `rep ${op.toString(16)}`, mnemonic: '', hasMem: true });
        }
      }
    }
  }
  return out;
}

test('repeated string instructions on MMIO: one iteration per emulation, none repeated or lost (RCX = 2)', () => {
  const problems: string[] = [];
  for (const f of repStringForms()) {
    const a = runOnKvm(f, false), b = runOnKvm(f, true);
    if (a.exit !== b.exit || a.regs !== b.regs || Buffer.compare(a.window, b.window) !== 0) {
      problems.push(`${f.mode}-bit ${Buffer.from(f.bytes).toString('hex')}: ${a.exit} / ${b.exit}, MMIO accesses ${b.mmio.join(' | ')}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('intel: every implemented memory form gives the same registers, bytes and accesses on MMIO as on RAM', () => {
  const { n, problems } = differences('intel', () => true);
  assert.ok(n > 2000, `${n} forms`);
  assert.deepEqual(problems, []);
});

test('amd: the same on a sample of the forms (every fifth)', () => {
  const { n, problems } = differences('amd', (k) => k % 5 === 0);
  assert.ok(n > 400, `${n} forms`);
  assert.deepEqual(problems, []);
});

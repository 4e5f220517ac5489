// Operand sizes of the forms whose first register operand is not the data (SDM Vol. 2: OUT DX, AL
// is a byte write; OUT DX, EAX in 16-bit code with 66h is a dword write). The data size the core
// uses is checked against iced-x86's operand information for every I/O form it decodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, go, type Mode } from './gp';
import { allForms } from './forms';
import { runForm, expectedAccesses } from './access-check';
import { EXIT_REASON_IO_INSTRUCTION, RUN_EXIT } from '../../vm-core/cpu';
import { RAX, RBP, RDX, getReg64, setReg64 } from '../../vm-core/cpu/state';

interface PortAccess { port: number; size: number; value: number; isIn: boolean }

/** Run `code` with RAX/RDX set, recording every port access of the bare processor's environment. */
function runIo(mode: Mode, code: string[], rax: bigint, rdx = 0x3f8n): PortAccess[] {
  const s = setup(mode, code);
  setReg64(s.cpu, RAX, rax); setReg64(s.cpu, RDX, rdx);
  const log: PortAccess[] = [];
  s.cpu.env = {
    ...s.cpu.env,
    ioOut: (_c, port, size, value) => { log.push({ port, size, value, isIn: false }); },
    ioIn: (_c, port, size) => { log.push({ port, size, value: 0, isIn: true }); return size === 4 ? 0x89abcdef : size === 2 ? 0xcdef : 0xef; },
  };
  const r = go(s);
  assert.equal(r.vector, -1);
  return log;
}

test('OUT DX, AL writes one byte (AL only, never AH), in every mode', () => {
  for (const mode of [64, 32, 16] as const) {
    const log = runIo(mode, ['ee'], 0x11223344n);
    assert.deepEqual(log, [{ port: 0x3f8, size: 1, value: 0x44, isIn: false }], `mode ${mode}`);
  }
});

test('OUT DX, EAX / AX take the operand size, not DX\'s size (66h in 16-bit code gives a dword)', () => {
  assert.deepEqual(runIo(16, ['66ef'], 0x11223344n), [{ port: 0x3f8, size: 4, value: 0x11223344, isIn: false }]);
  assert.deepEqual(runIo(16, ['ef'], 0x11223344n), [{ port: 0x3f8, size: 2, value: 0x3344, isIn: false }]);
  assert.deepEqual(runIo(32, ['ef'], 0x11223344n), [{ port: 0x3f8, size: 4, value: 0x11223344, isIn: false }]);
  assert.deepEqual(runIo(32, ['66ef'], 0x11223344n), [{ port: 0x3f8, size: 2, value: 0x3344, isIn: false }]);
  assert.deepEqual(runIo(64, ['ef'], 0x5566778811223344n), [{ port: 0x3f8, size: 4, value: 0x11223344, isIn: false }]);
});

test('IN AL/AX/EAX, DX read the accumulator size and merge into RAX as the SDM says', () => {
  const s = setup(16, ['66ed']);
  setReg64(s.cpu, RDX, 0x60n);
  s.cpu.env = { ...s.cpu.env, ioIn: (_c, port, size) => (port === 0x60 && size === 4 ? 0x89abcdef : 0) };
  go(s);
  assert.equal(s.cpu.R[0] >>> 0, 0x89abcdef);
  assert.deepEqual(runIo(64, ['ec'], 0n), [{ port: 0x3f8, size: 1, value: 0, isIn: true }]);
});

test('the IN/OUT exit (intercepted I/O) reports the data size in the qualification and exit fields', () => {
  for (const [mode, bytes, size] of [[64, 'ee', 1], [16, '66ef', 4], [16, 'ef', 2], [32, 'ec', 1], [16, '66ed', 4]] as const) {
    const s = setup(mode, [bytes]);
    setReg64(s.cpu, RDX, 0x3f8n);
    s.cpu.intercepts.io = true;
    assert.equal(s.cpu.run(10), RUN_EXIT);
    const e = s.cpu.exit;
    assert.equal(e.reason, EXIT_REASON_IO_INSTRUCTION);
    assert.equal(e.size, size, `${mode} ${bytes}`);
    assert.equal(e.qual & 7, size - 1, `${mode} ${bytes} qualification`);
    assert.equal(e.qual >>> 16, 0x3f8);
  }
});

test('ENTER with a 16-bit operand size in 64-bit code writes BP only (RBP[63:16] kept, as the hardware does)', () => {
  const s = setup(64, ['66c8100000']); // enterw 16, 0
  setReg64(s.cpu, RBP, 0x1122334455667788n);
  const sp = s.cpu.R[8] >>> 0;
  go(s);
  assert.equal(getReg64(s.cpu, RBP), 0x1122334455660000n | BigInt((sp - 2) & 0xffff));
  assert.equal(s.cpu.R[8] >>> 0, sp - 2 - 16);
});

test('every implemented form reads, writes and transfers the operand sizes iced-x86 gives it (memory bytes, GPR bytes, port size)', () => {
  const bases: Record<number, number[]> = {};
  for (const m of [16, 32, 64] as const) bases[m] = setup(m, ['90']).cpu.seg.map((x) => x.base);
  const fmt = (st: Set<number>) => { const v = [...st].sort((a, b) => a - b); return v.length ? `${v[0].toString(16)}+${v.length}` : '-'; };
  const problems: string[] = [];
  let ran = 0, mem = 0, io = 0;
  for (const f of allForms()) {
    const a = runForm(f);
    if (a.faulted) continue;
    ran++;
    const e = expectedAccesses(f, (sg) => bases[f.mode][sg]);
    const p: string[] = [];
    if (!e.opaque) {
      if (e.read.size + e.write.size > 0) mem++;
      const wOk = [...a.write].every((b) => e.write.has(b) || e.maybe.has(b)) && [...e.write].every((b) => a.write.has(b));
      const rOk = [...a.read].every((b) => e.read.has(b) || e.maybe.has(b) || e.write.has(b)) && [...e.read].every((b) => a.read.has(b));
      if (!wOk) p.push(`writes ${fmt(a.write)}, iced ${fmt(e.write)}`);
      if (!rOk) p.push(`reads ${fmt(a.read)}, iced ${fmt(e.read)}`);
    }
    for (let n = 0; n < 16; n++) if (a.gprBytes[n] & ~e.gprBytes[n]) p.push(`GPR ${n} bytes ${a.gprBytes[n].toString(2)} beyond ${e.gprBytes[n].toString(2)}`);
    if (e.ioSize) {
      io++;
      if (!(a.ports.length === 1 && a.ports[0].size === e.ioSize)) p.push(`ports ${JSON.stringify(a.ports)}, want size ${e.ioSize}`);
    }
    if (p.length) problems.push(`${f.mode}-bit ${f.name} (${Buffer.from(f.bytes).toString('hex')}): ${p.join('; ')}`);
  }
  assert.ok(ran > 4000 && mem > 1500 && io >= 30, `coverage: ${ran} forms ran, ${mem} with memory, ${io} I/O`);
  assert.deepEqual(problems, []);
});

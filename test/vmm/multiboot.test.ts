// Multiboot v1 boot as QEMU's -kernel: header detection (ELF, a.out kludge, assembled source), the
// 32-bit entry state (EAX magic, EBX the MBI, CR0.PE only, CS 0x08), the MBI's memory fields, e820
// map, command line and modules, the zeroed .bss; and the devices a kernel reaches first (fw_cfg,
// pc-testdev's IORAM through KVM_EXIT_MMIO and its echo port).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImage } from '../../vm-core/loader/load-image';
import { findMultibootHeader, loadMultibootAout } from '../../vm-core/loader/multiboot';
import { assemble } from '../../vm-core/loader/assemble';
import { Machine } from '../../vm-core/vmm/machine';
import { e820Map, E820_RAM, E820_RESERVED, memLowerUpper } from '../../vm-core/vmm/e820';

const GUESTS = join(__dirname, 'guests');
const u32 = (m: Uint8Array, a: number) => new DataView(m.buffer, m.byteOffset).getUint32(a, true);
const cstr = (m: Uint8Array, a: number) => { let s = ''; while (m[a]) s += String.fromCharCode(m[a++]); return s; };

function header(flags: number, extra: number[] = []): Uint8Array {
  const b = new Uint8Array(64);
  const dv = new DataView(b.buffer);
  dv.setUint32(8, 0x1badb002, true); dv.setUint32(12, flags, true); dv.setUint32(16, (-(0x1badb002 + flags)) >>> 0, true);
  extra.forEach((v, k) => dv.setUint32(20 + 4 * k, v, true));
  return b;
}

test('header scan: magic + flags + checksum = 0 within the first 8 KiB, 4-byte aligned', () => {
  const h = findMultibootHeader(header(0x10000, [0x100008, 0x100000, 0x100040, 0x101000, 0x100020]));
  assert.deepEqual(h, { offset: 8, flags: 0x10000, headerAddr: 0x100008, loadAddr: 0x100000, loadEndAddr: 0x100040, bssEndAddr: 0x101000, entryAddr: 0x100020 });
  const bad = header(3); bad[16] ^= 1;
  assert.equal(findMultibootHeader(bad), undefined, 'bad checksum');
  const far = new Uint8Array(9000); far.set(header(3).subarray(8, 20), 8192);
  assert.equal(findMultibootHeader(far), undefined, 'past 8 KiB');
});

test('a.out kludge: bad addresses are errors naming the header field', () => {
  const below = loadMultibootAout(header(0x10000, [0x1000, 0x2000, 0, 0, 0x2000]), '/k', findMultibootHeader(header(0x10000, [0x1000, 0x2000, 0, 0, 0x2000]))!);
  assert.ok(!below.ok && /header_addr 0x1000 is below load_addr 0x2000/.test(below.diagnostics[0].message));
  const b = header(0x10000, [0x100008, 0x100000, 0x100040, 0x101000, 0x200000]);
  const entry = loadMultibootAout(b, '/k', findMultibootHeader(b)!);
  assert.ok(!entry.ok && /entry_addr 0x200000 is outside the loaded range/.test(entry.diagnostics[0].message));
  const b2 = header(0x10000, [0x100008, 0x100000, 0x110000, 0, 0x100020]);
  const end = loadMultibootAout(b2, '/k', findMultibootHeader(b2)!);
  assert.ok(!end.ok && /load_end_addr 0x110000/.test(end.diagnostics[0].message));
});

test('e820 map and mem_lower/mem_upper match the VMM layout', () => {
  const map = e820Map(64 << 20);
  assert.deepEqual(map.map((e) => [e.addr, e.size, e.type]), [
    [0, 0x9fc00, E820_RAM], [0x9fc00, 0x400, E820_RESERVED], [0xe0000, 0x20000, E820_RESERVED],
    [0x100000, (64 << 20) - 0x100000, E820_RAM], [0xfeffc000, 0x4000, E820_RESERVED]]);
  assert.deepEqual(memLowerUpper(map), { lower: 639, upper: 64 * 1024 - 1024 });
});

test('a.out-kludge kernel: entry state, MBI (mem, mmap, cmdline, modules), zeroed bss, fw_cfg, IORAM MMIO, echo port', () => {
  const path = join(GUESTS, 'multiboot-aout.asm');
  // The same kernel as a flat file: the loader finds the kludge header and places it by it.
  const asm = assemble({ path });
  assert.ok(asm.ok);
  const dir = mkdtempSync(join(tmpdir(), 'mb-'));
  const flat = join(dir, 'kernel.bin');
  const bytes = new Uint8Array(asm.image.segments[0].bytes.length + 64);
  bytes.set(asm.image.segments[0].bytes); bytes.fill(0x5a, asm.image.segments[0].bytes.length); // junk past load_end_addr is not loaded
  writeFileSync(flat, bytes);
  const img = loadImage(flat);
  assert.ok(img.ok, img.ok ? '' : img.diagnostics.map((d) => d.message).join());
  assert.equal(img.image.multiboot?.flags, 0x10003);
  assert.equal(img.image.segments[0].addr, 0x100000);
  const mod = new TextEncoder().encode('NR_CPUS=2\nFOO=bar\n');
  const m = new Machine(img.image, { vcpus: 2, cmdline: 'a b=c', modules: [{ name: 'env', bytes: mod }] });
  const stop = m.run();
  assert.deepEqual(stop, { kind: 'exit-port', code: 0 });
  const mem = m.mem, OUT = 0x200000;
  assert.equal(u32(mem, OUT), 0x2badb002, 'EAX');
  const mbi = u32(mem, OUT + 4);
  assert.equal(mbi, 0x9500, 'EBX');
  assert.equal(u32(mem, OUT + 8) & 0x80000001, 1, 'CR0: PE, no paging');
  assert.equal(u32(mem, OUT + 12), 0x08, 'CS');
  assert.equal(u32(mem, OUT + 16), 0, '.bss zeroed (file junk past load_end_addr not loaded)');
  assert.equal(cstr(mem, OUT + 20).slice(0, 4), 'QEMU', 'fw_cfg signature');
  assert.equal(mem[OUT + 24] | (mem[OUT + 25] << 8), 2, 'fw_cfg NB_CPUS');
  assert.equal(u32(mem, OUT + 28), 0xcafef00d, 'IORAM read back through MMIO');
  assert.equal(m.platform.testdev.ioram[0x10], 0x0d);
  assert.equal(u32(mem, OUT + 32), 0x1122aa44, 'echo port: a byte write replaces lane 1');
  assert.ok(m.exitLog.some((e) => e.reason === 'KVM_EXIT_MMIO' && /gpa=0xff000010/.test(e.detail)));
  // The MBI.
  assert.equal(u32(mem, mbi), 0x24f);
  assert.equal(u32(mem, mbi + 4), 639);
  assert.equal(u32(mem, mbi + 8), 63 * 1024);
  assert.equal(cstr(mem, u32(mem, mbi + 16)), `${flat} a b=c`);
  assert.equal(u32(mem, mbi + 20), 1);
  const mods = u32(mem, mbi + 24);
  const start = u32(mem, mods), end = u32(mem, mods + 4);
  assert.equal(start % 4096, 0, 'module page aligned');
  assert.ok(start >= 0x100000 + bytes.length);
  assert.equal(new TextDecoder().decode(mem.subarray(start, end)), 'NR_CPUS=2\nFOO=bar\n');
  assert.equal(cstr(mem, u32(mem, mods + 8)), 'env');
  assert.equal(cstr(mem, u32(mem, mbi + 64)), 'qemu');
  const mmap = u32(mem, mbi + 48), len = u32(mem, mbi + 44);
  const entries: number[][] = [];
  for (let p = mmap; p < mmap + len; p += u32(mem, p) + 4) entries.push([u32(mem, p + 4), u32(mem, p + 12), u32(mem, p + 20)]);
  assert.deepEqual(entries, e820Map(64 << 20).map((e) => [e.addr, e.size, e.type]));
});

test('ELF kernels with a multiboot header boot by multiboot: 32-bit entry, EAX/EBX', () => {
  // A minimal ELF32 executable: one PT_LOAD at 0x100000 holding the header and "out 0xf4, al; hlt" after storing EAX/EBX.
  const code = [0xa3, 0x00, 0x00, 0x20, 0x00, 0x89, 0x1d, 0x04, 0x00, 0x20, 0x00, 0xb0, 0x07, 0xe6, 0xf4, 0xf4]; // mov [0x200000],eax; mov [0x200004],ebx; mov al,7; out 0xf4,al; hlt
  const hdr = header(0).subarray(8, 20);
  const body = new Uint8Array([...hdr, ...code]);
  const f = new Uint8Array(0x54 + body.length);
  const dv = new DataView(f.buffer);
  f.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  dv.setUint16(16, 2, true); dv.setUint16(18, 3, true); dv.setUint32(20, 1, true);
  dv.setUint32(24, 0x100000 + 12, true); dv.setUint32(28, 0x34, true);
  dv.setUint16(40, 0x34, true); dv.setUint16(42, 32, true); dv.setUint16(44, 1, true); dv.setUint16(46, 40, true);
  dv.setUint32(0x34, 1, true); dv.setUint32(0x38, 0x54, true); dv.setUint32(0x3c, 0x100000, true); dv.setUint32(0x40, 0x100000, true);
  dv.setUint32(0x44, body.length, true); dv.setUint32(0x48, body.length, true); dv.setUint32(0x4c, 5, true); dv.setUint32(0x50, 0x1000, true);
  f.set(body, 0x54);
  const dir = mkdtempSync(join(tmpdir(), 'mb-'));
  writeFileSync(join(dir, 'k.elf'), f);
  const img = loadImage(join(dir, 'k.elf'));
  assert.ok(img.ok, img.ok ? '' : img.diagnostics.map((d) => d.message).join());
  assert.equal(img.image.multiboot?.offset, 0x54);
  const m = new Machine(img.image, {});
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 7 });
  assert.equal(u32(m.mem, 0x200000), 0x2badb002);
  assert.equal(u32(m.mem, 0x200004), 0x9500);
  // An explicit entry mode overrides multiboot: the image is entered as an ordinary ELF.
  const forced = new Machine(img.image, { entry: 'protected' });
  assert.deepEqual(forced.run(), { kind: 'exit-port', code: 7 });
  assert.equal(u32(forced.mem, 0x200000), 0);
});

test('modules that do not fit in RAM are a configuration error naming the module', () => {
  const img = loadImage(join(GUESTS, 'multiboot-aout.asm'));
  assert.ok(img.ok);
  assert.throws(() => new Machine(img.image, { memSize: 4 << 20, modules: [{ name: 'big', bytes: new Uint8Array(8 << 20) }] }), /module 0 \(big, 8388608 bytes\) does not fit/);
});

test('a kernel linked over 0x9000-0x95ff (kvm-unit-tests realmode) keeps its bytes: the loader writes the e820 map and MBI first and the kernel last, as QEMU\'s option ROM; the boot GDT is outside RAM the kernel owns', () => {
  const a = loadImage(join(__dirname, 'guests/multiboot-low.asm'));
  assert.ok(a.ok, a.ok ? '' : a.diagnostics.map((d) => d.message).join());
  assert.ok(a.image.multiboot, 'a multiboot kernel');
  const m = new Machine(a.image, {});
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 0 });
  assert.equal(m.vcpus[0].getSregs().gdt.base, 0xc0000n);
});

// Linux direct boot (Documentation/arch/x86/boot.rst) with kernels the test builds: a synthetic
// bzImage whose protected-mode code records the 32-bit entry state and echoes boot_params' command
// line, and a vmlinux ELF64 (a "Linux" note, segments at p_paddr) entered at startup_64 in long mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../../vm-core/loader/assemble';
import { loadImage } from '../../vm-core/loader/load-image';
import { loadBzImage, parseSetupHeader } from '../../vm-core/loader/bzimage';
import { Machine } from '../../vm-core/vmm/machine';
import { launch } from '../../vm-core/vmm/launch';
import { resolveLaunchOptions } from '../../vm-core/config/launch-options';
import { e820Map } from '../../vm-core/vmm/e820';
import { LINUX_LAYOUT } from '../../vm-core/vmm/linux-boot';

const OUT = 0x300000;
const u32 = (m: Uint8Array, a: number) => new DataView(m.buffer, m.byteOffset).getUint32(a, true);

/** 32-bit protected-mode code at 1 MiB: store ESI, CR0, CS, DS, EFLAGS at OUT; echo the command line to port 0xE9; exit 0. */
const PM_CODE = `bits 32
org 0x100000
  mov [0x300000], esi
  mov eax, cr0
  mov [0x300004], eax
  xor eax, eax
  mov ax, cs
  mov [0x300008], eax
  mov ax, ds
  mov [0x30000c], eax
  pushfd
  pop eax
  mov [0x300010], eax
  mov ebx, [esi + 0x228]
.l:
  mov al, [ebx]
  test al, al
  jz .d
  out 0xe9, al
  inc ebx
  jmp .l
.d:
  mov al, 0
  out 0xf4, al
  hlt
`;

/** A bzImage: boot sector + one setup sector carrying the header, then the protected-mode code. */
function bzImage(patch: (dv: DataView, b: Uint8Array) => void = () => {}): Uint8Array {
  const asm = assemble({ path: '/test/pm.asm', source: PM_CODE });
  assert.ok(asm.ok, asm.ok ? '' : asm.diagnostics.map((d) => d.message).join('\n'));
  const pm = asm.image.segments[0].bytes;
  const syssize = Math.ceil(pm.length / 16);
  const b = new Uint8Array(2 * 512 + syssize * 16);
  const dv = new DataView(b.buffer);
  b[0x1f1] = 1;                              // setup_sects
  dv.setUint32(0x1f4, syssize, true);
  dv.setUint16(0x1fe, 0xaa55, true);
  b[0x200] = 0xeb; b[0x201] = 0x6a;          // jump over the header: header ends at 0x26c
  dv.setUint32(0x202, 0x53726448, true);     // "HdrS"
  dv.setUint16(0x206, 0x20f, true);          // protocol 2.15
  b[0x211] = 1;                              // LOADED_HIGH
  dv.setUint32(0x214, 0x100000, true);       // code32_start
  dv.setUint32(0x22c, 0x7fffffff, true);     // initrd_addr_max
  dv.setUint32(0x230, 0x200000, true);       // kernel_alignment
  b[0x234] = 1;                              // relocatable
  dv.setUint16(0x236, 0x3, true);            // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
  dv.setUint32(0x238, 0x7ff, true);          // cmdline_size
  dv.setBigUint64(0x258, 0x1000000n, true);  // pref_address
  dv.setUint32(0x260, 0x100000, true);       // init_size
  b.set(pm, 1024);
  patch(dv, b);
  return b;
}

function tmpFile(name: string, bytes: Uint8Array): string {
  const p = join(mkdtempSync(join(tmpdir(), 'linux-')), name);
  writeFileSync(p, bytes);
  return p;
}

test('bzImage detection: "HdrS" at 0x202 makes it a Linux kernel, loaded at 1 MiB, entered at code32_start', () => {
  const img = loadImage(tmpFile('bzImage', bzImage()));
  assert.ok(img.ok);
  assert.equal(img.image.format, 'bzimage');
  assert.equal(img.image.linux?.kind, 'bzimage');
  assert.equal(img.image.segments[0].addr, 0x100000);
  assert.equal(img.image.entry, 0x100000);
  assert.equal(img.image.linux?.header?.version, 0x20f);
  // The boot-time footprint: from 1 MiB up to pref_address (16 MiB) + init_size.
  assert.equal(img.image.linux!.loadAddr + img.image.linux!.initSize, 0x1000000 + 0x100000);
});

test('bad setup headers are errors naming the field and its offset', () => {
  const msg = (b: Uint8Array) => { const r = loadBzImage(b, '/k'); return r.ok ? '' : r.diagnostics.map((d) => d.message).join('\n'); };
  assert.match(msg(bzImage((dv) => dv.setUint16(0x1fe, 0x1234, true))), /boot_flag \(0x1FE\): 0x1234, not 0xaa55/);
  assert.match(msg(bzImage((dv) => dv.setUint16(0x206, 0x204, true))), /version \(0x206\): boot protocol 2\.04 is older than 2\.06/);
  assert.match(msg(bzImage((dv, b) => { b[0x211] = 0; })), /loadflags \(0x211\): LOADED_HIGH/);
  assert.match(msg(bzImage((dv, b) => { b[0x1f1] = 200; })), /setup_sects \(0x1F1\): 200 sectors/);
  assert.match(msg(bzImage((dv) => dv.setUint32(0x1f4, 0x100000, true))), /syssize \(0x1F4\): 1048576 paragraphs/);
  assert.match(msg(bzImage((dv) => dv.setUint32(0x230, 0x300000, true))), /kernel_alignment \(0x230\): 0x300000 is not a power of two/);
  assert.match(msg(bzImage((dv) => dv.setUint32(0x260, 0, true))), /init_size \(0x260\): 0/);
  assert.match(msg(bzImage((dv, b) => { b[0x234] = 0; dv.setUint32(0x214, 0x200000, true); })), /code32_start \(0x214\): 0x200000 is not 1 MiB/);
  assert.deepEqual(parseSetupHeader(new Uint8Array(0x100)).errors, ['file is 256 bytes, too short for a setup header (needs 0x264)']);
});

test('32-bit boot protocol: flat __BOOT_CS 0x10 / __BOOT_DS 0x18, paging off, IF = 0, ESI = boot_params; zero page filled', () => {
  const img = loadImage(tmpFile('bzImage', bzImage()));
  assert.ok(img.ok);
  const initrd = new TextEncoder().encode('070701 an initrd');
  const m = new Machine(img.image, { memSize: 64 << 20, cmdline: 'console=ttyS0 root=/dev/ram0', modules: [{ name: 'initrd', bytes: initrd }] });
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 0 });
  const mem = m.mem, bp = u32(mem, OUT);
  assert.equal(bp, LINUX_LAYOUT.zeroPage, 'ESI');
  assert.equal(u32(mem, OUT + 4) & 0x80000001, 1, 'CR0: PE, paging off');
  assert.equal(u32(mem, OUT + 8), 0x10, 'CS = __BOOT_CS');
  assert.equal(u32(mem, OUT + 12), 0x18, 'DS = __BOOT_DS');
  assert.equal(u32(mem, OUT + 16) & 0x200, 0, 'IF clear');
  assert.equal(m.output, 'console=ttyS0 root=/dev/ram0', 'the command line read through cmd_line_ptr');
  // The setup header copied from the image, type_of_loader 0xFF, the initrd at the top of RAM (page aligned).
  assert.equal(u32(mem, bp + 0x202), 0x53726448);
  assert.equal(mem[bp + 0x210], 0xff);
  const rd = u32(mem, bp + 0x218), rdSize = u32(mem, bp + 0x21c);
  assert.equal(rdSize, initrd.length);
  assert.equal(rd % 4096, 0);
  assert.ok(rd + rdSize <= 64 << 20 && rd + rdSize > (64 << 20) - 4096);
  assert.deepEqual(mem.subarray(rd, rd + rdSize), initrd);
  // e820_table: the VMM's one memory map.
  const map = e820Map(64 << 20);
  assert.equal(mem[bp + 0x1e8], map.length);
  const dv = new DataView(mem.buffer);
  map.forEach((e, k) => {
    const p = bp + 0x2d0 + 20 * k;
    assert.deepEqual([Number(dv.getBigUint64(p, true)), Number(dv.getBigUint64(p + 8, true)), dv.getUint32(p + 16, true)], [e.addr, e.size, e.type]);
  });
  // The ACPI tables are there for the kernel to find (RSDP in the BIOS area), with \\_S5 for acpi_power_off.
  assert.ok(Buffer.from(mem.subarray(0xe0000, 0x100000)).includes('RSD PTR '));
  assert.ok(Buffer.from(mem.subarray(0xe0000, 0x100000)).includes(Buffer.from([0x08, 0x5f, 0x53, 0x35, 0x5f])));
});

test('launch: --append/--initrd go to a bzImage; too little RAM and too long a command line are named errors', () => {
  const k = tmpFile('bzImage', bzImage());
  const ok = (raw: Record<string, unknown>) => { const r = resolveLaunchOptions(raw); assert.deepEqual(r.errors, []); return launch(r.options); };
  const l = ok({ program: k, append: 'quiet', initrd: tmpFile('rd', new Uint8Array([1, 2, 3])) });
  assert.ok(l.ok, l.ok ? '' : l.errors.join());
  assert.deepEqual(l.warnings, []);
  assert.deepEqual(l.machine.run(), { kind: 'exit-port', code: 0 });
  assert.equal(l.machine.output, 'quiet');
  const small = ok({ program: k, memory: '16M' });
  assert.ok(!small.ok && /memory: the kernel needs 17 MiB of RAM to boot .* give --memory 256M or more/.test(small.errors.join()));
  const long = ok({ program: k, append: 'x'.repeat(3000) });
  assert.ok(!long.ok && /append: the command line is 3000 bytes, the kernel takes at most 2047 \(cmdline_size\)/.test(long.errors.join()));
});

/** A vmlinux-like ELF64: a PT_NOTE with a "Linux" note and one PT_LOAD (vaddr 0xffffffff81000000, paddr 16 MiB). */
function vmlinux(code: Uint8Array): Uint8Array {
  const note = new Uint8Array(12 + 8 + 4);
  const nd = new DataView(note.buffer);
  nd.setUint32(0, 6, true); nd.setUint32(4, 4, true); nd.setUint32(8, 0x100, true); // namesz "Linux\0", descsz, type
  note.set(new TextEncoder().encode('Linux\0'), 12);
  const phoff = 64, noteOff = phoff + 2 * 56, codeOff = 0x1000;
  const b = new Uint8Array(codeOff + code.length);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  dv.setUint16(16, 2, true); dv.setUint16(18, 62, true); dv.setUint32(20, 1, true); // ET_EXEC, EM_X86_64
  dv.setBigUint64(24, 0x1000000n, true);     // e_entry: phys startup_64
  dv.setBigUint64(32, BigInt(phoff), true);
  dv.setUint16(52, 64, true); dv.setUint16(54, 56, true); dv.setUint16(56, 2, true);
  const ph = (at: number, type: number, flags: number, off: number, vaddr: bigint, paddr: bigint, size: number) => {
    dv.setUint32(at, type, true); dv.setUint32(at + 4, flags, true);
    dv.setBigUint64(at + 8, BigInt(off), true); dv.setBigUint64(at + 16, vaddr, true); dv.setBigUint64(at + 24, paddr, true);
    dv.setBigUint64(at + 32, BigInt(size), true); dv.setBigUint64(at + 40, BigInt(size), true); dv.setBigUint64(at + 48, 4n, true);
  };
  ph(phoff, 1, 5, codeOff, 0xffffffff81000000n, 0x1000000n, code.length);
  ph(phoff + 56, 4, 4, noteOff, 0n, 0n, note.length);
  b.set(note, noteOff);
  b.set(code, codeOff);
  return b;
}

test('vmlinux ELF64 with a "Linux" note: 64-bit boot protocol at e_entry, RSI = boot_params, CS 0x10 in long mode', () => {
  const asm = assemble({ path: '/test/s64.asm', source: `bits 64
  mov [0x300000], rsi
  mov ax, cs
  mov [0x300008], ax
  mov rax, cr0
  mov [0x300010], rax
  mov al, 0
  out 0xf4, al
  hlt
` });
  assert.ok(asm.ok);
  const img = loadImage(tmpFile('vmlinux', vmlinux(asm.image.segments[0].bytes)));
  assert.ok(img.ok, img.ok ? '' : img.diagnostics.map((d) => d.message).join());
  assert.equal(img.image.linux?.kind, 'vmlinux');
  assert.equal(img.image.segments[0].addr, 0x1000000);
  const m = new Machine(img.image, { memSize: 64 << 20, cmdline: 'console=ttyS0' });
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 0 });
  assert.equal(u32(m.mem, OUT), LINUX_LAYOUT.zeroPage);
  assert.equal(m.mem[OUT + 8], 0x10);
  assert.equal(u32(m.mem, OUT + 16) >>> 31, 1, 'paging on');
  assert.equal(u32(m.mem, LINUX_LAYOUT.zeroPage + 0x228), LINUX_LAYOUT.cmdline);
});

// Loads any guest image the debugger accepts: an ELF (by its magic, gABI e_ident), assembly
// source (by extension .asm/.nasm, through the built-in NASM-compatible assembler), or else
// a flat binary. Never throws: every problem is a Diagnostic.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { ElfLoadOptions, isElf, loadElfFile } from './elf';
import { FlatOptions, loadFlatFile } from './flat';
import type { LoadResult } from './image';
import { assemble } from './assemble';
import { findMultibootHeader, loadMultibootAout, MB_AOUT_KLUDGE } from './multiboot';
import { hasLinuxNote, isBzImage, loadBzImage } from './bzimage';

/** NASM-syntax sources (GNU as files (.s) are built into ELF by the user's toolchain instead). */
export const ASM_EXTENSIONS = ['.asm', '.nasm'];

export interface LoadImageOptions extends FlatOptions, ElfLoadOptions {
  /** Force a format instead of sniffing. */
  format?: 'auto' | 'asm' | 'elf' | 'flat' | 'bzimage';
  /** Preprocessor definitions for assembly sources (like nasm -D). */
  defines?: Record<string, string>;
}

export type ImageKind = 'asm' | 'elf' | 'flat' | 'bzimage';

/** Decides how to load `path`: ELF magic first, then a Linux bzImage ("HdrS"), then assembly extensions, else flat. */
export function sniffImageKind(path: string): ImageKind {
  const head = readHead(path, 0x210);
  if (head && isElf(head)) return 'elf';
  if (head && isBzImage(head)) return 'bzimage';
  if (ASM_EXTENSIONS.includes(extname(path).toLowerCase())) return 'asm';
  return 'flat';
}

function readHead(path: string, n: number): Uint8Array | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) try { closeSync(fd); } catch { /* already closed */ }
  }
}

/** Sources of other languages: refused by `format: 'auto'` (taken as flat binaries, they would run as garbage). */
const FOREIGN_SOURCES: Record<string, string> = {
  '.c': 'C source', '.h': 'a C header', '.cc': 'C++ source', '.cpp': 'C++ source', '.cxx': 'C++ source', '.rs': 'Rust source',
  '.s': 'GNU as (AT&T syntax) source', '.sx': 'GNU as source', '.o': 'an object file (not linked)', '.ld': 'a linker script',
  '.py': 'Python source', '.sh': 'a shell script', '.txt': 'a text file', '.md': 'a text file', '.json': 'a JSON file',
};

export function loadImage(path: string, opts: LoadImageOptions = {}): LoadResult {
  const abs = resolve(path);
  const auto = !opts.format || opts.format === 'auto';
  const kind = auto ? sniffImageKind(abs) : opts.format!;
  if (auto && kind === 'flat') {
    const ext = extname(abs);
    const what = FOREIGN_SOURCES[ext.toLowerCase()] ?? (ext === '.S' ? 'GNU as source' : undefined);
    if (what) {
      return { ok: false, diagnostics: [{ file: abs, line: 0, column: 0, severity: 'error', message:
        `${basename(abs)} is ${what}, which kvm-guest does not build: give it NASM-syntax assembly (.asm, .nasm), an ELF executable ` +
        `(e.g. gcc -m32 -ffreestanding -nostdlib -static -Wl,-Ttext=0x100000 -o guest.elf guest.c), or a flat binary (--format flat to run this file's bytes as one)` }] };
    }
  }
  switch (kind) {
    case 'elf': return withLinux(withMultiboot(loadElfFile(abs, opts), abs), abs);
    case 'bzimage':
      try { return loadBzImage(readFileSync(abs), abs); }
      catch (e) { return { ok: false, diagnostics: [{ file: abs, line: 0, column: 0, severity: 'error', message: `bzImage: cannot read file: ${(e as Error).message}` }] }; }
    case 'asm': {
      // An assembled kernel with a multiboot header in its first 8 KiB is booted by multiboot too.
      const r = withEmptyCheck(assembleSource(abs, opts), abs);
      if (r.ok && r.image.segments[0]) { const h = findMultibootHeader(r.image.segments[0].bytes); if (h) r.image.multiboot = h; }
      return r;
    }
    default: {
      // A flat file with a multiboot header using the a.out kludge is placed by that header.
      const h = opts.format === 'flat' || opts.loadAddress !== undefined || opts.placement === 'reset' ? undefined : findMultibootHeader(readHead(abs, 8192) ?? new Uint8Array(0));
      if (h && h.flags & MB_AOUT_KLUDGE) {
        try { return loadMultibootAout(readFileSync(abs), abs, h); }
        catch (e) { return { ok: false, diagnostics: [{ file: abs, line: 0, column: 0, severity: 'error', message: `multiboot: cannot read file: ${(e as Error).message}` }] }; }
      }
      const r = loadFlatFile(abs, opts);
      // Say what was assumed: a file that is not ELF and not assembly runs as raw machine code.
      if (r.ok && auto) r.diagnostics.push({ file: abs, line: 0, column: 0, severity: 'warning', message:
        `no ELF header and not an .asm/.nasm source: running it as a flat binary of ${r.image.segments[0].bytes.length} bytes at 0x${r.image.segments[0].addr.toString(16)}, entered in ${r.image.bits ?? 16}-bit mode (--format flat says so and silences this)` });
      return r;
    }
  }
}

/** An ELF kernel carrying a multiboot header is booted by multiboot (its PT_LOAD segments placed by the ELF loader). */
function withMultiboot(r: LoadResult, path: string): LoadResult {
  if (!r.ok) return r;
  const h = findMultibootHeader(readHead(path, 8192) ?? new Uint8Array(0));
  if (h) r.image.multiboot = h;
  return r;
}

/**
 * A 64-bit vmlinux (an ELF with the kernel's "Linux"/"Xen" notes, no multiboot header) is booted by the
 * Linux 64-bit boot protocol at its e_entry (startup_64, a physical address), its segments placed at p_paddr.
 */
function withLinux(r: LoadResult, path: string): LoadResult {
  if (!r.ok || r.image.multiboot || r.image.format !== 'elf64') return r;
  let bytes: Uint8Array;
  try { bytes = readFileSync(path); } catch { return r; }
  if (!hasLinuxNote(bytes)) return r;
  const lo = Math.min(...r.image.segments.map((s) => s.addr));
  const hi = Math.max(...r.image.segments.map((s) => s.addr + Math.max(s.memSize, s.bytes.length)));
  r.image.linux = { kind: 'vmlinux', entry: r.image.entry, loadAddr: lo, initSize: hi - lo };
  return r;
}

/** An assembly source that produced no bytes has nothing to run (it would execute zeroed memory). */
function withEmptyCheck(r: LoadResult, path: string): LoadResult {
  if (!r.ok || r.image.segments.some((s) => s.bytes.length > 0)) return r;
  return { ok: false, diagnostics: [...r.diagnostics, { file: path, line: 1, column: 1, severity: 'error', message: 'the source assembles to no code or data: nothing to run' }] };
}

/** Assembles NASM-syntax source with the built-in assembler (vm-core/loader/assemble.ts). */
function assembleSource(path: string, opts: LoadImageOptions): LoadResult {
  return assemble({
    path,
    defines: opts.defines,
    defaultOrg: opts.loadAddress,
  });
}

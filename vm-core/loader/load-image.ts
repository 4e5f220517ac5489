// Loads any guest image the debugger accepts: an ELF (by its magic, gABI e_ident), assembly
// source (by extension .asm/.nasm, through the built-in NASM-compatible assembler), or else
// a flat binary. Never throws: every problem is a Diagnostic.
import { closeSync, openSync, readSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { ElfLoadOptions, isElf, loadElfFile } from './elf';
import { FlatOptions, loadFlatFile } from './flat';
import type { LoadResult } from './image';
import { assemble } from './assemble';

/** NASM-syntax sources (GNU as files (.s) are built into ELF by the user's toolchain instead). */
export const ASM_EXTENSIONS = ['.asm', '.nasm'];

export interface LoadImageOptions extends FlatOptions, ElfLoadOptions {
  /** Force a format instead of sniffing. */
  format?: 'auto' | 'asm' | 'elf' | 'flat';
  /** Preprocessor definitions for assembly sources (like nasm -D). */
  defines?: Record<string, string>;
}

export type ImageKind = 'asm' | 'elf' | 'flat';

/** Decides how to load `path`: ELF magic first, then assembly extensions, else flat. */
export function sniffImageKind(path: string): ImageKind {
  const head = readHead(path, 4);
  if (head && isElf(head)) return 'elf';
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

export function loadImage(path: string, opts: LoadImageOptions = {}): LoadResult {
  const abs = resolve(path);
  const kind = opts.format && opts.format !== 'auto' ? opts.format : sniffImageKind(abs);
  switch (kind) {
    case 'elf': return loadElfFile(abs, opts);
    case 'asm': return assembleSource(abs, opts);
    default: return loadFlatFile(abs, opts);
  }
}

/** Assembles NASM-syntax source with the built-in assembler (vm-core/loader/assemble.ts). */
function assembleSource(path: string, opts: LoadImageOptions): LoadResult {
  return assemble({
    path,
    defines: opts.defines,
    defaultOrg: opts.loadAddress,
  });
}

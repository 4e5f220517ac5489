// Loads any guest image the debugger accepts: an ELF (by its magic, gABI e_ident), assembly
// source (by extension .asm/.s/.nasm, through the built-in NASM-compatible assembler), or else
// a flat binary. Never throws: every problem is a Diagnostic.
import { closeSync, openSync, readSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { ElfLoadOptions, isElf, loadElfFile } from './elf';
import { FlatOptions, loadFlatFile } from './flat';
import type { LoadResult } from './image';

export const ASM_EXTENSIONS = ['.asm', '.s', '.nasm'];

export interface LoadImageOptions extends FlatOptions, ElfLoadOptions {
  /** Force a format instead of sniffing. */
  format?: 'auto' | 'asm' | 'elf' | 'flat';
  /** Passed to the assembler (e.g. include paths, defines); shape defined by ./assemble. */
  asm?: Record<string, unknown>;
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

type AssembleModule = {
  assembleFile?: (path: string, opts?: Record<string, unknown>) => unknown;
  assemble?: (source: string, opts?: Record<string, unknown>) => unknown;
};

/** Calls the assembler in ./assemble, loaded lazily so the loader works (with a diagnostic) without it. */
function assembleSource(path: string, opts: LoadImageOptions): LoadResult {
  const fail = (message: string): LoadResult => ({ ok: false, diagnostics: [{ file: path, line: 0, column: 0, severity: 'error', message }] });
  let mod: AssembleModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('./assemble') as AssembleModule;
  } catch (e) {
    return fail(`asm: the assembler (vm-core/loader/assemble) is not available: ${(e as Error).message.split('\n')[0]}`);
  }
  const asmOpts: Record<string, unknown> = { ...(opts.asm ?? {}), path, file: path };
  if (opts.loadAddress !== undefined) asmOpts.org = opts.loadAddress;
  try {
    let result: unknown;
    if (typeof mod.assembleFile === 'function') result = mod.assembleFile(path, asmOpts);
    else if (typeof mod.assemble === 'function') {
      const { readFileSync } = require('node:fs') as typeof import('node:fs');
      let source: string;
      try { source = readFileSync(path, 'utf8'); } catch (e) { return fail(`asm: cannot read file: ${(e as Error).message}`); }
      result = mod.assemble(source, asmOpts);
    } else return fail('asm: ./assemble exports neither assembleFile nor assemble');
    if (isLoadResult(result)) return result;
    return fail('asm: the assembler returned something that is not a LoadResult');
  } catch (e) {
    return fail(`asm: internal assembler error: ${(e as Error).message}`);
  }
}

function isLoadResult(v: unknown): v is LoadResult {
  return typeof v === 'object' && v !== null && typeof (v as { ok?: unknown }).ok === 'boolean' && Array.isArray((v as { diagnostics?: unknown }).diagnostics);
}

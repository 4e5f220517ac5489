// Which files are guest images, and which image a source file belongs to. No VS Code import, so
// unit tests can use it directly.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

export const GUEST_ASM_LANGUAGE = 'guest-asm';
/** Source extensions of the guest assembly language (GNU as `.s` is left to other extensions). */
export const GUEST_ASM_EXTENSIONS = ['.asm', '.nasm', '.inc'];
/** Extensions treated as flat binaries. */
export const FLAT_EXTENSIONS = ['.bin', '.img', '.rom'];
/** Languages whose sources may belong to an ELF guest (DWARF line tables). */
export const ELF_SOURCE_LANGUAGES = ['c', 'cpp', 'asm'];

/** True when the file starts with the ELF magic \x7FELF. Never throws. */
export function isElfFile(path: string): boolean {
  let fd: number | undefined;
  try {
    if (!statSync(path).isFile()) return false;
    fd = openSync(path, 'r');
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) try { closeSync(fd); } catch { /* already closed */ }
  }
}

export type GuestFileKind = 'asm' | 'flat' | 'elf';

/** What kind of guest image `path` is, or undefined when it is not one we can launch directly. */
export function guestFileKind(path: string, languageId?: string): GuestFileKind | undefined {
  const ext = extname(path).toLowerCase();
  if (languageId === GUEST_ASM_LANGUAGE || GUEST_ASM_EXTENSIONS.includes(ext)) return 'asm';
  if (isElfFile(path)) return 'elf';
  if (FLAT_EXTENSIONS.includes(ext)) return 'flat';
  return undefined;
}

/**
 * For a C or assembly source of an ELF guest, the executable built from it: a sibling named like
 * the source without its extension, or with .elf, that starts with the ELF magic.
 */
export function elfForSource(sourcePath: string): string | undefined {
  const dir = dirname(sourcePath);
  const stem = basename(sourcePath, extname(sourcePath));
  for (const name of [stem, `${stem}.elf`, `${stem}.out`, 'a.out']) {
    const p = join(dir, name);
    if (existsSync(p) && isElfFile(p)) return p;
  }
  return undefined;
}

/** The guest image to debug for a file, or undefined with the reason. */
export function programForFile(path: string, languageId?: string): { program: string } | { reason: string } {
  const kind = guestFileKind(path, languageId);
  if (kind) return { program: path };
  if (languageId && ELF_SOURCE_LANGUAGES.includes(languageId)) {
    const elf = elfForSource(path);
    if (elf) return { program: elf };
    return { reason: `${basename(path)} is a source of an ELF guest, but no ELF executable built from it was found beside it; add a launch configuration with "program" set to the ELF file.` };
  }
  return { reason: `${basename(path)} is not a guest image (guest assembly .asm/.nasm, flat .bin or ELF).` };
}

// Test helper: builds guest ELFs with the host toolchain (gcc/as/ld/nasm) into a temp dir and
// reads the reference answers from binutils (readelf, nm, addr2line, objcopy).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';

const found = new Map<string, boolean>();
/** True when `tool` runs (`tool --version` exits 0). */
export function hasTool(tool: string): boolean {
  if (!found.has(tool)) {
    const r = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    const nasm = tool === 'nasm' ? spawnSync(tool, ['-v'], { stdio: 'ignore' }) : undefined;
    found.set(tool, r.status === 0 || nasm?.status === 0);
  }
  return found.get(tool)!;
}

/** The first missing tool of `tools`, for a t.skip message. */
export function missing(...tools: string[]): string | undefined {
  return tools.find((t) => !hasTool(t));
}

let dir: string | undefined;
export function workDir(): string {
  if (!dir) {
    const d = mkdtempSync(join(tmpdir(), 'kvm-guest-elf-'));
    dir = d;
    process.on('exit', () => { if (!process.env.KEEP_ELF_TMP) rmSync(d, { recursive: true, force: true }); });
  }
  return dir;
}

export function write(name: string, text: string): string {
  const p = join(workDir(), name);
  writeFileSync(p, text);
  return p;
}

/** Runs a command in the work dir; returns stdout, or throws with stderr. */
export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { cwd: workDir(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** Runs a command; undefined when it fails (e.g. no 32-bit multilib). */
export function tryRun(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { cwd: workDir(), encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

export interface RefSection { index: number; name: string; type: string; addr: number; size: number; flags: string; }

/** `readelf -SW` sections. */
export function readelfSections(elf: string): RefSection[] {
  const out: RefSection[] = [];
  for (const line of run('readelf', ['-SW', elf]).split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([A-Za-z]*)/.exec(line);
    if (m) out.push({ index: Number(m[1]), name: m[2], type: m[3], addr: parseInt(m[4], 16), size: parseInt(m[5], 16), flags: m[6] });
  }
  return out;
}

/** `nm -S` defined symbols: name, address, size (if shown), type letter. */
export function nmSymbols(elf: string): { name: string; addr: number; size?: number; type: string }[] {
  const out: { name: string; addr: number; size?: number; type: string }[] = [];
  for (const line of run('nm', ['-S', elf]).split('\n')) {
    const m = /^([0-9a-f]+)\s+(?:([0-9a-f]+)\s+)?([A-Za-z])\s+(\S+)$/.exec(line.trim());
    if (m) out.push({ addr: parseInt(m[1], 16), size: m[2] ? parseInt(m[2], 16) : undefined, type: m[3], name: m[4] });
  }
  return out;
}

/** `addr2line` (GNU, or `llvm-addr2line` with tool set) answers ("file:line", or undefined for "??") for each address. */
export function addr2line(elf: string, addrs: number[], tool = 'addr2line'): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < addrs.length; i += 2000) {
    const chunk = addrs.slice(i, i + 2000);
    const lines = run(tool, ['-e', elf, ...chunk.map((a) => '0x' + a.toString(16))]).trimEnd().split('\n');
    for (const l of lines) {
      const s = l.replace(/ \(discriminator \d+\)$/, '');
      if (s.startsWith('??')) { out.push(undefined); continue; }
      const colon = s.lastIndexOf(':');
      const line = s.slice(colon + 1);
      out.push(line === '?' || line === '0' ? undefined : `${posix.normalize(s.slice(0, colon))}:${line}`);
    }
  }
  return out;
}

/** Highest .debug_line version in the file (readelf --debug-dump=rawline). */
export function lineTableVersion(elf: string): number {
  const vs = [...run('readelf', ['--debug-dump=rawline', elf]).matchAll(/DWARF Version:\s+(\d+)/g)].map((m) => Number(m[1]));
  return Math.max(0, ...vs);
}

/** `objcopy -O binary`: the flat image of all allocated sections from the lowest LMA. */
export function objcopyBinary(elf: string): Uint8Array {
  const out = join(workDir(), posix.basename(elf) + '.bin');
  run('objcopy', ['-O', 'binary', elf, out]);
  return readFileSync(out);
}

// Differential check of the built-in assembler against NASM (`nasm -f bin`): assembles one file
// with both, compares the images byte for byte and, per source line, the bytes each produced.
// Also usable from the command line: node --import tsx test/loader/asm-corpus/nasm-diff.ts file.asm
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { tmpdir } from 'node:os';
import { assemble } from '../../../vm-core/loader/assemble';
import { formatDiagnostic } from '../../../vm-core/loader/image';

export function nasmAvailable(): boolean {
  const r = spawnSync('nasm', ['-v'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

export interface DiffResult {
  file: string;
  identical: boolean;
  /** Lines that produced bytes in NASM's listing, and how many of them we matched exactly. */
  lines: number;
  matchedLines: number;
  message: string;
}

interface NasmOut { bin: Uint8Array; listing: string; stderr: string; ok: boolean }

function runNasm(file: string): NasmOut {
  const dir = mkdtempSync(join(tmpdir(), 'nasmdiff-'));
  try {
    const out = join(dir, 'out.bin');
    const lst = join(dir, 'out.lst');
    const r = spawnSync('nasm', ['-f', 'bin', '-w-all', '-o', out, '-l', lst, basename(file)], { encoding: 'utf8', cwd: join(file, '..') });
    const ok = r.status === 0 && existsSync(out);
    return { bin: ok ? new Uint8Array(readFileSync(out)) : new Uint8Array(), listing: existsSync(lst) ? readFileSync(lst, 'utf8') : '', stderr: r.stderr, ok };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** NASM listing: source line number -> address of its first byte (main file only, no macro lines). */
function nasmLineAddrs(listing: string): Map<number, number> {
  const m = new Map<number, number>();
  let depth = 0;
  for (const l of listing.split('\n')) {
    const mm = /^\s*(\d+)\s(?:([0-9A-F]{8})\s(\S+))?\s*(<\d+>)?/.exec(l);
    if (!mm) continue;
    // Lines from included files/macros are marked with <n>; only count top-level lines.
    depth = mm[4] ? 1 : 0;
    if (depth) continue;
    const ln = Number(mm[1]);
    if (mm[2] && !m.has(ln) && !/^<res/.test(mm[3] ?? '')) m.set(ln, parseInt(mm[2], 16));
  }
  return m;
}

export function diffWithNasm(file: string, opts: { org?: number } = {}): DiffResult {
  const n = runNasm(file);
  const ours = assemble({ path: file, listing: true });
  const name = basename(file);
  if (!n.ok) return { file: name, identical: false, lines: 0, matchedLines: 0, message: `nasm failed on ${name}:\n${n.stderr}` };
  if (!ours.ok) {
    return { file: name, identical: false, lines: 0, matchedLines: 0, message: `our assembler failed on ${name}:\n${ours.diagnostics.slice(0, 20).map(formatDiagnostic).join('\n')}` };
  }
  const img = ours.image.segments[0];
  const org = opts.org ?? img.addr;
  const mine = img.bytes;
  // Per-line comparison: our bytes for each main-file line against NASM's bytes at NASM's address.
  const nasmAddr = nasmLineAddrs(n.listing);
  const perLine = new Map<number, { addr: number; size: number }>();
  for (const e of ours.image.lines) {
    if (e.file !== file) continue;
    const cur = perLine.get(e.line);
    if (!cur) perLine.set(e.line, { addr: e.addr, size: e.size });
    else cur.size = e.addr + e.size - cur.addr;
  }
  let lines = 0, matched = 0;
  const firstBad: string[] = [];
  for (const [ln, a] of nasmAddr) {
    lines++;
    const o = perLine.get(ln);
    if (!o) { if (firstBad.length < 5) firstBad.push(`line ${ln}: no bytes from us`); continue; }
    const nOff = a, oOff = o.addr - org;
    // NASM's listing gives offsets within the line's section; only .text lines line up with the image.
    if (nOff !== oOff && identicalImage(mine, n.bin)) { matched++; continue; }
    const theirs = n.bin.subarray(nOff, nOff + o.size);
    const ourBytes = mine.subarray(oOff, oOff + o.size);
    const nextAddr = [...nasmAddr.entries()].find(([l2, a2]) => l2 > ln && a2 > a)?.[1];
    const sizeOk = nextAddr === undefined || nextAddr - a === o.size || nextAddr - a > o.size;
    if (sizeOk && theirs.length === ourBytes.length && theirs.every((b, i) => b === ourBytes[i])) matched++;
    else if (firstBad.length < 5) firstBad.push(`line ${ln}: nasm ${hex(theirs)} ours ${hex(ourBytes)}`);
  }
  let identical = mine.length === n.bin.length && mine.every((b, i) => b === n.bin[i]);
  let message = '';
  if (!identical) {
    let off = 0;
    while (off < mine.length && off < n.bin.length && mine[off] === n.bin[off]) off++;
    const addr = org + off;
    const ourListing = (ours.listing ?? '').split('\n');
    const near = (lst: string[]) => {
      const idx = lst.findIndex((l) => { const mm = /^\s*\d+\s([0-9A-F]{8})/.exec(l); return mm ? parseInt(mm[1], 16) > addr : false; });
      return lst.slice(Math.max(0, idx - 4), idx + 2).join('\n');
    };
    message = `${name}: first difference at offset 0x${off.toString(16)} (address 0x${addr.toString(16)}); sizes nasm ${n.bin.length} ours ${mine.length}\n` +
      `--- nasm listing ---\n${near(n.listing.split('\n'))}\n--- our listing ---\n${near(ourListing)}\n` +
      (firstBad.length ? `--- first differing lines ---\n${firstBad.join('\n')}\n` : '');
  }
  if (identical && matched !== lines) identical = true;
  return { file: name, identical, lines, matchedLines: matched, message };
}

function identicalImage(a: Uint8Array, b: Uint8Array): boolean { return a.length === b.length && a.every((x, i) => x === b[i]); }

function hex(b: Uint8Array): string { return Buffer.from(b).toString('hex'); }

if (require.main === module) {
  for (const f of process.argv.slice(2)) {
    const r = diffWithNasm(f);
    console.log(`${r.file}: ${r.identical ? 'identical' : 'DIFFERENT'}; ${r.matchedLines}/${r.lines} lines match`);
    if (r.message) console.log(r.message);
  }
}

// Sections of a flat image, laid out as NASM's bin format does (NASM manual 8.1.3): .text
// first at `org`, then the other progbits sections in the order they were declared, then the
// nobits ones (.bss), each aligned to its alignment (default 4, raised by `align`).

export interface SectionState {
  name: string;
  nobits: boolean;
  align: number;
  /** start= address, if given. */
  fixedStart?: bigint;
  /** Declaration order. */
  order: number;
  /** Bytes emitted so far (progbits only). */
  bytes: number[];
  /** Current offset (= size so far, also for nobits). */
  size: bigint;
}

export const DEFAULT_SECTION_ALIGN = 4;

export function newSection(name: string, order: number, nobits?: boolean): SectionState {
  return { name, nobits: nobits ?? (name === '.bss' || name.startsWith('.bss.') || name === '.tbss'), align: DEFAULT_SECTION_ALIGN, order, bytes: [], size: 0n };
}

export interface Layout { starts: Map<string, bigint>; order: SectionState[]; end: bigint; fileEnd: bigint }

const alignUp = (v: bigint, a: number): bigint => (a > 1 ? ((v + BigInt(a) - 1n) / BigInt(a)) * BigInt(a) : v);

export function layoutSections(sections: Map<string, SectionState>, org: bigint): Layout {
  const all = [...sections.values()];
  const text = all.filter((s) => s.name === '.text');
  const prog = all.filter((s) => s.name !== '.text' && !s.nobits).sort((a, b) => a.order - b.order);
  const nob = all.filter((s) => s.name !== '.text' && s.nobits).sort((a, b) => a.order - b.order);
  const order = [...text, ...prog, ...nob];
  const starts = new Map<string, bigint>();
  let pos = org;
  let fileEnd = org;
  for (const s of order) {
    const start = s.fixedStart ?? (s === order[0] ? pos : alignUp(pos, s.align));
    starts.set(s.name, start);
    pos = start + s.size;
    if (!s.nobits && s.size > 0n) fileEnd = pos;
  }
  return { starts, order, end: pos, fileEnd };
}

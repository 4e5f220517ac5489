// Guest prelude for the interrupt-controller tests: a 64-bit guest (longModeGuest) with an IDT whose
// every vector from 0x20 up runs one handler that counts the interrupt per vector, records the TSC
// of the last one, sends the EOI (xAPIC MMIO, or the x2APIC MSR with X2APIC defined) and returns.
// Results live at fixed addresses: COUNTS (u32 per vector), LAST_TSC (u64), LAST_VEC (u32).
export const COUNTS = 0x200000, LAST_TSC = 0x200800, LAST_VEC = 0x200808, ORDER = 0x200900;

/** NASM source: `body` runs first (after LIDT and the stack), then the handlers and the IDT. */
export function apicGuest(body: string, opts: { x2apic?: boolean; noEoi?: boolean; preEoi?: string } = {}): string {
  const eoi = opts.noEoi ? '' : opts.x2apic
    ? '    mov ecx, 0x80b\n    xor eax, eax\n    xor edx, edx\n    wrmsr\n'
    : '    mov eax, 0xfee000b0\n    mov dword [rax], 0\n';
  const stubs: string[] = [];
  for (let v = 0x20; v < 0x100; v++) stubs.push(`stub_${v}: push ${v}\n    jmp common`);
  const entries: string[] = [];
  for (let v = 0; v < 0x100; v++) {
    const h = v < 0x20 ? 'fault' : `stub_${v}`;
    entries.push(`    dw ${h} & 0xffff, 8, 0x8e00, (${h} >> 16) & 0xffff\n    dd 0, 0`);
  }
  return `bits 64
org 0x100000
    lidt [rel idtr]
    mov rsp, 0x80000
    mov ebx, 0xfee00000                    ; rbx: the xAPIC page (mapped by mapApicPages)
${body}
fault:
    mov al, 0xee
    out 0xf4, al
    hlt
common:
    push rax
    push rcx
    push rdx
    movzx eax, byte [rsp + 24]
    mov [${LAST_VEC}], eax
    mov ecx, [${ORDER}]
    mov [${ORDER} + 4 + rcx], al
    inc dword [${ORDER}]
    inc dword [${COUNTS} + rax * 4]
    rdtsc
    mov [${LAST_TSC}], eax
    mov [${LAST_TSC} + 4], edx
${opts.preEoi ?? ''}
${eoi}    pop rdx
    pop rcx
    pop rax
    add rsp, 8
    iretq
${stubs.join('\n')}
idtr: dw 4095
    dq idt
align 16
idt:
${entries.join('\n')}
`;
}

/** Map the IOAPIC and LAPIC pages (0xFEC00000, 0xFEE00000) into setupLongMode's identity map (PDPT[3] -> PD at 0x4000). */
export function mapApicPages(mem: Uint8Array): void {
  const dv = new DataView(mem.buffer, mem.byteOffset);
  dv.setUint32(0x2000 + 3 * 8, 0x4000 | 3, true);
  for (const pa of [0xfec00000, 0xfee00000]) dv.setUint32(0x4000 + 8 * ((pa - 0xc0000000) / 0x200000), (pa | 0x9b) >>> 0, true);
}

/** Read a little-endian u32 / u64 (as number) of guest memory. */
export function u32(mem: Uint8Array, at: number): number { return new DataView(mem.buffer, mem.byteOffset).getUint32(at, true); }
export function u64(mem: Uint8Array, at: number): number { return Number(new DataView(mem.buffer, mem.byteOffset).getBigUint64(at, true)); }
/** The vectors in the order the handler saw them. */
export function order(mem: Uint8Array): number[] { const n = u32(mem, ORDER); return [...mem.subarray(ORDER + 4, ORDER + 4 + n)]; }

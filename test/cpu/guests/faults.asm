; Double and triple faults (SDM Vol. 3A 6.15, Table 6-5), chosen with -DCASE=n:
;  1 #GP whose gate is not present: #NP during delivery, contributory + contributory -> #DF
;  2 #PF whose gate has an invalid type: #GP during delivery, page fault + contributory -> #DF
;  3 #DE delivered on an unmapped IST stack: #PF during delivery, contributory + page fault ->
;    the #PF is delivered serially (no #DF)
;  4 IDT limit 0: #UD -> #GP -> #DF -> triple fault (shutdown, or a TRIPLE_FAULT exit)
;  5 #DF gate not present after a contributory pair: triple fault
%include "lib.inc"
org 0x8000
start:
    BOOT64
    call setup_idt64
%if CASE == 1
    and byte [IDT + 13 * 16 + 5], 0x7f          ; #GP gate P = 0
    mov ax, 0x103
    TRY mov ds, ax
%elif CASE == 2
    mov byte [IDT + 14 * 16 + 5], 0x80          ; #PF gate: present, type 0 (invalid)
    mov rax, 0x140000000
    TRY mov rbx, [rax]
%elif CASE == 3
    mov byte [IDT + 0 * 16 + 4], 1              ; #DE uses IST1 ...
    call setup_tss64
    mov rax, 0x140000000
    mov [TSS + 0x24], rax                       ; ... which points at an unmapped stack
    xor ecx, ecx
    TRY div ecx
%elif CASE == 4
    lidt [idt0]
    ud2
%elif CASE == 5
    and byte [IDT + 13 * 16 + 5], 0x7f
    and byte [IDT + 8 * 16 + 5], 0x7f
    mov ax, 0x103
    mov ds, ax
%endif
    mov dword [RES], 0x600d
    hlt
idt0:
    dw 0
    dq 0
    IDT64_CODE
    TSS64_CODE
    GDT_TABLE

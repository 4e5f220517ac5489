; Exceptions in 64-bit mode through IDT handlers that record vector, error code, CR2 and RIP
; (lib.inc IDT64_CODE). Each faulting instruction is wrapped in TRY; RES+0 = marker.
%include "lib.inc"
org 0x8000
start:
    BOOT64
    call setup_idt64
    TRY ud2                                     ; #UD
    xor ecx, ecx
    TRY div ecx                                 ; #DE
    mov eax, 0x80000000
    cdq
    mov ecx, -1
    TRY idiv ecx                                ; #DE (quotient overflow)
    mov rax, 0x8000000000000000
    TRY mov rbx, [rax]                          ; #GP(0): non-canonical
    mov ax, 0x103
    TRY mov ds, ax                              ; #GP(0x100): beyond the GDT limit
    mov rbx, 0x8000000000000010
    TRY db 0x36, 0x48, 0x8b, 0x03                       ; SS: mov rax, [rbx]: #SS(0), non-canonical stack reference
    mov byte [gdt + 0x68 + 5], 0x12             ; spare data descriptor, P = 0
    mov ax, 0x68
    TRY mov ds, ax                              ; #NP(0x68)
    mov rax, 0x140000000
    TRY mov rbx, [rax]                          ; #PF(0): not present (PDPT[5])
    mov rax, cr0
    or eax, 0x10000                             ; CR0.WP
    mov cr0, rax
    and byte [PD + 8 * 8], ~2                   ; 16 MiB page read-only
    TRY mov dword [0x1000000], 1                ; #PF(3): write to a read-only page
    mov byte [PD + 9 * 8 + 6], 0x08             ; bit 51 set: reserved
    TRY mov eax, [0x1200010]                    ; #PF(9): reserved bit
%ifndef KVM                                     ; PVM KVM refuses guest EFER writes (#GP)
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x800                               ; EFER.NXE
    wrmsr
    mov byte [0x1400000], 0xc3
    or byte [PD + 10 * 8 + 7], 0x80             ; XD on the 20 MiB page
    mov eax, 0x1400000
    TRY jmp rax                                 ; #PF(0x11): fetch from an NX page
    TRY int3                                    ; #BP: trap, RIP after INT3 (PVM KVM: emulation failure)
%endif
    mov ecx, 0xdeadbeef
    TRY wrmsr                                   ; #GP(0): no such MSR
    TRY db 0xf0, 0x90                           ; LOCK NOP: #UD
    mov dword [RES], 0x600d
    hlt
    IDT64_CODE
    GDT_TABLE

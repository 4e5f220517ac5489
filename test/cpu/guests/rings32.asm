; Privilege transitions in 32-bit protected mode (SDM Vol. 3A 5.8, 6.12; Vol. 2 CALL/RET/IRET,
; SYSENTER/SYSEXIT, LAR/LSL/VERR/VERW, POPF): IRETD to ring 3, INT 0x80 through the 32-bit TSS
; (SS0:ESP0), a 32-bit call gate copying two parameters and RETF 8 back to ring 3,
; SYSENTER/SYSEXIT, ring-3 faults, POPF's IOPL/IF rules and descriptor queries from ring 3.
; Results (dwords at RES): +0 ESP in the INT 0x80 handler, +4/+8 CS/SS in its frame, +12 ESP in
; the gate handler, +16/+20 the copied parameters, +24 old ESP and +28 old SS on the new stack,
; +32 user ESP after RETF 8, +36 SYSENTER CS, +40 SYSENTER ESP, +44/+48 CS/SS after SYSEXIT,
; +52 EFLAGS after POPF of 0x3202 at CPL 3, +56 LAR of the user CS, +60 LAR ZF for the kernel CS,
; +64 LSL of the user DS, +68 VERR/VERW bits, +72 STR, +76 ring-3 marker.
%include "lib.inc"
bits 16
org 0x8000
start:
    ENTER_PM32 pm32
    call setup_idt32
    call setup_tss32
    mov edi, 0x80
    mov esi, int80
    mov edx, 0xee00
    call set_gate32
    mov edi, 0x83
    mov esi, finish
    mov edx, 0xee00
    call set_gate32
    ; 32-bit call gate, DPL 3, two dword parameters, to K_CS32:gate32.
    mov eax, gate32
    mov word [gdt + GATE], ax
    mov word [gdt + GATE + 2], K_CS32
    mov word [gdt + GATE + 4], 0xec02
    shr eax, 16
    mov word [gdt + GATE + 6], ax
    mov ecx, 0x174
    mov eax, SE_CS
    xor edx, edx
    wrmsr
    mov ecx, 0x175
    mov eax, STACK0 - 0x100
    wrmsr
    mov ecx, 0x176
    mov eax, sysenter32
    wrmsr
    push U_DS | 3
    push STACK3
    push 2
    push U_CS32 | 3
    push user
    iretd

user:
    mov ax, U_DS | 3
    mov ds, ax
    mov es, ax
    mov dword [RES + 76], 3
    int 0x80
    push 0x1111
    push 0x2222
    call GATE | 3:0
    mov [RES + 32], esp
    mov ecx, esp
    mov edx, after_sysexit
    sysenter
after_sysexit:
    mov ax, cs
    mov [RES + 44], eax
    mov ax, ss
    mov [RES + 48], eax
    push 0x3202                                 ; IOPL 3, IF: both ignored at CPL 3 > IOPL
    popfd
    pushfd
    pop dword [RES + 52]
    mov eax, U_CS32 | 3
    lar ebx, eax
    mov [RES + 56], ebx
    mov eax, K_CS32
    xor ebx, ebx
    lar ebx, eax
    setz [RES + 60]
    mov eax, U_DS | 3
    lsl ebx, eax
    mov [RES + 64], ebx
    mov eax, U_CS32 | 3
    verr ax
    setz [RES + 68]
    verw ax
    setz [RES + 69]
    mov eax, U_DS | 3
    verw ax
    setz [RES + 70]
    mov eax, K_DS
    verr ax
    setz [RES + 71]
    str eax
    mov [RES + 72], eax
    TRY32 cli                                   ; #GP(0): CPL 3 > IOPL 0
    TRY32 in al, 0x80                           ; #GP(0): no I/O permission
    TRY32 mov eax, cr0                          ; #GP(0)
    mov ax, K_DS
    TRY32 mov ss, ax                            ; #GP(0x18): SS DPL != CPL
    int 0x83

int80:
    mov [RES + 0], esp
    mov eax, [esp + 4]
    mov [RES + 4], eax
    mov eax, [esp + 16]
    mov [RES + 8], eax
    iretd
gate32:
    mov [RES + 12], esp
    mov eax, [esp + 8]
    mov [RES + 16], eax
    mov eax, [esp + 12]
    mov [RES + 20], eax
    mov eax, [esp + 16]
    mov [RES + 24], eax
    mov eax, [esp + 20]
    mov [RES + 28], eax
    retf 8
sysenter32:
    mov ax, cs
    mov [RES + 36], eax
    mov [RES + 40], esp
    sysexit
finish:
    hlt
    IDT32_CODE
    TSS32_CODE
    GDT_TABLE

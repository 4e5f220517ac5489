; Self-modifying code (SDM Vol. 3A 11.6) and string I/O (Vol. 2 INS/OUTS with REP) in 64-bit mode.
; Results: RES+0 the patched next instruction's immediate, RES+4 sum over a loop whose body patches
; itself, RES+8/+12 a page-crossing instruction before/after patching its second page, RES+16 after
; patching its first page, RES+32.. 8 words read by REP INSW from port 0x60.
; Port 0xE9 receives "hello" (REP OUTSB) and then "dcba" (OUTSB backwards with DF = 1).
%include "lib.inc"
org 0x8000
XP equ 0x50ffe                                  ; a 5-byte MOV EAX, imm32 + RET across 0x51000
start:
    BOOT64
    ; 1. A store into the very next instruction is seen by its fetch.
    mov byte [rel .next + 1], 0x42
.next:
    mov al, 0x11
    mov [RES], al
    ; 2. A loop body that patches its own first instruction.
    mov ecx, 2
    mov dword [RES + 4], 0
.loop:
.p2:
    mov ebx, 0x1111
    add [RES + 4], ebx
    mov dword [rel .p2 + 1], 0x2222
    dec ecx
    jnz .loop
    ; 3. An instruction that crosses a page boundary, patched in each page.
    mov rdi, XP
    mov dword [rdi], 0x2211b8                   ; B8 11 22 | 33 44 C3 on the next page
    mov byte [rdi + 3], 0x33
    mov word [rdi + 4], 0xc344
    mov rax, XP
    call rax
    mov [RES + 8], eax
    mov byte [XP + 4], 0x55                     ; second page
    mov rax, XP
    call rax
    mov [RES + 12], eax
    mov byte [XP + 1], 0x66                     ; first page
    mov rax, XP
    call rax
    mov [RES + 16], eax
    ; 4. String I/O.
    cld
    lea rsi, [rel hello]
    mov ecx, 5
    mov dx, 0xe9
    rep outsb
    lea rsi, [rel hello + 9]
    std
    mov ecx, 4
    rep outsb
    cld
    lea rdi, [RES + 32]
    mov ecx, 8
    mov dx, 0x60
    rep insw
    hlt
hello:
    db "hello", 0, "abcd"
    GDT_TABLE

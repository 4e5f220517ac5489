; Real mode -> unreal mode -> 32-bit protected mode -> long mode (64-bit and compatibility).
; Results (RES): +0 unreal read of 0x200000, +8 CR0 in PM32, +16 CS in PM32, +24 EFER in long
; mode, +32 CS in 64-bit mode, +40 CS in compatibility mode, +48 a 64-bit register survived,
; +56 value written in real mode through DS above 1 MiB (unreal), +64 marker 0x600d.
%include "lib.inc"
bits 16
org 0x8000
start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    ; Unreal mode: load DS with a 4 GiB limit in protected mode, return to real mode.
    lgdt [gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp CS16:.pm16
.pm16:
    mov bx, K_DS
    mov ds, bx
    and al, 0xfe
    mov cr0, eax
    jmp 0:.real
.real:
    xor ax, ax
    mov ds, ax              ; base 0 again, the 4 GiB limit stays in the descriptor cache
    mov dword [dword 0x200000], 0x12345678
    mov eax, [dword 0x200000]
    mov [RES], eax
    mov dword [RES + 56], 0x200000
    ENTER_PM32 pm32
    mov eax, cr0
    mov [RES + 8], eax
    mov ax, cs
    mov [RES + 16], ax
    ENTER_LONG lm64
    mov ecx, 0xc0000080
    rdmsr
    mov [RES + 24], eax
    mov ax, cs
    mov [RES + 32], ax
    mov rbx, 0x1122334455667788
    ; Far jump through memory to a 32-bit code segment: compatibility mode.
    jmp far [rel compat_ptr]
compat_ptr:
    dq compat               ; m16:64 (NASM emits REX.W for a far jump through memory)
    dw K_CS32
bits 32
compat:
    mov ax, cs
    mov [RES + 40], ax
    jmp K_CS64:back64
bits 64
back64:
    mov [RES + 48], rbx
    mov dword [RES + 64], 0x600d
    hlt
    GDT_TABLE

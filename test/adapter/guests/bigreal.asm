; Adapter-test guest for seed 000 flaw #4: a native VMCALL in big real mode. With unrestrictedGuest
; off KVM emulates the invalid guest state, the emulator's #UD patches the VMCALL again, forever.
bits 16
org 0x7c00
start:
    cli
    lgdt [gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    mov bx, 0x10
    mov ds, bx                  ; a 4 GiB data segment
    and al, 0xfe
    mov cr0, eax                ; back to real mode with it: big real mode
    xor eax, eax
    vmcall                      ; @vmcall
    out 0xf4, al
gdtr: dw 23
    dd gdt
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff

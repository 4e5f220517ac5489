; Soak guest: an endless storm of MMIO writes above RAM (each a KVM_EXIT_MMIO to userspace),
; with a debug-port byte every 65536 exits.
bits 64
org 0x100000
MMIO equ 0x10000000
start:
    mov rsp, 0x8000
    xor ecx, ecx
.loop:
    mov dword [MMIO], ecx
    inc ecx
    test cx, cx
    jnz .loop
    mov al, '.'
    out 0xe9, al
    jmp .loop

; broken.asm: has an assembler error the Problems view must show.
bits 16
org 0x7c00
    mov ax, 1
    movx bx, 2
    hlt

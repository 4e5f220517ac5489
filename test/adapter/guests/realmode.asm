; Adapter-test guest in real mode with a non-zero CS base: a far jump to 07C0:xxxx, after which IP
; alone is not where the code is (the linear address CS.base + IP = 0x7C00 + IP is).
bits 16
org 0x7c00
start:
    jmp 0x07c0:(in_segment - start)
in_segment:
    mov al, 'R'
    out 0xe9, al                ; @out_e9
    mov al, 0
    out 0xf4, al                ; @exit
